"""reading assignments: texts a teacher assigns to a class, and texts a teacher pasted

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reading_texts", schema=None) as batch_op:
        # A text a teacher pasted: only they and the learners of classes it is assigned to see it.
        batch_op.add_column(sa.Column("owner_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_reading_texts_owner_id_users"),
            "users",
            ["owner_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_table(
        "reading_assignments",
        sa.Column("class_id", sa.String(length=36), nullable=False),
        sa.Column("text_id", sa.String(length=40), nullable=False),
        sa.Column("assigned_by", sa.String(length=36), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["classes.id"],
            name=op.f("fk_reading_assignments_class_id_classes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["text_id"],
            ["reading_texts.id"],
            name=op.f("fk_reading_assignments_text_id_reading_texts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by"],
            ["users.id"],
            name=op.f("fk_reading_assignments_assigned_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("class_id", "text_id", name=op.f("pk_reading_assignments")),
    )
    op.create_index("ix_reading_assignments_text", "reading_assignments", ["text_id"])


def downgrade() -> None:
    op.drop_index("ix_reading_assignments_text", table_name="reading_assignments")
    op.drop_table("reading_assignments")
    with op.batch_alter_table("reading_texts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_reading_texts_owner_id_users"), type_="foreignkey")
        batch_op.drop_column("owner_id")
