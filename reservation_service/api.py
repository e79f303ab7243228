"""HTTP routes of the Reservation service."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse

from reservation_service.clients import SagaAnswer
from reservation_service.domain import ENDED, Status
from reservation_service.schemas import (
    Cancellation,
    Reinstatement,
    ReservationIn,
    ReservationOut,
    ReservationStats,
    StatusChange,
    as_wire,
    new_reservation,
)
from reservation_service.service import Reservations
from shared import callers
from shared.contracts.calls import FenceAnswer
from shared.idempotency import Idempotency
from shared.idempotency.header import FencedKey, IdempotencyKey
from shared.paging import Paging
from shared.schemas import Page, PageParams
from shared.versions import IfMatch, expected_version
from shared.web import from_state

router = APIRouter(prefix="/api/reservations", tags=["reservations"])

EventId = Annotated[int, Path(ge=1, le=2**63 - 1)]
UserId = Annotated[str, Path(min_length=1, max_length=100)]


UseCases = Annotated[Reservations, from_state("reservations")]


def _location(reservation_id: str) -> dict[str, str]:
    return {"Location": f"/api/reservations/{reservation_id}"}


@router.post("", status_code=201, response_model=ReservationOut, dependencies=[callers.INTERNAL])
async def create_reservation(
    body: ReservationIn,
    desk: UseCases,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Create a reservation (pending). Without `sagaId` it books its seats at the event service
    itself and answers 409/404/422 when they refuse, 503 when they cannot be reached."""
    idem = Idempotency.of(key, body.model_dump(mode="json", by_alias=True))
    doc = await desk.create(new_reservation(body), idem)
    return JSONResponse(as_wire(doc), status_code=201, headers=_location(doc["id"]))


@router.put("/fences/{key}", response_model=FenceAnswer, dependencies=[callers.INTERNAL])
async def fence_reservation(key: FencedKey, desk: UseCases) -> FenceAnswer:
    """For a caller that got no answer to a creation after its retries, before it concludes
    that no reservation was made: either the reservation under this key exists (`fenced`
    false, its answer given: the caller must count it, or cancel it), or the key is fenced
    and a late copy of the creation is refused with 409, creating nothing."""
    first = await desk.fence(key)
    if first is None:
        return FenceAnswer(idempotency_key=key, fenced=True)
    if first.status_code != 201:
        return FenceAnswer(
            idempotency_key=key, fenced=False, status_code=first.status_code, answer=first.body
        )
    return FenceAnswer(idempotency_key=key, fenced=False, status_code=201, answer=as_wire(first.body))


@router.get("", response_model=Page[ReservationOut], dependencies=[callers.PUBLIC])
async def list_reservations(
    paging: Paging,
    desk: UseCases,
    event_id: Annotated[int | None, Query(alias="eventId", ge=1, le=2**63 - 1)] = None,
    user_id: Annotated[str | None, Query(alias="userId", min_length=1, max_length=100)] = None,
    status: Status | None = None,
) -> dict[str, Any]:
    return await _page(desk, paging, event_id=event_id, user_id=user_id, status=status)


@router.get("/stats/{event_id}", response_model=ReservationStats, dependencies=[callers.PUBLIC])
async def reservation_stats(event_id: EventId, desk: UseCases) -> dict[str, Any]:
    """DB3: statistics of one event's reservations by aggregation. totalReservations and
    totalSeats count live reservations (pending, confirmed); cancelled and refunded ones are
    reported apart; revenue sums confirmed reservations only. Direct reservations the event
    service refused (they never held a seat) are not counted."""
    return await desk.stats(event_id)


@router.get("/user/{user_id}", response_model=Page[ReservationOut], dependencies=[callers.PUBLIC])
async def reservations_of_user(user_id: UserId, paging: Paging, desk: UseCases) -> dict[str, Any]:
    return await _page(desk, paging, user_id=user_id)


@router.get("/event/{event_id}", response_model=Page[ReservationOut], dependencies=[callers.PUBLIC])
async def reservations_of_event(event_id: EventId, paging: Paging, desk: UseCases) -> dict[str, Any]:
    return await _page(desk, paging, event_id=event_id)


