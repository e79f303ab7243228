"""Error categories raised by domain, use-case and store code. Plain exceptions: the web
layer (shared/problem.py) renders them as application/problem+json."""

from typing import Any


class AppError(Exception):
    """Base of every error a client may see; subclasses fix the HTTP status."""

    status = 500
    title = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra or {}


class BadRequest(AppError):
    status = 400
    title = "Bad request"


class NotFound(AppError):
    status = 404
    title = "Not found"


class Conflict(AppError):
    status = 409
    title = "Conflict"


class RuleBroken(AppError):
    """Well-formed input that a business rule refuses."""

    status = 422
    title = "Unprocessable entity"


class Unavailable(AppError):
    status = 503
    title = "Service unavailable"


def field_error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}
