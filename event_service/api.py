"""HTTP routes of the event service: CRUD, listing, and seat booking/release (REST1)."""

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from event_service import domain
from event_service.schemas import MAX_VERSION, EventChange, EventIn, EventOut, SeatsAnswer
from event_service.store import EventFilter, EventStore, Outcome
from shared.errors import BadRequest, RuleBroken, field_error
from shared.idempotency import fingerprint, idempotency_key_header
from shared.schemas import Page, PageParams, UtcDateTime, page_params

router = APIRouter(prefix="/api/events", tags=["events"])

EventId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the event's id")]
IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]

SEATS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["seats"],
                    "properties": {"seats": {"type": "integer", "minimum": 1}},
                    "additionalProperties": False,
                },
                "example": {"seats": 2},
            }
        },
    }
}
SEAT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid number of seats (problem+json naming `seats`)"},
    404: {"description": "Unknown event"},
    409: {"description": "Not enough availability, or the event is busy (retry)"},
    422: {"description": "Idempotency-Key reused with another body"},
}


async def get_store(request: Request) -> EventStore:
    store: EventStore = request.app.state.store
    return store


Store = Annotated[EventStore, Depends(get_store)]


def _now() -> datetime:
    return datetime.now(UTC)


def _send(request: Request, outcome: Outcome, headers: dict[str, str] | None = None) -> JSONResponse:
    if not outcome.replayed:
        request.app.state.relay.wake()
    headers = dict(headers or {})
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)


def _etag(view: dict[str, Any]) -> dict[str, str]:
    return {"ETag": f'"{view["version"]}"'}


@router.get("", response_model=Page[EventOut])
async def list_events(
    store: Store,
    paging: Annotated[PageParams, Depends(page_params)],
    location: Annotated[str | None, Query(max_length=200, description="part of the location")] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    date_from: Annotated[UtcDateTime | None, Query(alias="dateFrom")] = None,
    date_to: Annotated[UtcDateTime | None, Query(alias="dateTo")] = None,
    available: Annotated[bool, Query(description="only future events with seats for sale")] = False,
) -> dict[str, Any]:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise RuleBroken(
            "dateFrom is after dateTo.", errors=[field_error("dateFrom", "must not be after dateTo")]
        )
    where = EventFilter(location, category, date_from, date_to, _now() if available else None)
    items, total = await store.list(where, offset=paging.offset, limit=paging.size)
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.get("/available", response_model=Page[EventOut])
async def list_available_events(
    store: Store, paging: Annotated[PageParams, Depends(page_params)]
) -> dict[str, Any]:
    """Future events with availableSeats > 0 (the safety margin already set aside)."""
    items, total = await store.list(EventFilter(available_at=_now()), offset=paging.offset, limit=paging.size)
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.post("", status_code=201, response_model=EventOut)
async def create_event(body: EventIn, request: Request, store: Store, key: IdempotencyKey) -> JSONResponse:
    domain.check_new_event_date(body.event_date, _now())
    outcome = await store.create(
        body.model_dump(by_alias=False), key, fingerprint(body.model_dump(mode="json"))
    )
    return _send(request, outcome, {"Location": f"/api/events/{outcome.body['id']}", **_etag(outcome.body)})


@router.get("/{event_id}", response_model=EventOut)
async def get_event(event_id: EventId, store: Store) -> JSONResponse:
    view = await store.get(event_id)
    return JSONResponse(view, headers=_etag(view))


@router.put("/{event_id}", response_model=EventOut)
async def update_event(
    event_id: EventId,
    body: EventChange,
    request: Request,
    store: Store,
    if_match: Annotated[str | None, Header(max_length=64)] = None,
) -> JSONResponse:
    """Change the given fields. The version read (body `version` or `If-Match`) must still be
    the current one, else 409; without either, the write applies to the current version."""
    expected = _expected_version(body.version, if_match)
    changes = body.model_dump(by_alias=False, exclude_unset=True, exclude={"version"})
    for field in ("name", "location", "event_date", "total_capacity", "ticket_price"):
        if field in changes and changes[field] is None:
            raise RuleBroken(f"{field} cannot be null.", errors=[field_error(field, "cannot be null")])
    view = await store.update(event_id, changes, expected, _now())
    request.app.state.relay.wake()
    return JSONResponse(view, headers=_etag(view))


@router.delete("/{event_id}", status_code=204, response_class=Response)
async def delete_event(event_id: EventId, request: Request, store: Store) -> Response:
    """Refused (409) while seats are booked: release them first."""
    await store.delete(event_id)
    request.app.state.relay.wake()
    return Response(status_code=204)


@router.post("/{event_id}/book", response_model=SeatsAnswer, openapi_extra=SEATS_BODY, responses=SEAT_ERRORS)
async def book_seats(event_id: EventId, request: Request, store: Store, key: IdempotencyKey) -> JSONResponse:
    """REST1 + DB1 + DB2: book seats atomically; never oversells, whatever the concurrency."""
    seats = await _seats(request)
    outcome = await store.book(event_id, seats, key, fingerprint({"eventId": event_id, "seats": seats}))
    return _send(request, outcome)


@router.post(
    "/{event_id}/release", response_model=SeatsAnswer, openapi_extra=SEATS_BODY, responses=SEAT_ERRORS
)
async def release_seats(
    event_id: EventId, request: Request, store: Store, key: IdempotencyKey
) -> JSONResponse:
    """Give seats back (a saga's compensation); with an Idempotency-Key, applied once."""
    seats = await _seats(request)
    outcome = await store.release(event_id, seats, key, fingerprint({"eventId": event_id, "seats": seats}))
    return _send(request, outcome)


async def _seats(request: Request) -> int:
    # Read loosely on purpose: every bad shape of `seats` is REST1's 400, not the generic 422.
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        raise BadRequest("Request body is not valid JSON.", errors=[field_error("body", str(exc))]) from exc
    if not isinstance(body, dict):
        raise domain.InvalidSeats('body must be a JSON object such as {"seats": 2}')
    unknown = sorted(set(body) - {"seats"})
    if unknown:
        raise BadRequest(
            f"Unknown field(s): {', '.join(unknown)}.",
            errors=[field_error(name, "unknown field") for name in unknown],
        )
    return domain.parse_seats(body.get("seats"))


def _expected_version(in_body: int | None, if_match: str | None) -> int | None:
    from_header = None
    if if_match is not None:
        text = if_match.strip().removeprefix("W/").strip('"')
        if not text.isdigit() or not 1 <= int(text) <= MAX_VERSION:
            raise RuleBroken(
                "If-Match must be a version number.", errors=[field_error("If-Match", "not a version")]
            )
        from_header = int(text)
    if in_body is not None and from_header is not None and in_body != from_header:
        raise RuleBroken(
            "version and If-Match disagree.", errors=[field_error("version", "differs from If-Match")]
        )
    return in_body if in_body is not None else from_header
