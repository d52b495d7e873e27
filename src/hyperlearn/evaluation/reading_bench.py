"""`hyperlearn bench reading`: how grounded, how close to human questions, how well levelled.

- XQuAD (English and Russian, 240 paragraphs with gold QA pairs): every paragraph becomes a
  text and gets its questions (generator + grounding checker, as `texts import` does).
  `grounded_rate` is the share of kept questions whose answer (for true/false, the deciding
  sentence) is found verbatim, at its recorded offsets, in the paragraph the learner reads: an
  end-to-end check of the checker, so anything below 1.0 is a bug. `gold_overlap` is the share
  of gold answer spans that overlap (in characters) the answer span of at least one generated
  wh-question (gold answers are who/what/when/how-many spans; cloze words and true/false
  sentences are not comparable and are left out). `s_per_paragraph` is wall time per paragraph
  for splitting, generation and checking.
- SQuAD question generation, Du et al. (2017) test split: each source sentence (lower-cased and
  tokenised, as distributed) gets the first wh-question the generator keeps; a sentence with
  none gets an empty hypothesis, so `bleu4` and `rougeL` (sacrebleu corpus BLEU-4, rouge-score
  ROUGE-L F1, both 0-100 on lower-cased text) count misses against it. `coverage` says how many
  sentences got a question. Du et al.'s sentence-level neural model reports BLEU-4 12.28 and
  ROUGE-L 39.75 on this split: a reference point for a trained model, not a target for a
  deterministic rule-based generator.
- OneStopEnglish (189 articles at three levels): `level_accuracy` is the share of the pairs of
  versions of the same article (elementary/intermediate, intermediate/advanced,
  elementary/advanced) that the text difficulty score orders correctly (chance: 0.5);
  `all_three_ordered` is the share of articles whose three versions are all in order (chance:
  1/6).
- With a language model (`--backend openai|llamacpp`), under "llm": for the first N XQuAD
  paragraphs of each language, the questions the model proposed (hyperlearn.llm.reading, up
  to three per paragraph), how many the checks accepted, `grounded_rate` of the accepted ones
  (1.0 by construction: the stored answer is the text's own span), rejections by reason, calls
  that gave nothing by reason, `gold_overlap` of the accepted answers (as above) and the
  latency of a call (p50, p95). With no model there is no "llm" key.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperlearn.content.bank import load_bank
from hyperlearn.content.reading import grounding
from hyperlearn.content.reading.level import level_of_score, text_score
from hyperlearn.content.reading.questions import Kind, Question, generate
from hyperlearn.content.reading.texts import (
    ReadingText,
    TextProblem,
    build_text,
    find_text_files,
    read_text_file,
)
from hyperlearn.core import Language, SkillGraph, Topic

if TYPE_CHECKING:
    from hyperlearn.llm.backend import LLMBackend

DU2017_SENTENCE_LEVEL = {"bleu4": 12.28, "rougeL": 39.75}
LEVEL_ORDER = ("elementary", "intermediate", "advanced")


@dataclass(frozen=True, slots=True)
class Paths:
    xquad: Path
    squad_qg: Path
    onestop: Path

    @classmethod
    def under(cls, texts: Path) -> Paths:
        return cls(texts / "xquad", texts / "squad-qg-du2017", texts / "onestopenglish")


class _Checker:
    def __init__(self) -> None:
        bank = load_bank()
        self.graphs: dict[Language, SkillGraph] = bank.graphs
        self.topics: dict[str, Topic] = bank.topics

    def kept(self, text: ReadingText, rejected: Counter[str]) -> list[Question]:
        out = []
        for question in generate(text):
            reason = grounding.check(question, text, self.graphs[text.language], self.topics)
            if reason is None:
                out.append(question)
            else:
                rejected[reason] += 1
        return out


def xquad(
    path: Path, language: Language, checker: _Checker, limit: int | None = None
) -> dict[str, Any]:
    data = json.loads((path / f"xquad.{language}.json").read_text(encoding="utf-8-sig"))
    paragraphs = [p for article in data["data"] for p in article["paragraphs"]][:limit]
    questions = grounded = gold = covered = 0
    per_kind: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    started = time.perf_counter()
    for paragraph in paragraphs:
        context = paragraph["context"].lstrip("\ufeff")
        text = build_text(context, language)
        kept = checker.kept(text, rejected)
        questions += len(kept)
        per_kind.update(str(q.kind) for q in kept)
        grounded += sum(
            text.body[q.start : q.end] == q.answer and q.answer in text.body for q in kept
        )
        spans = [(q.start, q.end) for q in kept if q.kind is Kind.WH]
        found, hit = _gold_covered(paragraph, text.body, spans)
        gold += found
        covered += hit
    seconds = time.perf_counter() - started
    return {
        "paragraphs": len(paragraphs),
        "questions": questions,
        "grounded_rate": round(grounded / questions, 4) if questions else 0.0,
        "gold_overlap": round(covered / gold, 4) if gold else 0.0,
        "s_per_paragraph": round(seconds / len(paragraphs), 4) if paragraphs else 0.0,
        "questions_per_paragraph": round(questions / len(paragraphs), 2) if paragraphs else 0.0,
        "per_kind": dict(sorted(per_kind.items())),
        "rejected_by_checker": dict(rejected.most_common()),
        "gold_answers": gold,
    }


def llm_questions(
    path: Path,
    language: Language,
    checker: _Checker,
    backend: LLMBackend,
    paragraphs: int,
) -> dict[str, Any]:
    """The model's questions on the first `paragraphs` XQuAD paragraphs, through the same
    checks as when a text is added (deterministic questions count as taken: a model question
    that repeats one is a duplicate)."""
    import numpy as np

    from hyperlearn.llm.reading import LLMQuestionWriter

    data = json.loads((path / f"xquad.{language}.json").read_text(encoding="utf-8-sig"))
    chosen = [p for article in data["data"] for p in article["paragraphs"]][:paragraphs]
    writer = LLMQuestionWriter(backend)
    accepted = grounded = gold = covered = 0
    examples: list[dict[str, str]] = []
    for paragraph in chosen:
        text = build_text(paragraph["context"].lstrip("\ufeff"), language)
        kept = checker.kept(text, Counter())
        written = writer.write_text(text, kept, checker.graphs[text.language], checker.topics)
        accepted += len(written.questions)
        grounded += sum(
            text.body[q.start : q.end] == q.answer and grounding.grounded(q, text)
            for q in written.questions
        )
        examples += [{"question": q.prompt, "answer": q.answer} for q in written.questions]
        found, hit = _gold_covered(
            paragraph, text.body, [(q.start, q.end) for q in written.questions]
        )
        gold += found
        covered += hit
    stats = writer.stats
    latencies = stats.latencies_ms
    return {
        "paragraphs": len(chosen),
        "calls": stats.calls,
        "proposed": stats.proposed,
        "accepted": accepted,
        "acceptance_rate": round(accepted / stats.proposed, 4) if stats.proposed else 0.0,
        # None when nothing was accepted: there is no rate to report.
        "grounded_rate": round(grounded / accepted, 4) if accepted else None,
        "rejected_by_reason": dict(stats.rejected.most_common()),
        "failed_calls_by_reason": dict(stats.failures.most_common()),
        "gold_overlap": round(covered / gold, 4) if gold else 0.0,
        "gold_answers": gold,
        "latency_ms": {
            "p50": round(float(np.percentile(latencies, 50)), 1) if latencies else 0.0,
            "p95": round(float(np.percentile(latencies, 95)), 1) if latencies else 0.0,
        },
        "accepted_examples": examples[:5],
    }


def _gold_covered(
    paragraph: dict[str, Any], body: str, spans: list[tuple[int, int]]
) -> tuple[int, int]:
    """(gold answers of the paragraph (the first of each question), how many of them overlap
    one of `spans`)."""
    gold = covered = 0
    for qa in paragraph["qas"]:
        for answer in qa["answers"][:1]:
            gold += 1
            where = _locate(body, answer["text"], answer["answer_start"])
            if where is not None and any(a < where[1] and where[0] < b for a, b in spans):
                covered += 1
    return gold, covered


def _locate(body: str, answer: str, near: int) -> tuple[int, int] | None:
    """The occurrence of the gold answer in the cleaned body closest to its original offset
    (cleaning only collapses whitespace, so offsets move a little at most)."""
    best: tuple[int, int] | None = None
    start = body.find(answer)
    while start >= 0:
        if best is None or abs(start - near) < abs(best[0] - near):
            best = (start, start + len(answer))
        start = body.find(answer, start + 1)
    return best


def _detokenize(sentence: str) -> str:
    """Du et al.'s sentences are lower-cased and tokenised; undo the tokenisation only."""
    text = sentence.replace("``", '"').replace("''", '"').replace(" -lrb- ", " (")
    text = text.replace(" -rrb-", ")")
    for mark in (" ,", " .", " 's", " ;", " :", " %", " ?", " n't", " !"):
        text = text.replace(mark, mark[1:])
    return text[:1].upper() + text[1:]


