"""The content version: raised in the same transaction as any write to the item tables.

A session listener sees every ORM insert, update or delete of an item row or link, and every
bulk UPDATE/DELETE statement on those tables, so no writer has to remember to raise it. Caches
of the bank (repository.candidate_items) compare it with one primary-key read.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import ORMExecuteState, Session

from hyperlearn.store.models import ContentVersionRow, ItemRow, ItemSkillRow, ItemTopicRow

_ITEM_TABLES = {ItemRow.__table__, ItemSkillRow.__table__, ItemTopicRow.__table__}
_ITEM_ROWS = (ItemRow, ItemSkillRow, ItemTopicRow)


def current(session: Session) -> int:
    """The version, or -1 on a database without the counter row."""
    found = session.scalar(select(ContentVersionRow.version).where(ContentVersionRow.id == 1))
    return -1 if found is None else int(found)


def _raise(session: Session) -> None:
    session.execute(
        update(ContentVersionRow)
        .where(ContentVersionRow.id == 1)
        .values(version=ContentVersionRow.version + 1)
        .execution_options(synchronize_session=False)
    )


@event.listens_for(Session, "before_flush")
def _on_flush(session: Session, _context: Any, _instances: Any) -> None:
    changed = chain(session.new, session.dirty, session.deleted)
    if any(isinstance(row, _ITEM_ROWS) for row in changed):
        _raise(session)


@event.listens_for(Session, "do_orm_execute")
def _on_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is not None and table in _ITEM_TABLES:
        _raise(state.session)
