"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("distractors", sa.JSON(), nullable=False),
        sa.Column("level", sa.String(length=2), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("hint", sa.String(length=200), nullable=False),
        sa.Column("correction", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("licence", sa.String(length=200), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_language"), ["language"], unique=False)

    op.create_table(
        "learners",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("level", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learners")),
    )
    op.create_table(
        "skills",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("level", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_native", sa.String(length=200), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("example", sa.Text(), nullable=False),
        sa.Column("errant", sa.JSON(), nullable=False),
        sa.Column("ud_features", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
    )
    with op.batch_alter_table("skills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_skills_language"), ["language"], unique=False)

    op.create_table(
        "topics",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("name_ru", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topics")),
    )
    op.create_table(
        "attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_attempts_item_id_items")),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_attempts_learner_id_learners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
        sa.UniqueConstraint(
            "learner_id", "idempotency_key", name=op.f("uq_attempts_learner_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attempts_learner_time", ["learner_id", "answered_at"], unique=False
        )

    op.create_table(
        "item_skills",
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("skill_id", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_skills_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["skills.id"], name=op.f("fk_item_skills_skill_id_skills")
        ),
        sa.PrimaryKeyConstraint("item_id", "skill_id", name=op.f("pk_item_skills")),
    )
    with op.batch_alter_table("item_skills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_skills_skill_id"), ["skill_id"], unique=False)

    op.create_table(
        "item_topics",
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("topic_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_topics_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name=op.f("fk_item_topics_topic_id_topics")
        ),
        sa.PrimaryKeyConstraint("item_id", "topic_id", name=op.f("pk_item_topics")),
    )
    op.create_table(
        "learner_skill_state",
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("skill_id", sa.String(length=80), nullable=False),
        sa.Column("ability", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.Column("last_practised_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_learner_skill_state_learner_id_learners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["skills.id"], name=op.f("fk_learner_skill_state_skill_id_skills")
        ),
        sa.PrimaryKeyConstraint("learner_id", "skill_id", name=op.f("pk_learner_skill_state")),
    )
    op.create_table(
        "learner_topics",
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("topic_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_learner_topics_learner_id_learners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name=op.f("fk_learner_topics_topic_id_topics")
        ),
        sa.PrimaryKeyConstraint("learner_id", "topic_id", name=op.f("pk_learner_topics")),
    )
    op.create_table(
        "skill_edges",
        sa.Column("skill_id", sa.String(length=80), nullable=False),
        sa.Column("prerequisite_id", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["prerequisite_id"],
            ["skills.id"],
            name=op.f("fk_skill_edges_prerequisite_id_skills"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_skill_edges_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("skill_id", "prerequisite_id", name=op.f("pk_skill_edges")),
    )


def downgrade() -> None:
    op.drop_table("skill_edges")
    op.drop_table("learner_topics")
    op.drop_table("learner_skill_state")
    op.drop_table("item_topics")
    with op.batch_alter_table("item_skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_skills_skill_id"))

    op.drop_table("item_skills")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_attempts_learner_time")

    op.drop_table("attempts")
    op.drop_table("topics")
    with op.batch_alter_table("skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skills_language"))

    op.drop_table("skills")
    op.drop_table("learners")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_language"))

    op.drop_table("items")
