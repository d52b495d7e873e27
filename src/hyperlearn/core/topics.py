"""Topics that items are about and learners are interested in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    names: dict[str, str]

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.id