def squad_qg(path: Path, checker: _Checker, limit: int | None = None) -> dict[str, Any]:
    import sacrebleu
    from rouge_score import rouge_scorer

    sources = (path / "data_processed_src-test.txt").read_text(encoding="utf-8").splitlines()
    targets = (path / "data_processed_tgt-test.txt").read_text(encoding="utf-8").splitlines()
    pairs = list(zip(sources, targets, strict=True))[:limit]
    hypotheses: list[str] = []
    cache: dict[str, str] = {}
    rejected: Counter[str] = Counter()
    for source, _ in pairs:
        if source not in cache:
            cache[source] = ""
            try:
                text = build_text(_detokenize(source.strip()), Language.EN)
            except TextProblem:
                text = None
            if text is not None:
                wh = [q for q in checker.kept(text, rejected) if q.kind is Kind.WH]
                cache[source] = wh[0].prompt if wh else ""
        hypotheses.append(_tokenize_like_du(cache[source]))
    references = [target.strip() for _, target in pairs]
    bleu = sacrebleu.corpus_bleu(hypotheses, [references], tokenize="none", lowercase=True)
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    rouge = [
        scorer.score(r, h)["rougeL"].fmeasure for r, h in zip(references, hypotheses, strict=True)
    ]
    covered = sum(bool(h) for h in hypotheses)
    return {
        "sentences": len(pairs),
        "bleu4": round(float(bleu.score), 2),
        "rougeL": round(100 * sum(rouge) / len(rouge), 2) if rouge else 0.0,
        "coverage": round(covered / len(pairs), 4) if pairs else 0.0,
        "published_du2017_sentence_level": DU2017_SENTENCE_LEVEL,
    }


