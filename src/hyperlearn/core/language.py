"""Languages and CEFR levels."""

from __future__ import annotations

from enum import StrEnum


class Language(StrEnum):
    EN = "en"
    RU = "ru"


class CEFRLevel(StrEnum):
    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"

    @property
    def rank(self) -> int:
        """0 for A1 up to 5 for C2, so levels can be compared and subtracted."""
        return _LEVEL_ORDER.index(self)

    @classmethod
    def from_rank(cls, rank: int) -> CEFRLevel:
        return _LEVEL_ORDER[max(0, min(rank, len(_LEVEL_ORDER) - 1))]


_LEVEL_ORDER: tuple[CEFRLevel, ...] = tuple(CEFRLevel)
