"""Use cases. Routes and CLI commands stay thin and call these."""

from hyperlearn.service.errors import Conflict, InvalidInput, NotFound, ServiceError

__all__ = ["Conflict", "InvalidInput", "NotFound", "ServiceError"]
