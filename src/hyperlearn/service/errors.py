"""Errors a use case raises for bad requests; the web layer maps them to 4xx responses.

A reason shown to people can be a message template marked with `N_` and filled from keyword
arguments, `InvalidInput(N_("at most %(count)s skills"), count=10)`: `reason` is the English
text, while `message` and `params` let the web layer show it in the user's language.
"""


def N_(message: str) -> str:  # the gettext convention for "translate later"
    """Mark a message for the translation catalogues; it is translated where it is shown."""
    return message


class ServiceError(Exception):
    def __init__(self, reason: str, /, **params: object) -> None:
        text = reason % params if params else reason
        super().__init__(text)
        self.reason = text
        self.message = reason
        self.params = params


class NotFound(ServiceError):
    """404: an unknown learner, item or skill."""


class InvalidInput(ServiceError):
    """422: well-formed but unacceptable input."""


class Conflict(ServiceError):
    """409: the request contradicts stored data (an idempotency key reused for another item)."""
