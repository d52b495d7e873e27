"""Tables. Attempts are an append-only event log; learner skill state can be rebuilt from it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always returns aware datetimes, also on SQLite (which keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TopicRow(Base):
    __tablename__ = "topics"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(100))
    name_ru: Mapped[str] = mapped_column(String(100))


class LearnerRow(Base):
    __tablename__ = "learners"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8))
    level: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Recommender settings (hyperlearn.core.policy): which policy, the desirable-difficulty band
    # (None: the policy's default), the level the learner aims for (None: one above `level`).
    policy: Mapped[str] = mapped_column(String(16), default="hybrid", server_default="hybrid")
    band_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    band_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    goal_level: Mapped[str | None] = mapped_column(String(2), nullable=True)
    # Free-text interests ("I follow Formula 1"); matched semantically with the [embed] extra.
    interests_text: Mapped[str] = mapped_column(String(500), default="", server_default="")


class LearnerTopicRow(Base):
    __tablename__ = "learner_topics"
    learner_id: Mapped[str] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[str] = mapped_column(ForeignKey("topics.id"), primary_key=True)


class SkillRow(Base):
    __tablename__ = "skills"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), index=True)
    level: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(200))
    name_native: Mapped[str] = mapped_column(String(200), default="")
    explanation: Mapped[str] = mapped_column(Text)
    example: Mapped[str] = mapped_column(Text, default="")
    errant: Mapped[list[str]] = mapped_column(JSON, default=list)
    ud_features: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What a form check needs (see docs/content-format.md); empty lists when unchecked.
    answer_forms: Mapped[list[list[str]] | None] = mapped_column(JSON, nullable=True)
    answer_grammemes: Mapped[list[list[str]] | None] = mapped_column(JSON, nullable=True)


class SkillEdgeRow(Base):
    __tablename__ = "skill_edges"
    skill_id: Mapped[str] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )
    prerequisite_id: Mapped[str] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )


class ItemRow(Base):
    __tablename__ = "items"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), index=True)
    type: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    answers: Mapped[list[str]] = mapped_column(JSON)
    distractors: Mapped[list[str]] = mapped_column(JSON, default=list)
    level: Mapped[str] = mapped_column(String(2))
    explanation: Mapped[str] = mapped_column(Text, default="")
    hint: Mapped[str] = mapped_column(String(200), default="")
    correction: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(200))
    licence: Mapped[str] = mapped_column(String(200))
    record_id: Mapped[str] = mapped_column(String(200), default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set whenever the row or its skill/topic links change; readers use it to refresh caches.
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ItemSkillRow(Base):
    __tablename__ = "item_skills"
    item_id: Mapped[str] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[str] = mapped_column(ForeignKey("skills.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)  # 0 is the primary skill


class ItemTopicRow(Base):
    __tablename__ = "item_topics"
    item_id: Mapped[str] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[str] = mapped_column(ForeignKey("topics.id"), primary_key=True)


class AttemptRow(Base):
    __tablename__ = "attempts"
    __table_args__ = (
        # A retried or double-clicked submission carries the same key and is stored once.
        UniqueConstraint("learner_id", "idempotency_key"),
        Index("ix_attempts_learner_time", "learner_id", "answered_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"))
    answer: Mapped[str] = mapped_column(Text)
    correct: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))


class LearnerSkillStateRow(Base):
    __tablename__ = "learner_skill_state"
    learner_id: Mapped[str] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[str] = mapped_column(ForeignKey("skills.id"), primary_key=True)
    ability: Mapped[float] = mapped_column(Float)
    # BKT P(known); None in rows from before migration 0005 (readers derive it from ability).
    known: Mapped[float | None] = mapped_column(Float, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    last_practised_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ItemReviewStateRow(Base):
    """The memory model's card for one (learner, item): FSRS state after the last review.

    Derived data: `hyperlearn learner refit-memory` rebuilds it from the attempt log."""

    __tablename__ = "item_review_state"
    learner_id: Mapped[str] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), primary_key=True)
    stability: Mapped[float] = mapped_column(Float)  # days until recall falls to 90%
    difficulty: Mapped[float] = mapped_column(Float)  # 1 (easy) .. 10 (hard)
    state: Mapped[int] = mapped_column(Integer)  # fsrs.State: 1 learning, 2 review, 3 relearning
    step: Mapped[int | None] = mapped_column(Integer, nullable=True)  # (re)learning step
    due: Mapped[datetime] = mapped_column(UTCDateTime())
    last_review: Mapped[datetime] = mapped_column(UTCDateTime())
    reps: Mapped[int] = mapped_column(Integer, default=0)
    lapses: Mapped[int] = mapped_column(Integer, default=0)


class LearnerMemoryParamsRow(Base):
    """A learner's FSRS weights (absent: the FSRS-6 defaults) and desired retention."""

    __tablename__ = "learner_memory_params"
    learner_id: Mapped[str] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), primary_key=True
    )
    parameters: Mapped[list[float]] = mapped_column(JSON)
    desired_retention: Mapped[float] = mapped_column(Float)
    fitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    n_reviews: Mapped[int] = mapped_column(Integer, default=0)  # reviews the last fit used


