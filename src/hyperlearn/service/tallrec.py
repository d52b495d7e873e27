"""`hyperlearn llm export-tallrec`: the stored attempt log as TALLRec instruction data."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hyperlearn.core import Language
from hyperlearn.llm.tallrec.data import (
    ExportOptions,
    ExportReport,
    Interaction,
    LearnerSequence,
    TallRecDataError,
    build_examples,
    describe_item,
    write_jsonl,
)
from hyperlearn.service.errors import InvalidInput
from hyperlearn.store import repository
from hyperlearn.store.models import AttemptRow, ItemRow


def learner_sequences(session: Session, language: Language) -> list[LearnerSequence]:
    """Every learner's attempts at exercises of `language`, in the order they were stored (the
    log is append-only, so id order is answer order), each described from its item and skill."""
    rows = session.execute(
        select(AttemptRow.learner_id, AttemptRow.item_id, AttemptRow.correct)
        .join(ItemRow, ItemRow.id == AttemptRow.item_id)
        .where(ItemRow.language == str(language))
        .order_by(AttemptRow.learner_id, AttemptRow.id)
    ).all()
    item_ids = sorted({item_id for _, item_id, _ in rows})
    # Asked for by id, disabled items come too: they were answered all the same.
    items = {item.id: item for item in repository.load_items(session, language, ids=item_ids)}
    graph = repository.load_graph(session, language)
    descriptions = {item_id: describe_item(item, graph) for item_id, item in items.items()}
    sequences: dict[str, list[Interaction]] = defaultdict(list)
    for learner_id, item_id, correct in rows:
        sequences[learner_id].append(Interaction(item_id, descriptions[item_id], bool(correct)))
    return list(sequences.items())


def export_tallrec(
    session: Session, language: str, out: Path, options: ExportOptions
) -> ExportReport:
    """Write the examples to `out` (JSON lines), or nothing when there is nothing to write."""
    try:
        lang = Language(language)
    except ValueError:
        allowed = ", ".join(str(v) for v in Language)
        raise InvalidInput(f"unknown language {language!r}; use one of {allowed}") from None
    sequences = learner_sequences(session, lang)
    try:
        examples = build_examples(sequences, options)
    except TallRecDataError as exc:
        raise InvalidInput(str(exc)) from exc
    if not examples:
        raise InvalidInput(f"no attempts at {lang} exercises are stored: nothing to export")
    write_jsonl(examples, out)
    return ExportReport.of(examples, out)
