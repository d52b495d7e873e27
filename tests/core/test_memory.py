"""The FSRS memory model: exact numbers, the rating rule, due queries, fitting."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hyperlearn.core.memory import (
    DEFAULT_PARAMETERS,
    LatencyRule,
    MemoryModel,
    MemoryParams,
    Rating,
    Review,
    ReviewState,
    State,
    fit_parameters,
    rated,
    rating_for,
    review_histories,
    training_items,
)

T0 = datetime(2022, 11, 29, 12, 30, tzinfo=UTC)
G, A = Rating.Good, Rating.Again
W = DEFAULT_PARAMETERS


def run(model: MemoryModel, ratings: tuple[Rating, ...], start: datetime = T0) -> list[ReviewState]:
    """Review at each due time, as py-fsrs's own tests do."""
    states: list[ReviewState] = []
    state, moment = None, start
    for rating in ratings:
        state = model.review(state, rating, moment)
        states.append(state)
        moment = state.due
    return states


def test_a_known_sequence_gives_py_fsrs_exact_intervals() -> None:
    # The sequence and the intervals of py-fsrs's test_review_card (FSRS-6 default weights).
    states = run(MemoryModel(), (G, G, G, G, G, G, A, A, G, G, G, G, G))
    intervals = [(s.due - s.last_review).days for s in states]
    assert intervals == [0, 2, 11, 46, 163, 498, 0, 0, 2, 4, 7, 12, 21]
    last = states[-1]
    assert last.stability == pytest.approx(20.770357285, abs=1e-8)
    assert last.difficulty == pytest.approx(9.055759917, abs=1e-8)
    assert (last.state, last.step, last.reps, last.lapses) == (State.Review, None, 13, 1)


def test_first_review_follows_the_fsrs_6_formulas() -> None:
    # S0(G) = w[G-1]; D0(G) = w4 - e^(w5 (G-1)) + 1; learning steps 1 min, then 10 min.
    model = MemoryModel()
    for rating, minutes in ((Rating.Again, 1), (Rating.Hard, 5.5), (Rating.Good, 10)):
        state = model.review(None, rating, T0)
        assert state.stability == pytest.approx(W[rating - 1])
        assert state.difficulty == pytest.approx(W[4] - math.exp(W[5] * (rating - 1)) + 1)
        assert state.due == T0 + timedelta(minutes=minutes)
        assert state.state is State.Learning and state.last_review == T0
    easy = model.review(None, Rating.Easy, T0)
    assert easy.state is State.Review
    assert easy.due == T0 + timedelta(days=round(W[3]))


def test_a_wrong_answer_shortens_the_interval() -> None:
    model = MemoryModel()
    graduated = run(model, (G, G, G))[-1]
    assert graduated.state is State.Review
    when = graduated.due
    right = model.review(graduated, Rating.Good, when)
    wrong = model.review(graduated, Rating.Again, when)
    assert wrong.due - when == timedelta(minutes=10)  # relearning step
    assert right.due - when > timedelta(days=30)
    assert wrong.stability < graduated.stability < right.stability
    assert wrong.difficulty > right.difficulty
    assert (wrong.state, wrong.lapses, right.lapses) == (State.Relearning, 1, 0)


def test_speed_orders_the_intervals_of_right_answers() -> None:
    model = MemoryModel()
    graduated = run(model, (G, G, G))[-1]
    due = {r: model.review(graduated, r, graduated.due).due for r in Rating}
    assert due[Rating.Again] < due[Rating.Hard] < due[Rating.Good] < due[Rating.Easy]


def test_retrievability_decreases_with_time() -> None:
    model = MemoryModel()
    state = run(model, (G, G))[-1]
    curve = [
        model.retrievability(state, state.last_review + timedelta(hours=h))
        for h in range(0, 24 * 60, 7)
    ]
    assert curve[0] == 1.0
    assert all(later < earlier for earlier, later in itertools.pairwise(curve))
    # Stability is by definition the time at which recall falls to 90%.
    at_s = state.last_review + timedelta(days=state.stability)
    assert model.retrievability(state, at_s) == pytest.approx(0.9, abs=1e-9)
    # At whole days it is py-fsrs's own number.
    for days in (0, 1, 3, 10, 100):
        moment = state.last_review + timedelta(days=days)
        expected = model.scheduler.get_card_retrievability(state.to_card(), moment)
        assert model.retrievability(state, moment) == pytest.approx(expected, abs=1e-12)