class KTModelRow(Base):
    """A fitted knowledge-tracing model; the newest row is the one in use."""

    __tablename__ = "kt_models"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    n_attempts: Mapped[int] = mapped_column(Integer)
    n_learners: Mapped[int] = mapped_column(Integer)
    # HyperLearnKT.to_dict() plus the item and skill ids behind its indices.
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)


class LearnerKTStateRow(Base):
    """A learner's knowledge-tracing state under one model. Derived data: rebuilt from the
    attempt log whenever it is missing or belongs to an older model."""

    __tablename__ = "learner_kt_state"
    learner_id: Mapped[str] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[int] = mapped_column(ForeignKey("kt_models.id", ondelete="CASCADE"))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SkillGraphRow(Base):
    """Per-language facts about the skill graph as a whole."""

    __tablename__ = "skill_graphs"
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    # Error types deliberately mapped to no skill (importers drop their edits by name).
    unmapped_errant: Mapped[list[str]] = mapped_column(JSON, default=list)


class LearnerItemEventRow(Base):
    """Engagement signals the interest profile learns from: like, dislike, skip, report."""

    __tablename__ = "learner_item_events"
    __table_args__ = (Index("ix_learner_item_events_learner_time", "learner_id", "created_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ItemReportRow(Base):
    """A learner's report that an item is wrong. An open report withholds the item from every
    learner until a teacher resolves it."""

    __tablename__ = "item_reports"
    __table_args__ = (Index("ix_item_reports_status", "status", "item_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    learner_id: Mapped[str | None] = mapped_column(
        ForeignKey("learners.id", ondelete="SET NULL"), nullable=True
    )
    reason: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(
        String(16), default="open"
    )  # open, fixed, disabled, restored
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ReadingTextRow(Base):
    """A reading text: its cleaned body (paragraphs joined by blank lines), sentence offsets
    into the body, estimated level and provenance. The id is a hash of language and body, so
    importing the same text twice stores it once."""

    __tablename__ = "reading_texts"
    __table_args__ = (Index("ix_reading_texts_language", "language", "created_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # [[start, end, paragraph], ...] per sentence, offsets into body.
    sentences: Mapped[list[list[int]]] = mapped_column(JSON)
    level: Mapped[str | None] = mapped_column(String(2), nullable=True)  # None: no sentences
    label: Mapped[str] = mapped_column(String(40), default="")  # the source's own level name
    source: Mapped[str] = mapped_column(String(200))
    licence: Mapped[str] = mapped_column(String(200))
    record_id: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("learners.id", ondelete="SET NULL"), nullable=True
    )  # the learner who pasted it; None for imported texts
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The teacher who pasted it: they and the learners of classes it is assigned to see it.
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )


class ReadingQuestionRow(Base):
    """A question of a text: the item a learner answers, and where its answer stands in the
    text (the grounding checker verified it before the row was written)."""

    __tablename__ = "reading_questions"
    text_id: Mapped[str] = mapped_column(
        ForeignKey("reading_texts.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # cloze, vocabulary, wh, true_false
    prompt: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    answer_start: Mapped[int] = mapped_column(Integer)
    answer_end: Mapped[int] = mapped_column(Integer)
    sentence: Mapped[int] = mapped_column(Integer)


class ContentVersionRow(Base):
    """One counter that every write to items (or their skill and topic links) raises, in the
    writing transaction (store/content_version.py). Readers cache the bank per version: one
    primary-key read per request instead of aggregating a large items table."""

    __tablename__ = "content_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class UserRow(Base):
    """An account. Usernames are stored lower-cased; passwords only as argon2id hashes. A user
    owns at most one learner profile (the learners row they practise as); teachers and admins
    need none."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # learner, teacher, admin
    learner_id: Mapped[str | None] = mapped_column(
        ForeignKey("learners.id", ondelete="SET NULL"), unique=True, nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Interface language of the web pages: "en" or "ru".
    ui_language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")


class UserSessionRow(Base):
    """A browser session. The cookie carries a random token; only its SHA-256 is stored. The
    CSRF token of the session's forms lives here too. Logout deletes the row."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user", "user_id"),)
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Last request made with the session (for the idle timeout); None means created_at.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ApiTokenRow(Base):
    """A personal API token (Authorization: Bearer ...): only its SHA-256 and a short prefix
    (to tell tokens apart in lists) are stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user", "user_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LoginFailureRow(Base):
    """One failed login, keyed by a hash of (username, client address): the rate limiter
    counts them in a sliding window. A successful login clears its key."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key", "key", "failed_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClassRow(Base):
    """A teacher's class. Learners join with its invite code (web/teacher.py); the teacher then
    reads their progress and may set focus skills that the hybrid policy favours."""

    __tablename__ = "classes"
    __table_args__ = (Index("ix_classes_teacher", "teacher_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    teacher_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8))
    invite_code: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClassMemberRow(Base):
    """A learner in a class (a learner may be in several)."""

    __tablename__ = "class_members"
    __table_args__ = (Index("ix_class_members_learner", "learner_id"),)
    class_id: Mapped[str] = mapped_column(
        ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True
    )
    learner_id: Mapped[str] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), primary_key=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReadingAssignmentRow(Base):
    """A reading text a teacher assigned to a class: its learners see it first."""

    __tablename__ = "reading_assignments"
    __table_args__ = (Index("ix_reading_assignments_text", "text_id"),)
    class_id: Mapped[str] = mapped_column(
        ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True
    )
    text_id: Mapped[str] = mapped_column(
        ForeignKey("reading_texts.id", ondelete="CASCADE"), primary_key=True
    )
    assigned_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClassFocusSkillRow(Base):
    """A skill the teacher asked the class to focus on (PolicyState.focus_skills)."""

    __tablename__ = "class_focus_skills"
    class_id: Mapped[str] = mapped_column(
        ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[str] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True
    )


class ImportJobRow(Base):
    """A content import started from the teacher pages. It runs in the background; its
    progress and report live here, so whichever server process answers can show them."""

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_user", "user_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(200))
    licence: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed
    total: Mapped[int] = mapped_column(Integer, default=0)  # estimated records; 0 = unknown
    read: Mapped[int] = mapped_column(Integer, default=0)
    kept: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[str] = mapped_column(Text, default="")  # ImportReport.to_json(), as JSON
    error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Raised with every progress write: a running job whose heartbeat stopped was interrupted.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
