"""Knowledge tracing: predicting P(correct | learner, item) from the attempt history."""

from hyperlearn.core.kt.log import InteractionLog, LogBuilder, Vocabulary
from hyperlearn.core.kt.protocol import KnowledgeTracer

__all__ = ["InteractionLog", "KnowledgeTracer", "LogBuilder", "Vocabulary"]
