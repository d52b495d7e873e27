"""Exercises (items) and their stable, content-derived ids."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum

from hyperlearn.core.language import CEFRLevel, Language

GAP = "___"
JUDGEMENT_ANSWERS = ("correct", "incorrect")


class ItemType(StrEnum):
    CLOZE = "cloze"  # type the missing form into the gap
    CHOICE = "choice"  # pick the right form for the gap
    CORRECTION = "correction"  # rewrite a sentence that has one error
    JUDGEMENT = "judgement"  # say whether a sentence is correct


@dataclass(frozen=True, slots=True)
class Provenance:
    source: str
    licence: str
    record_id: str = ""


HYPERLEARN_STARTER = Provenance(source="HyperLearn starter bank", licence="CC BY-SA 4.0")


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    language: Language
    type: ItemType
    text: str
    answers: tuple[str, ...]
    skills: tuple[str, ...]  # the first is the primary skill
    level: CEFRLevel
    topics: tuple[str, ...] = ()
    distractors: tuple[str, ...] = ()
    explanation: str = ""
    hint: str = ""
    correction: str = ""  # for a judgement answered "incorrect": the corrected sentence
    provenance: Provenance = HYPERLEARN_STARTER

    @classmethod
    def create(
        cls,
        *,
        language: Language,
        type: ItemType,
        text: str,
        answers: tuple[str, ...],
        skills: tuple[str, ...],
        level: CEFRLevel,
        topics: tuple[str, ...] = (),
        distractors: tuple[str, ...] = (),
        explanation: str = "",
        hint: str = "",
        correction: str = "",
        provenance: Provenance = HYPERLEARN_STARTER,
    ) -> Item:
        return cls(
            id=item_id(language, type, text, answers),
            language=language,
            type=type,
            text=text,
            answers=answers,
            skills=skills,
            level=level,
            topics=topics,
            distractors=distractors,
            explanation=explanation,
            hint=hint,
            correction=correction,
            provenance=provenance,
        )

    @property
    def primary_skill(self) -> str:
        return self.skills[0]

    @property
    def options(self) -> tuple[str, ...]:
        """What a learner chooses from, in a stable order (the caller may shuffle)."""
        if self.type is ItemType.JUDGEMENT:
            return JUDGEMENT_ANSWERS
        if self.type is ItemType.CHOICE:
            return tuple(sorted((*self.answers[:1], *self.distractors), key=str.casefold))
        return ()


def item_id(language: Language, type: ItemType, text: str, answers: tuple[str, ...]) -> str:
    """A stable id: the hash of what makes the exercise what it is, not of its metadata."""
    canonical = json.dumps(
        [str(language), str(type), text.strip(), sorted(a.strip() for a in answers)],
        ensure_ascii=False,
    )
    return f"{language}-{hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:16]}"
