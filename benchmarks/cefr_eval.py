"""How well the importers' sentence-difficulty estimate matches CEFR levels given by teachers.

    .venv/bin/python benchmarks/cefr_eval.py            # evaluate difficulty.py as it is
    .venv/bin/python benchmarks/cefr_eval.py --fit      # refit its constants on train, print them

Data: CEFR-SP, Wiki-Auto portion (../shared/data/corpora/en/cefr-sp): tokenised English
sentences, each with the levels (1 = A1 .. 6 = C2) of two annotators, who never differ by more
than one level. The reference level of a sentence is the higher of the two (`max(A, B)`);
Spearman's rho is computed against their mean. Everything is fitted on the train split only and
reported on the test split (dev is reported too, for information).

Compared:
- `length_baseline`: the token count, cut into levels by five thresholds fitted on train;
- `frequency_model`: difficulty.py's FREQUENCY_MODEL (word frequency + length: what Russian
  sentences get), scored with `difficulty.features` and the module's constants;
- `estimator`: `difficulty.sentence_level` itself (EN_MODEL: cefrpy word levels, word
  frequency, length).

Writes bench-results/cefr/results.json and prints the same JSON.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from scipy.stats import spearmanr

from hyperlearn.content.importing import difficulty
from hyperlearn.content.importing.text import detokenize
from hyperlearn.core import CEFRLevel, Language

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "corpora" / "en" / "cefr-sp"
OUT = ROOT / "bench-results" / "cefr" / "results.json"
RIDGE = 1.0


@dataclass(frozen=True, slots=True)
class Sentence:
    tokens: tuple[str, ...]
    a: int
    b: int

    @property
    def gold(self) -> int:
        """Reference level, 1..6: the higher of the two annotators'."""
        return max(self.a, self.b)

    @property
    def mean(self) -> float:
        return (self.a + self.b) / 2


def read_split(data: Path, split: str) -> list[Sentence]:
    path = data / f"CEFR-SP_Wikiauto_{split}.txt"
    sentences = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3 or not fields[1].isdigit() or not fields[2].isdigit():
                raise ValueError(f"{path}:{number}: expected sentence<TAB>level<TAB>level")
            sentences.append(Sentence(tuple(fields[0].split()), int(fields[1]), int(fields[2])))
    return sentences


def cut(scores: Sequence[float], thresholds: Sequence[float]) -> list[int]:
    """Levels 1..6 from scores and five ascending thresholds."""
    return [1 + sum(s >= t for t in thresholds) for s in scores]


def fit_thresholds(scores: Sequence[float], gold: Sequence[int]) -> tuple[float, ...]:
    """Five ascending cut points that maximise exact accuracy on (scores, gold), by coordinate
    ascent over the midpoints between distinct scores."""
    values = np.unique(np.asarray(scores, dtype=float))
    candidates = np.concatenate(
        ([values[0] - 1.0], (values[1:] + values[:-1]) / 2, [values[-1] + 1])
    )
    if len(candidates) > 400:
        candidates = np.quantile(candidates, np.linspace(0, 1, 400))
    s = np.asarray(scores, dtype=float)
    g = np.asarray(gold)
    # Start from the score quantiles matching the gold level proportions.
    shares = np.cumsum([np.mean(g == level) for level in range(1, 6)])
    thresholds = [float(np.quantile(s, q)) for q in shares]

    def accuracy(ts: Sequence[float]) -> float:
        levels = 1 + (s[:, None] >= np.asarray(ts)[None, :]).sum(axis=1)
        return float(np.mean(levels == g))

    best = accuracy(thresholds)
    for _ in range(10):
        improved = False
        for i in range(5):
            low = thresholds[i - 1] if i else -np.inf
            high = thresholds[i + 1] if i < 4 else np.inf
            for c in candidates:
                if not low <= c <= high:
                    continue
                trial = [*thresholds[:i], float(c), *thresholds[i + 1 :]]
                acc = accuracy(trial)
                if acc > best + 1e-12:
                    best, thresholds, improved = acc, trial, True
        if not improved:
            break
    return tuple(round(t, 4) for t in thresholds)


