"""recommender: per-learner policy settings, BKT known state, engagement events, item reports

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("learners") as batch_op:
        batch_op.add_column(
            sa.Column("policy", sa.String(length=16), server_default="hybrid", nullable=False)
        )
        batch_op.add_column(sa.Column("band_low", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("band_high", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("goal_level", sa.String(length=2), nullable=True))
        batch_op.add_column(
            sa.Column("interests_text", sa.String(length=500), server_default="", nullable=False)
        )
    with op.batch_alter_table("learner_skill_state") as batch_op:
        batch_op.add_column(sa.Column("known", sa.Float(), nullable=True))
    op.create_table(
        "learner_item_events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_learner_item_events_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_learner_item_events_learner_id_learners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learner_item_events")),
    )
    op.create_index(
        "ix_learner_item_events_learner_time",
        "learner_item_events",
        ["learner_id", "created_at"],
    )
    op.create_table(
        "item_reports",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("learner_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_reports_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_item_reports_learner_id_learners"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_reports")),
    )
    op.create_index("ix_item_reports_status", "item_reports", ["status", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_item_reports_status", table_name="item_reports")
    op.drop_table("item_reports")
    op.drop_index("ix_learner_item_events_learner_time", table_name="learner_item_events")
    op.drop_table("learner_item_events")
    with op.batch_alter_table("learner_skill_state") as batch_op:
        batch_op.drop_column("known")
    with op.batch_alter_table("learners") as batch_op:
        batch_op.drop_column("interests_text")
        batch_op.drop_column("goal_level")
        batch_op.drop_column("band_high")
        batch_op.drop_column("band_low")
        batch_op.drop_column("policy")
