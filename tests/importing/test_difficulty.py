"""The CEFR estimate of imported items, and its evaluation on CEFR-SP."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from hyperlearn.content.importing.difficulty import (
    EN_FEATURES,
    EN_MODEL,
    FREQUENCY_FEATURES,
    FREQUENCY_MODEL,
    Model,
    cefr_level,
    estimate_level,
    features,
    sentence_level,
    zipf,
)
from hyperlearn.core import CEFRLevel, Language
from tests.conftest import require_shared_data

REPO = Path(__file__).resolve().parents[2]

EASY_EN = "I like my cat ."
HARD_EN = (
    "Notwithstanding the ubiquitous proliferation of epistemological paradigms , "
    "scholars remain sceptical ."
)
EASY_RU = "Я люблю свою кошку ."
HARD_RU = "Комитет отложил обсуждение , сославшись на непредвиденные процедурные нарушения ."


def level(sentence: str, language: Language) -> CEFRLevel:
    return sentence_level(sentence, sentence.split(), language)


@pytest.mark.parametrize("model", [EN_MODEL, FREQUENCY_MODEL])
def test_fitted_constants_are_well_formed(model: Model) -> None:
    assert len(model.weights) == len(model.names)
    assert list(model.thresholds) == sorted(model.thresholds)
    assert EN_MODEL.names == EN_FEATURES
    assert FREQUENCY_MODEL.names == FREQUENCY_FEATURES


def test_model_cuts_scores_into_levels() -> None:
    model = Model(("words",), 0.0, (1.0,), (2.0, 3.0, 4.0, 5.0, 6.0))
    assert [model.level([x]) for x in (0, 2, 3.5, 4, 5.9, 6, 60)] == [
        CEFRLevel.A1,
        CEFRLevel.A2,
        CEFRLevel.B1,
        CEFRLevel.B2,
        CEFRLevel.C1,
        CEFRLevel.C2,
        CEFRLevel.C2,
    ]


@pytest.mark.parametrize(
    ("easy", "hard", "language"),
    [(EASY_EN, HARD_EN, Language.EN), (EASY_RU, HARD_RU, Language.RU)],
)
def test_rare_words_and_length_make_a_sentence_harder(
    easy: str, hard: str, language: Language
) -> None:
    assert level(easy, language).rank <= CEFRLevel.A2.rank
    assert level(hard, language).rank >= CEFRLevel.C1.rank


@pytest.mark.parametrize("skill", list(CEFRLevel))
@pytest.mark.parametrize(
    ("sentence", "language"),
    [(EASY_EN, Language.EN), (HARD_EN, Language.EN), (EASY_RU, Language.RU)],
)
def test_an_item_is_never_below_its_skill(
    skill: CEFRLevel, sentence: str, language: Language
) -> None:
    estimated = estimate_level(sentence, sentence.split(), language, skill)
    assert estimated.rank >= skill.rank
    assert estimated.rank == max(skill.rank, level(sentence, language).rank)


def test_word_levels() -> None:
    assert cefr_level("cat") < cefr_level("proliferation")
    # not in cefrpy as written: found through its lemma
    assert cefr_level("cats") == cefr_level("cat")
    # Russian frequency goes through the lemma: a rare form of a common word is common
    assert zipf("кошками", Language.RU) >= zipf("кошка", Language.RU) - 0.01
    assert zipf("qwzxv", Language.EN) == 1.0


def test_names_do_not_make_a_sentence_harder() -> None:
    plain = features(["He", "lives", "in", "the", "town", "."], Language.EN)
    named = features(["He", "lives", "in", "Zwqaville", "."], Language.EN)
    index = EN_FEATURES.index("min_zipf")
    assert named[index] >= plain[index] - 1.0


def test_features_of_an_empty_sentence_are_defined() -> None:
    assert len(features([], Language.EN)) == len(EN_FEATURES)
    assert len(features(["."], Language.RU, FREQUENCY_FEATURES)) == len(FREQUENCY_FEATURES)


def load_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cefr_eval", REPO / "benchmarks" / "cefr_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_threshold_fitting_finds_the_obvious_cuts() -> None:
    bench = load_benchmark()
    scores = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0] * 3
    gold = [1, 2, 3, 4, 5, 6] * 3
    thresholds = bench.fit_thresholds(scores, gold)
    assert bench.cut(scores, thresholds) == gold


def test_estimator_beats_length_baseline_on_cefr_sp(tmp_path: Path) -> None:
    """The benchmark on the real test split, with difficulty.py's constants as they are."""
    data = require_shared_data("corpora/en/cefr-sp")
    bench = load_benchmark()
    out = tmp_path / "results.json"
    bench.main(data=data, fit=False, out=out)
    results = json.loads(out.read_text(encoding="utf-8"))
    test = results["splits"]["test"]
    assert test["estimator"]["n"] == 762
    for metric in ("exact", "within_one", "spearman"):
        assert test["estimator"][metric] > test["length_baseline"][metric], metric
    assert test["estimator"]["exact"] >= 0.5
    assert test["estimator"]["spearman"] >= 0.6
