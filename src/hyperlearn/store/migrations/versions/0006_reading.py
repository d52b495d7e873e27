"""reading: texts and their grounded questions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reading_texts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sentences", sa.JSON(), nullable=False),
        sa.Column("level", sa.String(length=2), nullable=True),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("licence", sa.String(length=200), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["learners.id"],
            name=op.f("fk_reading_texts_created_by_learners"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_texts")),
    )
    op.create_index("ix_reading_texts_language", "reading_texts", ["language", "created_at"])
    op.create_table(
        "reading_questions",
        sa.Column("text_id", sa.String(length=40), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answer_start", sa.Integer(), nullable=False),
        sa.Column("answer_end", sa.Integer(), nullable=False),
        sa.Column("sentence", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_reading_questions_item_id_items")
        ),
        sa.ForeignKeyConstraint(
            ["text_id"],
            ["reading_texts.id"],
            name=op.f("fk_reading_questions_text_id_reading_texts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("text_id", "item_id", name=op.f("pk_reading_questions")),
    )


def downgrade() -> None:
    op.drop_table("reading_questions")
    op.drop_index("ix_reading_texts_language", table_name="reading_texts")
    op.drop_table("reading_texts")
