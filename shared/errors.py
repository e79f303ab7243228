"""Error categories raised by domain, use-case and store code. Plain exceptions: the web
layer (shared/problem.py) renders them as application/problem+json."""

from datetime import datetime
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


class EventStarted(Conflict):
    """The event's date has passed (409): it is no longer booked, cancelled or moved. `extra`
    adds members to the problem (the event service's answers also say "success": false)."""

    def __init__(
        self, event_id: int, event_date: datetime, what: str, *, extra: dict[str, Any] | None = None
    ) -> None:
        at = event_date.isoformat().replace("+00:00", "Z")
        super().__init__(
            f"Event {event_id} started at {at}: {what}.",
            errors=[field_error("eventDate", f"the event started at {at}")],
            extra={**(extra or {}), "eventDate": at},
        )
