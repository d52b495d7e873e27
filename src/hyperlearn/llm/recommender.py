"""The language model as recommender (paradigm 1): it re-ranks the hybrid policy's shortlist.

`LLMPolicy` asks `HybridPolicy` for a shortlist, sends the model a compact learner profile and
the shortlist, and requires a JSON answer `{"ranking": [ids...], "why": "..."}` whose ids are an
enum of the shortlist. The items the model ranked come first, in its order, then the rest of
the shortlist in the hybrid order. The model can only reorder what the hybrid policy offered,
so exclusions, the repeat window and reported items hold whatever it answers.

Whatever goes wrong (no model, timeout, invalid JSON, an id outside the shortlist, a duplicate,
an empty ranking) falls back to the hybrid order; the reason is logged and counted in
`LLMPolicy.fallbacks`. Learner-supplied text (their interests in their own words) reaches the
prompt only as a JSON string inside the profile, never as prompt text.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from hyperlearn.core.policy import CandidateSet, HybridPolicy, PolicyState, Ranked, Reason
from hyperlearn.llm.backend import CompletionRequest, LLMBackend, LLMError, Usage

log = logging.getLogger(__name__)

SHORTLIST = 20  # items the hybrid policy offers the model
PICK = 5  # ids the model ranks at most (the rest keeps the hybrid order)
WEAK_SKILLS = 5
RECENT_ATTEMPTS = 10
TOPICS_EACH_WAY = 3
WHY_CHARS = 160  # the model's sentence is shown to learners: short
INTERESTS_TEXT_CHARS = 300
REASON_PREFIX = "Chosen by the language model"

# Why an answer was not used: the backend's LLMError reasons plus the policy's own checks.
INVALID_JSON = "invalid_json"
OUTSIDE_SHORTLIST = "outside_shortlist"
DUPLICATE = "duplicate"
EMPTY = "empty"


@cache
def _template(name: str) -> str:
    return resources.files("hyperlearn.llm.prompts").joinpath(name).read_text(encoding="utf-8")


@dataclass
class LLMPolicy:
    """Re-ranks the hybrid shortlist with a language model; the hybrid order is the fallback.

    Deterministic for a fixed rng when the backend is (requests carry temperature 0 and a
    fixed seed). Safe to share between threads: only the counters change, under a lock."""

    backend: LLMBackend
    fallback: HybridPolicy = field(default_factory=HybridPolicy)
    shortlist: int = SHORTLIST
    pick: int = PICK
    max_tokens: int = 256
    name: str = "llm"
    # Model calls: tokens, latency, backend failures by reason.
    usage: Usage = field(default_factory=Usage)
    # Rankings that fell back to the hybrid order, by reason (backend errors and bad answers).
    fallbacks: Counter[str] = field(default_factory=Counter)
    # Rankings the model's answer decided.
    answered: int = 0
    # Of those, how many put hybrid's own first item first: a model that only echoes the
    # shortlist changes nothing, and the outcomes alone would not show it.
    same_first: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.shortlist < 2 or not 1 <= self.pick <= self.shortlist:
            raise ValueError("LLMPolicy needs shortlist >= 2 and 1 <= pick <= shortlist")

    def rank(
        self,
        state: PolicyState,
        candidates: CandidateSet,
        now: datetime,
        rng: random.Random,
        limit: int = 10,
    ) -> list[Ranked]:
        if limit <= 0:
            return []
        offered = self.fallback.rank(state, candidates, now, rng, limit=max(limit, self.shortlist))
        if len(offered) < 2:  # nothing to choose between: no model call
            return offered[:limit]
        shortlist = offered[: self.shortlist]
        answer = self._ask(state, candidates, shortlist)
        if answer is None:  # the hybrid order, with its own scores
            return offered[:limit]
        ids, why = answer
        by_id = {r.item.id: r for r in shortlist}
        reason = Reason("llm", 0.0, f"{REASON_PREFIX}: {why}" if why else f"{REASON_PREFIX}.")
        chosen = [Ranked(by_id[i].item, by_id[i].score, (*by_id[i].reasons, reason)) for i in ids]
        taken = set(ids)
        rest = [r for r in offered if r.item.id not in taken]
        return _rescored([*chosen, *rest], limit)

    def counts(self) -> dict[str, Any]:
        """The policy's accounting: answers used, fallbacks by reason, model calls."""
        with self._lock:
            return {
                "answered": self.answered,
                "same_first_as_hybrid": self.same_first,
                "fallbacks": dict(sorted(self.fallbacks.items())),
                "calls": self.usage.calls,
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
            }

    def _ask(
        self, state: PolicyState, candidates: CandidateSet, shortlist: Sequence[Ranked]
    ) -> tuple[list[str], str] | None:
        """The model's ranking (ids from the shortlist, in its order) and its sentence, or
        None after counting why it cannot be used."""
        request = self.request(state, candidates, shortlist)
        try:
            completion = self.backend.complete(request)
        except LLMError as error:
            self.usage.fail(error.reason)
            self._fell_back(error.reason, str(error))
            return None
        self.usage.record(completion)
        data = completion.data
        if data is None:
            try:
                data = json.loads(completion.text)
            except ValueError:
                self._fell_back(INVALID_JSON, completion.text[:200])
                return None
        if not isinstance(data, Mapping):
            self._fell_back(INVALID_JSON, "the answer is not a JSON object")
            return None
        ranking, why = data.get("ranking"), data.get("why", "")
        if not isinstance(ranking, list) or not all(isinstance(i, str) for i in ranking):
            self._fell_back(INVALID_JSON, "'ranking' is not a list of ids")
            return None
        allowed = {r.item.id for r in shortlist}
        if not ranking:
            self._fell_back(EMPTY, "the ranking is empty")
            return None
        if any(i not in allowed for i in ranking):
            self._fell_back(OUTSIDE_SHORTLIST, f"ids outside the shortlist: {ranking[:5]}")
            return None
        if len(set(ranking)) != len(ranking):
            self._fell_back(DUPLICATE, "an id appears twice")
            return None
        with self._lock:
            self.answered += 1
            self.same_first += ranking[0] == shortlist[0].item.id
        return ranking[: self.pick], plain_sentence(why if isinstance(why, str) else "")

    def request(
        self, state: PolicyState, candidates: CandidateSet, shortlist: Sequence[Ranked]
    ) -> CompletionRequest:
        """The prompt for one choice (public so that tests and the bench can read it)."""
        ids = [r.item.id for r in shortlist]
        pick = min(self.pick, len(ids))
        schema = {
            "type": "object",
            "properties": {
                "ranking": {
                    "type": "array",
                    "items": {"type": "string", "enum": ids},
                    "minItems": 1,
                    "maxItems": pick,
                },
                "why": {"type": "string", "maxLength": 300},
            },
            "required": ["ranking", "why"],
            "additionalProperties": False,
        }
        prompt = Template(_template("recommend_user.txt")).substitute(
            profile=json.dumps(profile(state, candidates), ensure_ascii=False),
            # One exercise a line: readable for a small model, and few tokens.
            shortlist="[\n"
            + ",\n".join(
                json.dumps(row, ensure_ascii=False)
                for row in shortlist_rows(state, candidates, shortlist)
            )
            + "\n]",
            pick=pick,
        )
        return CompletionRequest(
            prompt=prompt.strip(),
            system=_template("recommend_system.txt").strip(),
            schema=schema,
            max_tokens=self.max_tokens,
            temperature=0.0,
            seed=0,
        )

    def _fell_back(self, reason: str, detail: str) -> None:
        with self._lock:
            self.fallbacks[reason] += 1
            first = self.fallbacks[reason] == 1
        # No model configured is a steady state, not an incident: said once, then counted.
        if reason != "unavailable" or first:
            log.warning("llm policy fell back to hybrid (%s): %s", reason, detail)