def _tokenize_like_du(question: str) -> str:
    """Lower-case and split off punctuation and clitics, as the gold questions are."""
    import re

    text = question.casefold().replace("’", "'")
    text = re.sub(r"([?,.;:!\"()])", r" \1 ", text)
    text = re.sub(r"(\w)('s|n't)\b", r"\1 \2", text)
    return " ".join(text.split())


def onestop(path: Path, limit: int | None = None) -> dict[str, Any]:
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    levels: dict[str, Counter[str]] = defaultdict(Counter)
    for file in find_text_files([path]):
        if not file.label:
            continue
        if limit is not None and file.title not in scores and len(scores) >= limit:
            continue
        text = build_text(read_text_file(file), Language.EN, title=file.title)
        score = text_score(text.sentences, Language.EN)
        if score is not None:
            scores[file.title][file.label] = score
            levels[file.label][str(level_of_score(score, Language.EN))] += 1
    pairs = right = ordered = complete = 0
    for by_level in scores.values():
        present = [lv for lv in LEVEL_ORDER if lv in by_level]
        for i, low in enumerate(present):
            for high in present[i + 1 :]:
                pairs += 1
                right += by_level[low] < by_level[high]
        if len(present) == len(LEVEL_ORDER):
            complete += 1
            values = [by_level[lv] for lv in LEVEL_ORDER]
            ordered += values == sorted(values) and len(set(values)) == len(values)
    return {
        "articles": len(scores),
        "level_accuracy": round(right / pairs, 4) if pairs else 0.0,
        "pairs": pairs,
        "all_three_ordered": round(ordered / complete, 4) if complete else 0.0,
        "cefr_by_label": {label: dict(sorted(c.items())) for label, c in levels.items()},
    }


def run(
    paths: Paths,
    *,
    xquad_limit: int | None = None,
    squad_limit: int | None = None,
    onestop_limit: int | None = None,
    report: Callable[[str], None] = lambda _: None,
    llm: LLMBackend | None = None,
    llm_paragraphs: int = 10,
) -> dict[str, Any]:
    """The results; with `llm`, also the model's questions on `llm_paragraphs` XQuAD
    paragraphs per language under "llm"."""
    checker = _Checker()
    started = time.perf_counter()
    results: dict[str, Any] = {"xquad": {}}
    for language in (Language.EN, Language.RU):
        report(f"xquad {language}")
        results["xquad"][str(language)] = xquad(paths.xquad, language, checker, xquad_limit)
    report("squad-qg (Du et al. 2017) test split")
    results["squad_qg"] = squad_qg(paths.squad_qg, checker, squad_limit)
    report("onestopenglish")
    results["onestop"] = onestop(paths.onestop, onestop_limit)
    if llm is not None:
        found: dict[str, Any] = {"backend": llm.name, "model": llm.model}
        for language in (Language.EN, Language.RU):
            report(f"llm questions {language}: {llm_paragraphs} paragraphs")
            found[str(language)] = llm_questions(
                paths.xquad, language, checker, llm, llm_paragraphs
            )
        results["llm"] = found
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results
