"""HTTP routes of the event service: CRUD, listing, and seat booking/release (REST1)."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from event_service import domain
from event_service.domain import Event, NewEvent
from event_service.schemas import (
    EventChange,
    EventIn,
    EventOut,
    SeatsAnswer,
    event_view,
    seats_answer,
)
from event_service.service import Events
from event_service.store import EventFilter
from shared import callers
from shared.contracts.calls import FenceAnswer, SeatsRequest
from shared.errors import BadRequest, RuleBroken, field_error
from shared.idempotency import Idempotency
from shared.idempotency.header import FencedKey, IdempotencyKey
from shared.paging import Paging
from shared.schemas import Page, PageParams, UtcDateTime
from shared.versions import IfMatch, expected_version
from shared.web import from_state

router = APIRouter(prefix="/api/events", tags=["events"])

EventId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the event's id")]

# The body is read loosely (_seats), and documented as the call contract its callers send.
SEATS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": SeatsRequest.model_json_schema(), "example": {"seats": 2}}
        },
    }
}
SEAT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid number of seats (problem+json naming `seats`)"},
    404: {"description": "Unknown event"},
    409: {"description": "Not enough seats, the event has started (names eventDate), or it is busy (retry)"},
    422: {"description": "Idempotency-Key reused with another body"},
}


UseCases = Annotated[Events, from_state("events")]


def _send(
    body: dict[str, Any], status_code: int, *, replayed: bool, headers: dict[str, str] | None = None
) -> JSONResponse:
    headers = dict(headers or {})
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body, status_code=status_code, headers=headers)


def _etag(event: Event) -> dict[str, str]:
    return {"ETag": f'"{event.version}"'}


def _page(events: list[Event], total: int, paging: PageParams) -> dict[str, Any]:
    items = [event_view(event) for event in events]
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.get("", response_model=Page[EventOut], dependencies=[callers.PUBLIC])
async def list_events(
    events: UseCases,
    paging: Paging,
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
    where = EventFilter(location, category, date_from, date_to)
    found, total = await events.list(where, available=available, offset=paging.offset, limit=paging.size)
    return _page(found, total, paging)


@router.get("/available", response_model=Page[EventOut], dependencies=[callers.PUBLIC])
async def list_available_events(events: UseCases, paging: Paging) -> dict[str, Any]:
    """Future events with availableSeats > 0 (the safety margin already set aside)."""
    found, total = await events.list(EventFilter(), available=True, offset=paging.offset, limit=paging.size)
    return _page(found, total, paging)


@router.post("", status_code=201, response_model=EventOut, dependencies=[callers.PUBLIC])
async def create_event(body: EventIn, events: UseCases, key: IdempotencyKey) -> JSONResponse:
    new = NewEvent(**body.model_dump(by_alias=False))
    result = await events.create(new, Idempotency.of(key, body.model_dump(mode="json")))
    event = result.value
    headers = {"Location": f"/api/events/{event.id}", **_etag(event)}
    return _send(event_view(event), 201, replayed=result.replayed, headers=headers)


@router.get("/{event_id}", response_model=EventOut, dependencies=[callers.PUBLIC])
async def get_event(event_id: EventId, events: UseCases) -> JSONResponse:
    event = await events.get(event_id)
    return JSONResponse(event_view(event), headers=_etag(event))


@router.put("/{event_id}", response_model=EventOut, dependencies=[callers.OPERATOR])
async def update_event(
    event_id: EventId,
    body: EventChange,
    events: UseCases,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Change the given fields. The version read (body `version` or `If-Match`) must still be
    the current one, else 409; without either, the write applies to the current version."""
    expected = expected_version(body.version, if_match)
    changes = body.model_dump(by_alias=False, exclude_unset=True, exclude={"version"})
    for field in ("name", "location", "event_date", "total_capacity", "ticket_price"):
        if field in changes and changes[field] is None:
            raise RuleBroken(f"{field} cannot be null.", errors=[field_error(field, "cannot be null")])
    event = await events.update(event_id, changes, expected)
    return JSONResponse(event_view(event), headers=_etag(event))


@router.delete("/{event_id}", status_code=204, response_class=Response, dependencies=[callers.OPERATOR])
async def delete_event(event_id: EventId, events: UseCases) -> Response:
    """Refused (409) while seats are booked: release them first."""
    await events.delete(event_id)
    return Response(status_code=204)


@router.post(
    "/{event_id}/book",
    response_model=SeatsAnswer,
    openapi_extra=SEATS_BODY,
    responses=SEAT_ERRORS,
    dependencies=[callers.INTERNAL],
)
async def book_seats(
    event_id: EventId, request: Request, events: UseCases, key: IdempotencyKey
) -> JSONResponse:
    """REST1 + DB1 + DB2: book seats atomically; never oversells, whatever the concurrency;
    409 naming eventDate once the event has started."""
    seats = await _seats(request)
    result = await events.book(event_id, seats, Idempotency.of(key, {"eventId": event_id, "seats": seats}))
    return _send(seats_answer(result.value, booked=True), 200, replayed=result.replayed)


@router.put("/{event_id}/book/fences/{key}", response_model=FenceAnswer, dependencies=[callers.INTERNAL])
async def fence_booking(event_id: EventId, key: FencedKey, events: UseCases) -> FenceAnswer:
    """For a caller that got no answer to a booking after its retries, before it concludes
    that no seats were booked: either the booking under this key was done (`fenced` false,
    its answer given: the caller must count it, or release the seats), or the key is fenced
    and a late copy of the booking is refused with 409, booking nothing. The key alone names
    the booking; the event id keeps the path beside the call it fences."""
    moved = await events.fence_booking(key)
    if moved is None:
        return FenceAnswer(idempotency_key=key, fenced=True)
    return FenceAnswer(
        idempotency_key=key, fenced=False, status_code=200, answer=seats_answer(moved, booked=True)
    )


@router.post(
    "/{event_id}/release",
    response_model=SeatsAnswer,
    openapi_extra=SEATS_BODY,
    responses=SEAT_ERRORS,
    dependencies=[callers.INTERNAL],
)
async def release_seats(
    event_id: EventId, request: Request, events: UseCases, key: IdempotencyKey
) -> JSONResponse:
    """Give seats back (a saga's compensation); with an Idempotency-Key, applied once."""
    seats = await _seats(request)
    idem = Idempotency.of(key, {"eventId": event_id, "seats": seats})
    result = await events.release(event_id, seats, idem)
    return _send(seats_answer(result.value, booked=False), 200, replayed=result.replayed)


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