def profile(state: PolicyState, candidates: CandidateSet) -> dict[str, Any]:
    """What the model is told about the learner: level, goal, weakest skills, liked and
    disliked topics, their own words about their interests (as data), the last answers."""
    graph = candidates.graph
    goal = state.goal.rank
    in_reach = [s for s in candidates.skill_ids if graph[s].level.rank <= goal]
    weakest = sorted(in_reach, key=lambda s: (state.known(s, graph), s))[:WEAK_SKILLS]
    liked = sorted(
        (t for t, w in state.interests.items() if w > 0), key=lambda t: -state.interests[t]
    )
    disliked = sorted(
        (t for t, w in state.interests.items() if w < 0), key=lambda t: state.interests[t]
    )
    history = list(state.history)[-RECENT_ATTEMPTS:]
    # Outcomes are parallel to the whole history; an older caller may give none.
    outcomes = (
        list(state.outcomes)[-RECENT_ATTEMPTS:]
        if len(state.outcomes) == len(state.history)
        else [None] * len(history)
    )
    recent = []
    for item_id, correct in zip(history, outcomes, strict=True):
        position = candidates.index.get(item_id)
        skill = graph[candidates.items[position].primary_skill].name if position is not None else ""
        result = "unknown" if correct is None else "right" if correct else "wrong"
        recent.append({"id": item_id, "skill": skill, "result": result})
    found: dict[str, Any] = {
        "level": str(state.level),
        "goal": str(state.goal),
        "weakest_skills": [
            {
                "skill": graph[s].name,
                "level": str(graph[s].level),
                "mastery": round(state.known(s, graph), 2),
            }
            for s in weakest
        ],
        "likes": [_topic(state, t) for t in liked[:TOPICS_EACH_WAY]],
        "dislikes": [_topic(state, t) for t in disliked[:TOPICS_EACH_WAY]],
        "last_answers": recent,
    }
    words = " ".join(state.interests_text.split())[:INTERESTS_TEXT_CHARS]
    if words:
        found["learner_words"] = words
    return found


def shortlist_rows(
    state: PolicyState, candidates: CandidateSet, shortlist: Sequence[Ranked]
) -> list[dict[str, Any]]:
    graph = candidates.graph
    return [
        {
            "id": r.item.id,
            "skill": graph[r.item.primary_skill].name,
            "level": str(r.item.level),
            "topics": [_topic(state, t) for t in r.item.topics],
            "type": str(r.item.type),
        }
        for r in shortlist
    ]


def plain_sentence(text: str, limit: int = WHY_CHARS) -> str:
    """The model's sentence as short plain text: control and format characters dropped,
    whitespace collapsed, cut at a word boundary with an ellipsis."""
    kept = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in text
        if unicodedata.category(ch) not in ("Cf", "Co", "Cs", "Cn")
    )
    kept = " ".join(kept.split())
    if len(kept) <= limit:
        return kept
    cut = kept[: limit - 1].rsplit(" ", 1)[0] or kept[: limit - 1]
    return cut.rstrip(" ,;:.") + "…"


def _topic(state: PolicyState, topic_id: str) -> str:
    return state.topic_names.get(topic_id, topic_id)


def _rescored(ranked: Sequence[Ranked], limit: int) -> list[Ranked]:
    """The first `limit` items with scores that decrease along the final order (the model's
    order has no score of its own; the position is the score)."""
    kept = list(ranked[:limit])
    return [Ranked(r.item, float(len(kept) - n), r.reasons) for n, r in enumerate(kept)]


__all__ = ["PICK", "SHORTLIST", "LLMPolicy", "plain_sentence", "profile", "shortlist_rows"]
