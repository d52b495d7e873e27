"""JSON API request and response bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from hyperlearn.service.practice import MAX_ANSWER_CHARS, MAX_KEY_CHARS, MAX_NAME_CHARS
from hyperlearn.service.recommend import MAX_REPORT_CHARS


class Health(BaseModel):
    status: str


class LearnerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    language: str = Field(examples=["en", "ru"])
    level: str = Field(examples=["A1", "B2"])
    interests: list[str] = Field(default_factory=list, max_length=50, examples=[["football"]])
    interests_text: str = Field(default="", max_length=500, examples=["football and 80s music"])


class Learner(BaseModel):
    id: str
    name: str
    language: str
    level: str
    interests: list[str]
    created_at: datetime
    policy: str


class ReasonOut(BaseModel):
    factor: str
    contribution: float
    text: str


class Exercise(BaseModel):
    item_id: str
    type: str
    language: str
    text: str
    hint: str
    options: list[str]
    skill_id: str
    skill_name: str
    level: str
    topics: list[str]
    reasons: list[ReasonOut]
    policy: str
    source: str
    licence: str


class AttemptCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_id: str = Field(min_length=1, max_length=64)
    # Empty means "I don't know": it is graded (as wrong), not refused.
    answer: str = Field(max_length=MAX_ANSWER_CHARS)
    idempotency_key: str = Field(
        min_length=1,
        max_length=MAX_KEY_CHARS,
        description="A fresh random key per answer; resending it never stores a second attempt.",
    )
    latency_ms: int | None = Field(default=None, ge=0, le=86_400_000)


class DiffOpOut(BaseModel):
    kind: str
    given: list[str]
    expected: list[str]


class SkillMasteryOut(BaseModel):
    skill_id: str
    skill_name: str
    mastery: float


class Feedback(BaseModel):
    attempt_id: int
    item_id: str
    correct: bool
    answer: str
    expected: str
    accepted: list[str]
    diff: list[DiffOpOut]
    first_error: int | None
    error_in_text: str
    correction: str
    explanation: str
    skill_name: str
    rule: str
    example: str
    mastery: list[SkillMasteryOut]
    source: str
    licence: str
    duplicate: bool
    explanation_source: str  # "rules", or "model:<backend>" when a language model explained


class SkillProgressOut(BaseModel):
    skill_id: str
    name: str
    level: str
    mastery: float
    attempts: int
    correct: int
    unlocked: bool


class AttemptOut(BaseModel):
    id: int
    item_id: str
    answer: str
    correct: bool
    answered_at: datetime
    idempotency_key: str


class TopicOut(BaseModel):
    id: str
    name: str


class SkillOut(BaseModel):
    id: str
    name: str
    level: str
    explanation: str
    example: str
    prerequisites: list[str]


class DueReviewOut(BaseModel):
    item_id: str
    retrievability: float = Field(description="Predicted probability of recall now (FSRS).")
    due: datetime


class SignalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_id: str = Field(min_length=1, max_length=64)
    signal: str = Field(examples=["like", "dislike", "skip"])


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The caller's learner profile; optional (it is implied by the API token).
    learner_id: str | None = Field(default=None, min_length=1, max_length=36)
    reason: str = Field(default="", max_length=MAX_REPORT_CHARS)


class ReportOut(BaseModel):
    id: int
    item_id: str
    status: str


class SettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: str | None = Field(default=None, examples=["hybrid", "mastery", "random"])
    band_low: float | None = Field(default=None, ge=0.0, le=1.0)
    band_high: float | None = Field(default=None, ge=0.0, le=1.0)
    goal_level: str | None = Field(default=None, examples=["B1"])
    interests_text: str | None = Field(
        default=None, max_length=500, examples=["football, cooking and 80s music"]
    )


class SettingsOut(BaseModel):
    policy: str
    band_low: float
    band_high: float
    goal_level: str
    desired_retention: float
    interests_text: str


class InterestOut(BaseModel):
    topic: str
    weight: float