def test_due_items_most_urgent_first() -> None:
    model = MemoryModel()
    fresh = run(model, (G, G))[-1]  # reviewed on T0 + 10 min, stability 2.3 days
    strong = run(model, (G, G, G, G))[-1]
    learning = model.review(None, Rating.Again, T0)  # due a minute later
    states = {"fresh": fresh, "strong": strong, "learning": learning}
    assert model.due(states, T0) == []
    soon = model.due(states, T0 + timedelta(minutes=2))
    assert [d.item_id for d in soon] == ["learning"]
    assert soon[0].retrievability > 0.99  # due by its learning step, not by forgetting
    later = T0 + timedelta(days=5)
    due = model.due(states, later)
    assert [d.item_id for d in due] == ["learning", "fresh"]  # "strong" is not due yet
    assert due[0].retrievability < due[1].retrievability < 0.9
    assert model.due(states, later, limit=1) == due[:1]
    item_id, retrievability, when = due[1]  # plain tuples for callers that unpack them
    assert (item_id, when) == ("fresh", fresh.due)
    assert retrievability == model.retrievability(fresh, later)


def test_higher_desired_retention_means_shorter_intervals() -> None:
    graduated = run(MemoryModel(), (G, G, G))[-1]
    lax = MemoryModel(MemoryParams(desired_retention=0.8)).review(graduated, G, graduated.due)
    strict = MemoryModel(MemoryParams(desired_retention=0.95)).review(graduated, G, graduated.due)
    assert strict.due < lax.due


def test_time_must_be_utc() -> None:
    model = MemoryModel()
    with pytest.raises(ValueError, match="UTC"):
        model.review(None, Rating.Good, datetime(2026, 1, 5, 9, 0))
    with pytest.raises(ValueError, match="UTC"):
        model.review(
            None, Rating.Good, datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=3)))
        )
    state = model.review(None, Rating.Good, T0)
    with pytest.raises(ValueError, match="UTC"):
        model.retrievability(state, datetime(2026, 1, 5, 9, 0))
    with pytest.raises(ValueError, match="UTC"):
        Review("x", True, datetime(2026, 1, 5, 9, 0))


def test_no_randomness_unless_an_rng_is_given() -> None:
    ratings = (G, G, G, G, G)
    assert run(MemoryModel(), ratings) == run(MemoryModel(), ratings)
    one = run(MemoryModel(rng=random.Random(7)), ratings)
    assert one == run(MemoryModel(rng=random.Random(7)), ratings)
    graduated = run(MemoryModel(), (G, G, G, G))[-1]
    plain = MemoryModel().review(graduated, G, graduated.due).due - graduated.due
    fuzzed = [
        MemoryModel(rng=random.Random(seed)).review(graduated, G, graduated.due).due - graduated.due
        for seed in range(20)
    ]
    assert plain.days > 100 and len(set(fuzzed)) > 1
    # py-fsrs's fuzz ranges: a few percent of a long interval, in whole days.
    assert all(abs((f - plain).days) <= 0.05 * plain.days + 3 for f in fuzzed)
    assert all(f.seconds == 0 for f in fuzzed)
    before = random.getstate()  # the fuzz comes from the rng given, never the global one
    MemoryModel(rng=random.Random(1)).review(graduated, G, graduated.due)
    assert random.getstate() == before


def test_parameters_are_checked() -> None:
    assert MemoryParams().is_default
    with pytest.raises(ValueError, match="Expected 21 parameters"):
        MemoryParams(parameters=(0.1,) * 19)
    with pytest.raises(ValueError, match="out of bounds"):
        MemoryParams(parameters=(*W[:20], 5.0))
    with pytest.raises(ValueError, match="desired retention"):
        MemoryParams(desired_retention=1.0)


