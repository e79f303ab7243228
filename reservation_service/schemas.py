"""Reservation service wire models: camelCase out, camelCase or snake_case in."""

from typing import Annotated, Any

from pydantic import AfterValidator, EmailStr, Field, StrictInt

from reservation_service.domain import NewReservation, SeatHold, Status
from shared.money import PRICING_CURRENCY, Amount, Currency, EventPriceIn, priced_in
from shared.schemas import ApiInput, ApiModel, UtcDateTime

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
Name = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(max_length=500)]


class UserDetailsIn(ApiInput):
    name: Name
    email: EmailStr
    phone: Annotated[str, Field(max_length=40)] | None = None


class BookingDetailsIn(ApiInput):
    # StrictInt: "2" or 2.5 is refused, never coerced into a seat count.
    seats: Annotated[StrictInt, Field(ge=1, le=10_000)]
    currency: Currency = PRICING_CURRENCY
    # Only with a sagaId: the price the saga checked against the event service when it began
    # and charges; the reservation then records the amount actually paid. An event's price.
    ticket_price: EventPriceIn | None = None


class ReservationIn(ApiInput):
    event_id: Annotated[StrictInt, Field(ge=1, le=MAX_INT64)]
    user_id: Annotated[str, Field(min_length=1, max_length=100)]
    user_details: UserDetailsIn
    booking_details: BookingDetailsIn
    saga_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    metadata: Metadata = Field(default_factory=dict, max_length=50)


class StatusChange(ApiInput):
    status: Status
    reason: Reason = ""
    updated_by: Annotated[str, Field(min_length=1, max_length=100)] = "api"
    version: Annotated[StrictInt, Field(ge=1)] | None = None


class Cancellation(ApiInput):
    reason: Reason = ""
    updated_by: Annotated[str, Field(min_length=1, max_length=100)] = "api"
    version: Annotated[StrictInt, Field(ge=1)] | None = None


class Reinstatement(Cancellation):
    # The Idempotency-Key of a cancel (…/compensate) its caller gave up on: refused from now on.
    fence_key: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7E]+$")] | None = None


class UserDetailsOut(ApiModel):
    name: str
    email: str
    phone: str | None = None


class BookingDetailsOut(ApiModel):
    seats: int
    currency: str
    total_amount: Annotated[Amount, priced_in("currency")] | None


class TimelineEntryOut(ApiModel):
    status: Status
    timestamp: UtcDateTime
    reason: str
    updated_by: str


class ReservationOut(ApiModel):
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
