"""Errors a use case raises for bad requests; the web layer maps them to 4xx responses."""


class ServiceError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(ServiceError):
    """404: an unknown learner, item or skill."""


class InvalidInput(ServiceError):
    """422: well-formed but unacceptable input."""


class Conflict(ServiceError):
    """409: the request contradicts stored data (an idempotency key reused for another item)."""