def test_the_rating_rule() -> None:
    assert rating_for(False, 100, 5000.0) is Rating.Again
    assert rating_for(True) is Rating.Good
    assert rating_for(True, 100) is Rating.Good  # no typical latency yet
    assert rating_for(True, 2500, 5000.0) is Rating.Easy
    assert rating_for(True, 5000, 5000.0) is Rating.Good
    assert rating_for(True, 10_000, 5000.0) is Rating.Hard
    rule = LatencyRule()
    assert rule.typical([4000] * 4) is None
    assert rule.typical([1, 2, 3, 100, 200]) == 3.0
    assert rule.typical([10**6] * 100 + [10] * 50) == 10.0  # only the last `window` count
    with pytest.raises(ValueError):
        LatencyRule(fast=1.5)


def test_speed_is_judged_against_right_answers_of_the_same_kind() -> None:
    moments = [T0 + timedelta(minutes=n) for n in range(20)]
    reviews = [Review(f"c{n}", True, moments[n], 4000, "choice") for n in range(5)]
    reviews += [
        Review("typed", True, moments[5], 1000, "cloze"),  # no cloze baseline: Good
        Review("x", False, moments[6], 10, "choice"),  # wrong: Again, and sets no baseline
        Review("fast", True, moments[7], 1500, "choice"),
        Review("slow", True, moments[8], 9000, "choice"),
        Review("plain", True, moments[9], None, "choice"),
    ]
    ratings = [rating for _, rating in rated(reviews)]
    assert ratings == [G] * 6 + [A, Rating.Easy, Rating.Hard, G]


def test_replay_equals_reviewing_one_by_one() -> None:
    model = MemoryModel()
    reviews = [
        Review("a", True, T0),
        Review("b", False, T0 + timedelta(minutes=1)),
        Review("a", True, T0 + timedelta(days=2)),
        Review("b", True, T0 + timedelta(days=2, minutes=5)),
    ]
    states = model.replay(reviews)
    a = model.review(model.review(None, G, T0), G, T0 + timedelta(days=2))
    assert states["a"] == a
    assert states["b"].reps == 2 and states["b"].lapses == 0


def test_training_items_are_the_reviews_on_a_later_day() -> None:
    histories = {
        "a": [(T0, G), (T0 + timedelta(minutes=10), G), (T0 + timedelta(days=2), A)],
        "b": [(T0, G)],
    }
    items = training_items(histories)
    assert [len(i.reviews) for i in items] == [3]
    assert items[0].long_term_review_cnt() == 1
    # Whole elapsed days, as py-fsrs counts them: 1 day 23 h 50 min is 1 day.
    assert "delta_t: 0 }, FSRSReview { rating: 1, delta_t: 1 }" in repr(items[0])


def synthetic_log(n_items: int, reviews_per_item: int, seed: int = 0) -> list[Review]:
    rng = random.Random(seed)
    log = []
    for n in range(n_items):
        moment = T0 + timedelta(hours=n)
        for k in range(reviews_per_item):
            if k:
                moment += timedelta(days=rng.choice([1, 2, 3, 5, 8, 13]))
            log.append(Review(f"item{n}", rng.random() < 0.8, moment))
    log.sort(key=lambda r: r.answered_at)
    return log


def test_fitting_needs_enough_reviews_and_then_changes_the_weights() -> None:
    thin = fit_parameters(synthetic_log(5, 3))
    assert thin.parameters is None and thin.n_reviews == 15
    log = synthetic_log(60, 6)
    fit = fit_parameters(log)
    assert fit.parameters is not None
    assert fit.n_reviews == 360 and fit.n_training_items == 300
    assert not MemoryParams(fit.parameters).is_default  # valid for py-fsrs, and different
    assert fit_parameters(log) == fit  # deterministic
    assert sum(len(h) for h in review_histories(log).values()) == 360
