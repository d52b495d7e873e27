"""Running an import: stream candidates, verify each, store the new ones in batches."""

from __future__ import annotations

import importlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hyperlearn.content.importing.base import Generate, ImportReport, ImportRun
from hyperlearn.content.importing.verifier import verify
from hyperlearn.core import Item, Language
from hyperlearn.store import repository

# Format name -> "module:function" of its generator, imported only when used.
FORMATS = {
    "m2": "hyperlearn.content.importing.m2:generate",
    "conllu": "hyperlearn.content.importing.conllu:generate",
    "pairs": "hyperlearn.content.importing.pairs:generate",
}
BATCH = 500


class ImportFailed(ValueError):
    """An import that cannot start (unknown format or language, unreadable file): nothing is
    written."""


def generator(fmt: str) -> Generate:
    target = FORMATS.get(fmt)
    if target is None:
        raise ImportFailed(f"unknown format {fmt!r}; use one of {', '.join(sorted(FORMATS))}")
    module, name = target.split(":")
    function: Generate = getattr(importlib.import_module(module), name)
    return function


def run_import(
    fmt: str,
    paths: Sequence[Path],
    *,
    language: str,
    sessions: sessionmaker[Session],
    source: str,
    licence: str,
    now: datetime,
    limit: int | None = None,
    dry_run: bool = False,
    on_progress: Callable[[ImportRun], None] | None = None,
) -> ImportReport:
    started = time.perf_counter()
    try:
        lang = Language(language)
    except ValueError:
        raise ImportFailed(f"unknown language {language!r}; use en or ru") from None
    for path in paths:
        if not path.is_file():
            raise ImportFailed(f"{path}: not a readable file")
    generate = generator(fmt)
    with sessions() as session:
        graph = repository.load_graph(session, lang)
        topics = {t.id: t for t in repository.load_topics(session)}
    if not len(graph):
        raise ImportFailed(f"no skill graph for {lang}: run `hyperlearn init` first")
    run = ImportRun(lang, graph, topics, source, licence, limit, on_progress=on_progress)
    seen: set[str] = set()
    batch: list[Item] = []
    added = 0
    per_skill: Counter[str] = Counter()
    per_type: Counter[str] = Counter()
    per_level: Counter[str] = Counter()

    def flush() -> None:
        nonlocal added
        if batch and not dry_run:
            # One transaction per batch: an interrupted import leaves whole batches, and a
            # re-run skips what is already stored.
            with sessions.begin() as session:
                added += repository.add_items(session, batch, now)
        batch.clear()

    for candidate in generate(paths, run):
        run.generated += 1
        item = candidate.item
        if item.id in seen:
            run.drop("duplicate")
            continue
        reason = verify(candidate, graph, topics)
        if reason is not None:
            run.drop(f"verifier: {reason}")
            continue
        seen.add(item.id)
        run.kept += 1
        per_skill[item.primary_skill] += 1
        per_type[str(item.type)] += 1
        per_level[str(item.level)] += 1
        batch.append(item)
        if len(batch) >= BATCH:
            flush()
        if run.exhausted:
            break
    flush()
    if on_progress is not None:
        on_progress(run)
    return ImportReport(
        read=run.read,
        generated=run.generated,
        kept=run.kept,
        added=added,
        dropped=dict(run.dropped.most_common()),
        per_skill=dict(per_skill.most_common()),
        per_type=dict(sorted(per_type.items())),
        per_level=dict(sorted(per_level.items())),
        seconds=time.perf_counter() - started,
        malformed=[str(m) for m in run.malformed_records],
    )