def fit_model(sentences: Sequence[Sentence], names: tuple[str, ...]) -> difficulty.Model:
    """Ridge regression of the annotators' mean level on the features, then thresholds."""
    x = np.array([difficulty.features(s.tokens, Language.EN, names) for s in sentences])
    y = np.array([s.mean for s in sentences])
    mu, sigma = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mu) / sigma
    design = np.hstack([np.ones((len(z), 1)), z])
    penalty = RIDGE * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    coef = np.linalg.solve(design.T @ design + penalty, design.T @ y)
    weights = coef[1:] / sigma
    intercept = coef[0] - float(np.sum(coef[1:] * mu / sigma))
    model = difficulty.Model(
        names,
        round(float(intercept), 5),
        tuple(round(float(w), 5) for w in weights),
        (0, 0, 0, 0, 0),
    )
    scores = [model.score(row) for row in x]
    t = fit_thresholds(scores, [s.gold for s in sentences])
    return difficulty.Model(names, model.intercept, model.weights, (t[0], t[1], t[2], t[3], t[4]))


def metrics(predicted: Sequence[int], sentences: Sequence[Sentence]) -> dict[str, Any]:
    gold = np.array([s.gold for s in sentences])
    pred = np.array(predicted)
    either = [p in (s.a, s.b) for p, s in zip(predicted, sentences, strict=True)]
    rho = spearmanr(pred, [s.mean for s in sentences]).statistic
    return {
        "n": len(sentences),
        "exact": round(float(np.mean(pred == gold)), 4),
        "within_one": round(float(np.mean(np.abs(pred - gold) <= 1)), 4),
        "matches_either_annotator": round(float(np.mean(either)), 4),
        "spearman": round(float(rho), 4),
        "predicted_levels": {
            str(CEFRLevel.from_rank(level - 1)): int(np.sum(pred == level)) for level in range(1, 7)
        },
    }


def model_code(name: str, model: difficulty.Model) -> str:
    features = "EN_FEATURES" if model.names == difficulty.EN_FEATURES else "FREQUENCY_FEATURES"
    return (
        f"{name} = Model(\n"
        f"    names={features},\n"
        f"    intercept={model.intercept!r},\n"
        f"    weights={model.weights!r},\n"
        f"    thresholds={model.thresholds!r},\n"
        ")"
    )


def main(
    data: Annotated[Path, typer.Option(help="the cefr-sp folder (Wiki-Auto files)")] = DATA,
    fit: Annotated[bool, typer.Option(help="refit difficulty.py's constants, print them")] = False,
    out: Annotated[Path, typer.Option(help="where to write the JSON results")] = OUT,
) -> None:
    started = time.perf_counter()
    splits = {split: read_split(data, split) for split in ("train", "dev", "test")}
    train = splits["train"]

    lengths = [float(len(s.tokens)) for s in train]
    length_thresholds = fit_thresholds(lengths, [s.gold for s in train])
    en_model, frequency_model = difficulty.EN_MODEL, difficulty.FREQUENCY_MODEL
    if fit:
        en_model = fit_model(train, difficulty.EN_FEATURES)
        frequency_model = fit_model(train, difficulty.FREQUENCY_FEATURES)
        print("# paste into src/hyperlearn/content/importing/difficulty.py:", file=sys.stderr)
        print(model_code("EN_MODEL", en_model), file=sys.stderr)
        print(model_code("FREQUENCY_MODEL", frequency_model), file=sys.stderr)

    def estimator(s: Sentence) -> int:
        if fit:
            return (
                en_model.level(difficulty.features(s.tokens, Language.EN, en_model.names)).rank + 1
            )
        return difficulty.sentence_level(detokenize(s.tokens), s.tokens, Language.EN).rank + 1

    predictors: dict[str, Callable[[Sentence], int]] = {
        "length_baseline": lambda s: cut([float(len(s.tokens))], length_thresholds)[0],
        "frequency_model": lambda s: (
            frequency_model.level(
                difficulty.features(s.tokens, Language.EN, frequency_model.names)
            ).rank
            + 1
        ),
        "estimator": estimator,
    }
    results: dict[str, Any] = {
        "data": "CEFR-SP Wiki-Auto (CC BY-SA 3.0); reference = max of the two annotators",
        "fit_on": "train",
        "refit": fit,
        "length_baseline_thresholds": length_thresholds,
        "splits": {},
    }
    for split in ("train", "dev", "test"):
        sentences = splits[split]
        results["splits"][split] = {
            name: metrics([predict(s) for s in sentences], sentences)
            for name, predict in predictors.items()
        }
    test = results["splits"]["test"]
    results["beats_length_baseline_on_test"] = {
        metric: test["estimator"][metric] > test["length_baseline"][metric]
        for metric in ("exact", "within_one", "spearman")
    }
    results["seconds"] = round(time.perf_counter() - started, 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    typer.run(main)
