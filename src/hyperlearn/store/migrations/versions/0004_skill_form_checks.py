"""skill graph form checks and unmapped error types

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "skill_graphs",
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("unmapped_errant", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("language", name=op.f("pk_skill_graphs")),
    )
    with op.batch_alter_table("skills", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer_forms", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("answer_grammemes", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("skills", schema=None) as batch_op:
        batch_op.drop_column("answer_grammemes")
        batch_op.drop_column("answer_forms")

    op.drop_table("skill_graphs")
