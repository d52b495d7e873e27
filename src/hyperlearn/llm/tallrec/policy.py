"""The `tallrec` policy: the fallback's shortlist, re-ranked by a tuned model's P(right answer).

The fallback (hybrid) decides what is worth practising and keeps every hard rule (exclusions,
repeats, runs of one skill); the tuned model only reorders its shortlist so that exercises the
learner is predicted to get right with a probability inside their desirable-difficulty band
come first, closest to the band's middle. Every item keeps the fallback's reasons and gains one
with the model's probability. No model configured, a model that will not load, or a scoring
failure: the fallback's own ranking, logged and counted.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from hyperlearn.core.policy import CandidateSet, HybridPolicy, Policy, PolicyState, Ranked, Reason
from hyperlearn.llm.backend import LLMError, LLMUnavailable
from hyperlearn.llm.tallrec.data import (
    DEFAULT_HISTORY,
    INSTRUCTION,
    Interaction,
    describe_item,
    format_input,
    prompt,
)
from hyperlearn.llm.tallrec.model import TallRecScorer

log = logging.getLogger(__name__)

DEFAULT_SHORTLIST = 20


class Scorer(Protocol):
    """What the policy needs of a model: P(Yes) per prompt, LLMError on failure."""

    def score(self, prompts: Sequence[str]) -> list[float]: ...


# (model directory, device) -> a scorer, or LLMError. TallRecScorer.load in production.
ScorerLoader = Callable[[Path, str], Scorer]


class TallRecPolicy:
    name = "tallrec"

    def __init__(
        self,
        model_dir: Path | None,
        fallback: Policy | None = None,
        *,
        shortlist: int = DEFAULT_SHORTLIST,
        history: int = DEFAULT_HISTORY,
        device: str = "auto",
        loader: ScorerLoader = TallRecScorer.load,
    ) -> None:
        if shortlist < 1 or history < 0:
            raise ValueError("shortlist must be at least 1 and history at least 0")
        self.model_dir = model_dir
        self.fallback: Policy = fallback if fallback is not None else HybridPolicy()
        self.shortlist = shortlist
        self.history = history
        self.device = device
        self.failures: Counter[str] = Counter()  # LLMError reason -> count
        self._loader = loader
        self._scorer: Scorer | None = None
        self._load_error: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model_dir: Path | str | None,
        fallback: Policy | None = None,
        *,
        shortlist: int = DEFAULT_SHORTLIST,
        device: str = "auto",
    ) -> TallRecPolicy:
        """A policy over the tuned model in `model_dir` (base and adapter are loaded on the
        first ranking, so startup stays quick). None: no model, always the fallback."""
        path = Path(model_dir) if model_dir is not None else None
        return cls(path, fallback, shortlist=shortlist, device=device)

    def __getstate__(self) -> dict[str, object]:
        """Picklable for the simulation's worker processes: each loads its own model."""
        state = self.__dict__.copy()
        state["_scorer"] = None
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def load_now(self) -> str | None:
        """Load the model now instead of on the first ranking; why it cannot be, or None."""
        self._ready_scorer()
        return self._load_error

    @property
    def load_error(self) -> str | None:
        """Why the model could not be loaded (None: loaded, or not tried yet)."""
        return self._load_error

    def rank(
        self,
        state: PolicyState,
        candidates: CandidateSet,
        now: datetime,
        rng: random.Random,
        limit: int = 10,
    ) -> list[Ranked]:
        shortlist = self.fallback.rank(state, candidates, now, rng, max(limit, self.shortlist))
        if not shortlist:
            return []
        scorer = self._ready_scorer()
        if scorer is None:
            return shortlist[:limit]
        # As many interactions per prompt as the model was tuned with, when it says.
        history = getattr(scorer, "history", None)
        history = history if isinstance(history, int) else self.history
        try:
            prompts = [self.prompt(state, candidates, r, history) for r in shortlist]
            probabilities = scorer.score(prompts)
            if len(probabilities) != len(shortlist):
                raise LLMUnavailable("the model scored a different number of items")
        except LLMError as exc:
            self.failures[exc.reason] += 1
            log.warning("tallrec: scoring failed, using %s: %s", self.fallback.name, exc)
            return shortlist[:limit]
        low, high = state.band
        middle = (low + high) / 2
        rescored = []
        for position, (ranked, p) in enumerate(zip(shortlist, probabilities, strict=True)):
            inside = low <= p <= high
            # In the band first, then by distance to its middle; the fallback's order breaks ties.
            score = (1.0 if inside else 0.0) - abs(p - middle) - 1e-6 * position
            text = (
                f"The tuned model expects you to get this right with probability {round(100 * p)}%."
            )
            reasons = (*ranked.reasons, Reason("tallrec", float(p), text))
            rescored.append(Ranked(ranked.item, score, reasons))
        rescored.sort(key=lambda r: -r.score)
        return rescored[:limit]

    def prompt(
        self,
        state: PolicyState,
        candidates: CandidateSet,
        target: Ranked,
        history: int | None = None,
    ) -> str:
        """The prompt for one candidate, laid out exactly as the training examples, with the
        last `history` answers (default: the policy's)."""
        graph = candidates.graph
        limit = self.history if history is None else history
        count = min(len(state.history), len(state.outcomes), limit)
        # `outcomes` may be shorter than `history` (older callers): pair the latest answers.
        pairs = (
            list(zip(state.history[-count:], state.outcomes[-count:], strict=True)) if count else []
        )
        interactions = []
        for item_id, correct in pairs:
            position = candidates.index.get(item_id)
            description = (
                describe_item(candidates.items[position], graph)
                if position is not None
                else f"an exercise no longer offered ({item_id[:8]})"
            )
            interactions.append(Interaction(item_id, description, bool(correct)))
        target_text = describe_item(target.item, graph)
        return prompt(INSTRUCTION, format_input(interactions, target_text))

    def _ready_scorer(self) -> Scorer | None:
        if self.model_dir is None:
            return None
        with self._lock:
            if self._scorer is None and self._load_error is None:
                try:
                    self._scorer = self._loader(self.model_dir, self.device)
                except LLMError as exc:
                    self._load_error = str(exc)
                    self.failures[exc.reason] += 1
                    log.warning("tallrec: %s; using %s", exc, self.fallback.name)
            return self._scorer
