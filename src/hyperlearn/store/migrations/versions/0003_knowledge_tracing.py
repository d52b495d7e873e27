"""knowledge tracing model and learner states; items.updated_at for cache refreshes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "kt_models",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_attempts", sa.Integer(), nullable=False),
        sa.Column("n_learners", sa.Integer(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kt_models")),
    )
    op.create_table(
        "learner_kt_state",
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("model_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_learner_kt_state_learner_id_learners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["kt_models.id"],
            name=op.f("fk_learner_kt_state_model_id_kt_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("learner_id", name=op.f("pk_learner_kt_state")),
    )


def downgrade() -> None:
    op.drop_table("learner_kt_state")
    op.drop_table("kt_models")
    with op.batch_alter_table("items") as batch_op:
        batch_op.drop_column("updated_at")
