"""The one check every imported item ends in, whatever built it.

It recomputes what the answer must be from the source annotation (`Evidence`) instead of
trusting the builder: filling a gap with the answer must give back the gold sentence and filling
it with a distractor must not; a correction's answer must be the gold sentence; a judgement must
agree with which sentence the annotation marks correct. Then the starter bank's own item checks
run (grader, gap count, skills, topics) and, where the engines can analyse it, the morphology
check of the skill's form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from hyperlearn.content.bank import check_item
from hyperlearn.content.importing.base import Candidate
from hyperlearn.core import GAP, ItemType, SkillGraph, Topic, normalize


def verify(candidate: Candidate, graph: SkillGraph, topics: Mapping[str, Topic]) -> str | None:
    """None when the item is sound, else a short reason (used as the drop-reason counter key)."""
    item, evidence = candidate.item, candidate.evidence
    lang = item.language
    gold = normalize(evidence.gold, lang)
    if not gold:
        return "no gold sentence"
    if item.type in (ItemType.CLOZE, ItemType.CHOICE):
        if item.text.count(GAP) != 1:
            return "gap count"
        if any(normalize(item.text.replace(GAP, a), lang) != gold for a in item.answers):
            return "answer does not restore the gold sentence"
        if any(normalize(item.text.replace(GAP, d), lang) == gold for d in item.distractors):
            return "a distractor restores the gold sentence"
    elif item.type is ItemType.CORRECTION:
        if normalize(item.answers[0], lang) != gold:
            return "correction is not the gold sentence"
        if normalize(item.text, lang) != normalize(evidence.wrong, lang):
            return "sentence to correct is not the annotated error"
    elif item.type is ItemType.JUDGEMENT:
        verdict = item.answers[0]
        shown = normalize(item.text, lang)
        if verdict == "correct" and shown != gold:
            return "judged correct but not the gold sentence"
        if verdict == "incorrect" and (
            not evidence.wrong
            or shown != normalize(evidence.wrong, lang)
            or normalize(item.correction, lang) != gold
        ):
            return "judged incorrect but not the annotated error"
    problems = check_item(item, graph, topics, require_topics=False)
    if problems:
        # Counter keys must not vary per item: quoted answers and details become "…".
        return _QUOTED.sub("…", problems[0]).split(" (")[0][:80]
    return None


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
