"""Wire shapes of the event service: what clients may send, and what every answer carries."""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from event_service.domain import Event, SeatsMoved
from shared.contracts.calls import EventAnswer
from shared.money import EVENT_PRICE_CHECK, Amount, EventMoney
from shared.schemas import ApiInput, ApiModel, UtcDateTime
from shared.versions import MAX_VERSION

MAX_CAPACITY = 1_000_000
# ticket_price is NUMERIC(12,2): a larger price would fail in the database, so refuse it here.
MAX_PRICE = Decimal("9999999999.99")

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Location = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=5000)]
Category = Annotated[str, StringConstraints(max_length=100)]
Capacity = Annotated[int, Field(strict=True, ge=1, le=MAX_CAPACITY)]
# Events are priced in the platform's currency, which has no minor unit: 15000.55 is a 422.
Price = Annotated[Amount, Field(ge=0, le=MAX_PRICE), EVENT_PRICE_CHECK]


class EventIn(ApiInput):
    """A new event. id, version and bookedSeats are the server's: sending them is a 422."""

    name: Name
    description: Description | None = None
    event_date: UtcDateTime
    location: Location
    category: Category | None = None
    total_capacity: Capacity
    ticket_price: Price


class EventChange(ApiInput):
    """PUT body: the fields to change, and optionally the version the client read (else If-Match)."""

    name: Name | None = None
    description: Description | None = None
    event_date: UtcDateTime | None = None
    location: Location | None = None
    category: Category | None = None
    total_capacity: Capacity | None = None
    ticket_price: Price | None = None
    version: Annotated[int, Field(strict=True, ge=1, le=MAX_VERSION)] | None = None


class EventOut(EventAnswer):
    id: int
    name: str
    description: str | None
    event_date: UtcDateTime
    location: str
    category: str | None
    total_capacity: int
    booked_seats: int
    available_seats: int
    ticket_price: EventMoney
    created_at: UtcDateTime
    updated_at: UtcDateTime
    version: int


class SeatsAnswer(ApiModel):
    """REST1's answer to a book or release."""

    success: bool
    message: str
    event_id: int
    seats_booked: int | None = None
    seats_released: int | None = None


def event_view(event: Event) -> dict[str, Any]:
    """The event as GET answers it (JSON-ready)."""
    return EventOut.model_validate(event, from_attributes=True).model_dump(mode="json", by_alias=True)


def seats_answer(moved: SeatsMoved, *, booked: bool) -> dict[str, Any]:
    """REST1's answer to a book (`booked`) or a release, JSON-ready."""
    if booked:
        answer = SeatsAnswer(
            success=True,
            message=f"Successfully booked {moved.seats} seats",
            event_id=moved.event_id,
            seats_booked=moved.seats,
        )
    else:
        answer = SeatsAnswer(
            success=True,
            message=f"Successfully released {moved.seats} seats",
            event_id=moved.event_id,
            seats_released=moved.seats,
        )
    return answer.model_dump(mode="json", by_alias=True, exclude_none=True)
