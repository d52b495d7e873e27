"""classes: a teacher's classes, their learners and focus skills

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "classes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("teacher_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("invite_code", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["teacher_id"],
            ["users.id"],
            name=op.f("fk_classes_teacher_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classes")),
        sa.UniqueConstraint("invite_code", name=op.f("uq_classes_invite_code")),
    )
    op.create_index("ix_classes_teacher", "classes", ["teacher_id"])
    op.create_table(
        "class_members",
        sa.Column("class_id", sa.String(length=36), nullable=False),
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["classes.id"],
            name=op.f("fk_class_members_class_id_classes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["learners.id"],
            name=op.f("fk_class_members_learner_id_learners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("class_id", "learner_id", name=op.f("pk_class_members")),
    )
    op.create_index("ix_class_members_learner", "class_members", ["learner_id"])
    op.create_table(
        "class_focus_skills",
        sa.Column("class_id", sa.String(length=36), nullable=False),
        sa.Column("skill_id", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["classes.id"],
            name=op.f("fk_class_focus_skills_class_id_classes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["skills.id"],
            name=op.f("fk_class_focus_skills_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("class_id", "skill_id", name=op.f("pk_class_focus_skills")),
    )


def downgrade() -> None:
    op.drop_table("class_focus_skills")
    op.drop_index("ix_class_members_learner", table_name="class_members")
    op.drop_table("class_members")
    op.drop_index("ix_classes_teacher", table_name="classes")
    op.drop_table("classes")
