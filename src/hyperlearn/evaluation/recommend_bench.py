"""How long choosing the next exercise takes, with a bank of N items.

Two paths are timed for one learner with a realistic history (answers, review states, stated
interests):

- core: `policy.rank(state, candidates, now, rng, limit=1)` on a prepared `CandidateSet`, as the
  service calls it once its caches are warm;
- service: `practice.next_exercise` end to end on a SQLite file, a new session per call as a web
  request has (learner row, skill states, review states, interests, withheld items, the cached
  bank and skill graph, the policy, the exercise view). Themed-item generation is off, so that
  every call measures the ranking path.

The bank is the shipped starter bank for the language, repeated with numbered variants of the
sentences (same skills, levels, types; topics drawn at random) up to N items.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from hyperlearn.content.bank import Bank, load_bank
from hyperlearn.core import CandidateSet, Item, ItemType, Language, PolicyState, policy_named
from hyperlearn.core import learner as learner_model

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Latency:
    p50_ms: float
    p99_ms: float
    mean_ms: float
    calls: int


@dataclass(frozen=True, slots=True)
class RecommendResult:
    items: int
    policy: str
    core: Latency
    service: Latency | None
    setup_s: float

    def to_json(self) -> dict[str, object]:
        result: dict[str, object] = {
            "items": self.items,
            "policy": self.policy,
            "core": _latency_json(self.core),
            "service": _latency_json(self.service) if self.service else None,
            "setup_s": round(self.setup_s, 2),
        }
        return result


def synthetic_bank(
    base: Sequence[Item], n: int, topics: Sequence[str], seed: int = 0
) -> list[Item]:
    """`n` distinct items: the base items first, then numbered variants of them."""
    rng = random.Random(seed)
    result = list(base[:n])
    variant = 0
    while len(result) < n:
        source = base[variant % len(base)]
        variant += 1
        chosen = tuple(sorted(rng.sample(list(topics), k=rng.choice((1, 2)))))
        text = f"{source.text} ({variant})"
        correction = f"{source.correction} ({variant})" if source.correction else ""
        answers = source.answers
        if source.type is ItemType.CORRECTION:
            answers = tuple(f"{a} ({variant})" for a in source.answers)
        result.append(
            Item.create(
                language=source.language,
                type=source.type,
                text=text,
                answers=answers,
                skills=source.skills,
                level=source.level,
                topics=chosen,
                distractors=source.distractors,
                explanation=source.explanation,
                hint=source.hint,
                correction=correction,
                provenance=source.provenance,
            )
        )
    return result


def run(
    n_items: int,
    language: Language = Language.EN,
    policy_name: str = "hybrid",
    calls: int = 300,
    history: int = 200,
    service: bool = True,
    progress: Callable[[str], None] | None = None,
) -> RecommendResult:
    say = progress or (lambda _: None)
    bank = load_bank()
    started = time.perf_counter()
    items = synthetic_bank(bank.items[language], n_items, sorted(bank.topics))
    policy = policy_named(policy_name)
    say(f"{n_items:,} items: core")
    core = _time_core(items, bank, language, policy_name, calls, history)
    service_latency = None
    if service:
        say(f"{n_items:,} items: building the SQLite database")
        service_latency = _time_service(items, bank, language, policy.name, calls, history, say)
    return RecommendResult(
        n_items, policy.name, core, service_latency, time.perf_counter() - started
    )


def _time_core(
    items: Sequence[Item],
    bank: Bank,
    language: Language,
    policy_name: str,
    calls: int,
    history: int,
) -> Latency:
    graph = bank.graphs[language]
    policy = policy_named(policy_name)
    candidates = CandidateSet(items, graph)
    rng = random.Random(1)
    level = next(iter(graph.skills.values())).level
    skills = {s.id: learner_model.initial_state(s, level) for s in graph.skills.values()}
    answered = [items[rng.randrange(len(items))] for _ in range(history)]
    levels = {s: skill.level for s, skill in graph.skills.items()}
    for n, item in enumerate(answered):
        when = NOW - timedelta(minutes=history - n)
        skills.update(learner_model.update(item, n % 3 != 0, skills, levels, when))
    state = PolicyState(
        level=level,
        skills=skills,
        interests={"football": 1.0, "music": 1.0},
        history=[i.id for i in answered[-60:]],
        retrievability={i.id: rng.uniform(0.5, 1.0) for i in answered},
    )
    policy.rank(state, candidates, NOW, rng, limit=1)  # warm-up
    timings = []
    for call in range(calls):
        t0 = time.perf_counter()
        policy.rank(state, candidates, NOW + timedelta(seconds=call), rng, limit=1)
        timings.append(time.perf_counter() - t0)
    return _latency(timings)


def _time_service(
    items: Sequence[Item],
    bank: Bank,
    language: Language,
    policy_name: str,
    calls: int,
    history: int,
    say: Callable[[str], None],
) -> Latency:
    from hyperlearn.service import practice, recommend
    from hyperlearn.service.setup import init_database
    from hyperlearn.store import repository
    from hyperlearn.store.engine import make_engine, session_factory

    with tempfile.TemporaryDirectory(prefix="hyperlearn-bench-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        init_database(engine, NOW - timedelta(days=30), bank)
        sessions = session_factory(engine)
        with sessions() as session:
            for start in range(0, len(items), 5000):
                repository.add_items(session, items[start : start + 5000], NOW - timedelta(days=30))
            session.commit()
            learner = practice.onboard(
                session,
                name="Bench",
                language=str(language),
                level="A2",
                interests=["football", "music"],
                now=NOW - timedelta(days=20),
            )
            recommend.update_settings(session, learner.id, policy=policy_name)
        say(f"{len(items):,} items: {history} answers of history")
        rng = random.Random(2)
        answers = {item.id: item.answers[0] for item in items}
        with sessions() as session:
            for n in range(history):
                when = NOW - timedelta(days=20) + timedelta(minutes=10 * n)
                exercise = practice.next_exercise(session, learner.id, rng, when, themed=False)
                right = answers[exercise.item_id] if n % 3 else "no idea"
                practice.submit_answer(
                    session,
                    learner.id,
                    item_id=exercise.item_id,
                    answer=right,
                    idempotency_key=f"bench-{n}",
                    now=when + timedelta(seconds=30),
                )
        say(f"{len(items):,} items: timing the service")
        with sessions() as session:  # warm the caches as a running server has them
            practice.next_exercise(session, learner.id, rng, NOW, themed=False)
        timings = []
        for call in range(calls):
            with sessions() as session:
                t0 = time.perf_counter()
                practice.next_exercise(
                    session, learner.id, rng, NOW + timedelta(seconds=call), themed=False
                )
                timings.append(time.perf_counter() - t0)
        engine.dispose()
    return _latency(timings)


def _latency(seconds: Sequence[float]) -> Latency:
    ms = np.asarray(seconds) * 1000.0
    return Latency(
        p50_ms=float(np.percentile(ms, 50)),
        p99_ms=float(np.percentile(ms, 99)),
        mean_ms=float(statistics.fmean(ms)),
        calls=len(ms),
    )


def _latency_json(latency: Latency) -> dict[str, float | int]:
    return {
        "p50_ms": round(latency.p50_ms, 3),
        "p99_ms": round(latency.p99_ms, 3),
        "mean_ms": round(latency.mean_ms, 3),
        "calls": latency.calls,
    }


__all__ = ["Latency", "RecommendResult", "run", "synthetic_bank"]