@router.get("/{reservation_id}", response_model=ReservationOut, dependencies=[callers.PUBLIC])
async def get_reservation(reservation_id: str, desk: UseCases) -> Any:
    return as_wire(await desk.get(reservation_id))


@router.put("/{reservation_id}/status", response_model=ReservationOut, dependencies=[callers.INTERNAL])
async def change_status(
    reservation_id: str,
    body: StatusChange,
    desk: UseCases,
    if_match: IfMatch = None,
) -> Any:
    """Legal transitions only (409 otherwise): pending → confirmed | cancelled; confirmed →
    cancelled | refunded. With `version` (body) or `If-Match`, a stale version is a 409. A
    live booking a saga made is not ended here (409): POST /cancel runs its cancellation saga."""
    doc = await desk.set_status(
        reservation_id,
        Status(body.status),
        reason=body.reason,
        updated_by=body.updated_by,
        expected_version=expected_version(body.version, if_match),
    )
    return as_wire(doc)


@router.post(
    "/{reservation_id}/cancel",
    response_model=ReservationOut,
    responses={202: {"description": "A saga-made booking: its cancellation saga started (sagaId)"}},
    dependencies=[callers.PUBLIC],
)
async def cancel_reservation(
    reservation_id: str,
    desk: UseCases,
    body: Annotated[Cancellation | None, Body()] = None,
    if_match: IfMatch = None,
    key: IdempotencyKey = None,
) -> Any:
    """Cancel. A pending or confirmed booking made by a saga starts the orchestrator's
    cancellation saga (202 with its `sagaId`: it refunds the payment and releases the seats;
    its refusals, such as 409 while the booking saga runs or once the event has started, are
    answered as they are). Any other reservation is cancelled here (idempotent: an already
    cancelled one answers 200 unchanged; a refunded one cannot be cancelled, 409); seats it
    booked itself are released once."""
    body = body or Cancellation()
    done = await desk.cancel(
        reservation_id,
        reason=body.reason or "cancelled on request",
        updated_by=body.updated_by,
        expected_version=expected_version(body.version, if_match),
        key=key,
    )
    if isinstance(done, SagaAnswer):
        media = "application/json" if done.status_code < 300 else "application/problem+json"
        return JSONResponse(done.body, status_code=done.status_code, media_type=media)
    return as_wire(done)


@router.post("/{reservation_id}/reinstate", response_model=ReservationOut, dependencies=[callers.INTERNAL])
async def reinstate_reservation(
    reservation_id: str,
    desk: UseCases,
    body: Annotated[Reinstatement | None, Body()] = None,
    _key: IdempotencyKey = None,
) -> Any:
    """A cancellation saga's compensation: the booking it cancelled is confirmed again (no
    money went back). Idempotent: a confirmed reservation answers 200 unchanged. `fenceKey`:
    the key of the cancel (…/compensate) the saga gave up on; a late copy of it is then 409."""
    body = body or Reinstatement()
    return as_wire(await desk.reinstate(reservation_id, reason=body.reason, fence=body.fence_key))


@router.post("/{reservation_id}/compensate", response_model=ReservationOut, dependencies=[callers.INTERNAL])
async def compensate_reservation(
    reservation_id: str,
    desk: UseCases,
    body: Annotated[Cancellation | None, Body()] = None,
    key: IdempotencyKey = None,
) -> Any:
    """The saga's compensation: cancel, idempotently. A reservation already cancelled or
    refunded answers 200 unchanged; a key a reinstatement fenced is refused (409)."""
    body = body or Cancellation()
    doc = await desk.change_status(
        reservation_id,
        Status.CANCELLED,
        reason=body.reason or "compensation",
        updated_by=body.updated_by if body.updated_by != "api" else "saga",
        already_done=ENDED,
        key=key,
    )
    return as_wire(doc)


async def _page(desk: Reservations, paging: PageParams, **filters: Any) -> dict[str, Any]:
    docs, total = await desk.page(offset=paging.offset, limit=paging.size, **filters)
    return {"items": [as_wire(d) for d in docs], "total": total, "page": paging.page, "size": paging.size}
