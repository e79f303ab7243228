"""Reservation service wire models: camelCase out, camelCase or snake_case in."""

from typing import Annotated, Any

from pydantic import AfterValidator, Field

from reservation_service.domain import NewReservation, SeatHold, Status
from shared.contracts.calls import (
    BookingDetailsAnswer,
    ReinstateRequest,
    ReservationAnswer,
    ReservationCancelRequest,
    ReservationRequest,
    ReservationStatusRequest,
    UserDetailsAnswer,
)
from shared.money import Amount, priced_in
from shared.schemas import ApiModel, UtcDateTime

MAX_INT64 = 2**63 - 1


def _storable(value: Any, depth: int = 0) -> Any:
    # Free-form metadata goes into a MongoDB document: keys starting with "$" or holding "."
    # would be refused by the engine (a 500) or read as operators, so they are a 422 here.
    if depth > 5:
        raise ValueError("metadata is nested too deeply (at most 5 levels)")
    if isinstance(value, dict):
        for key, item in value.items():
            if not key or key.startswith("$") or "." in key:
                raise ValueError(f"metadata key {key!r} may not be empty, start with '$' or contain '.'")
            _storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _storable(item, depth + 1)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT64:
        raise ValueError("metadata integers must fit in 64 bits")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_storable)]


# The bodies the saga sends are the call contracts (shared/contracts/calls.py).
StatusChange = ReservationStatusRequest
Cancellation = ReservationCancelRequest
Reinstatement = ReinstateRequest


class ReservationIn(ReservationRequest):
    # Only a client's reservation carries metadata; the saga's carries none.
    metadata: Metadata = Field(default_factory=dict, max_length=50)


class UserDetailsOut(UserDetailsAnswer):
    name: str
    email: str
    phone: str | None = None


class BookingDetailsOut(BookingDetailsAnswer):
    seats: int
    currency: str
    total_amount: Annotated[Amount, priced_in("currency")] | None


class TimelineEntryOut(ApiModel):
    status: Status
    timestamp: UtcDateTime
    reason: str
    updated_by: str


class ReservationOut(ReservationAnswer):
    id: str
    event_id: int
    user_id: str
    user_details: UserDetailsOut
    booking_details: BookingDetailsOut
    status: Status
    saga_id: str | None = None
    seat_hold: SeatHold | None = None
    timeline: list[TimelineEntryOut]
    metadata: dict[str, Any]
    version: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ReservationStats(ApiModel):
    """DB3: live reservations (pending + confirmed) in the totals; ended ones apart."""

    event_id: int
    total_reservations: int
    total_seats: int
    confirmed_seats: int
    pending_seats: int
    cancelled_reservations: int
    cancelled_seats: int
    refunded_reservations: int
    refunded_seats: int
    revenue: Amount


def as_wire(doc: dict[str, Any]) -> dict[str, Any]:
    """The reservation as the API answers it (camelCase, JSON types)."""
    return ReservationOut.model_validate(doc).model_dump(mode="json", by_alias=True)


def new_reservation(body: ReservationIn) -> NewReservation:
    details = body.booking_details
    return NewReservation(
        event_id=body.event_id,
        user_id=body.user_id,
        user_details=body.user_details.model_dump(by_alias=True),
        seats=details.seats,
        currency=details.currency,
        ticket_price=details.ticket_price,
        saga_id=body.saga_id,
        metadata=body.metadata,
    )
