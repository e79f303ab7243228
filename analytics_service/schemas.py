"""Wire shapes of the analytics API: camelCase out, camelCase or snake_case in."""

from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import Field, PlainSerializer, model_validator

from shared.money import EventMoney
from shared.schemas import ApiInput, ApiModel, UtcDateTime

# A percentage with two decimals; a JSON number on the wire.
Rate = Annotated[Decimal, PlainSerializer(lambda d: float(d), return_type=float, when_used="json")]
Count = Annotated[int, Field(ge=0, le=10_000_000)]
NonNegativeMoney = Annotated[EventMoney, Field(ge=0)]


class EventAnalyticsOut(ApiModel):
    event_id: int
    name: str | None = None
    description: str | None = None
    location: str | None = None
    category: str | None = None
    event_date: UtcDateTime | None = None
    total_capacity: int
    booked_seats: int
    available_seats: int
    occupancy_rate: Rate
    ticket_price: EventMoney
    revenue: EventMoney
    confirmed_reservations: int
    updated_at: UtcDateTime | None = None
    event_version: int

    @classmethod
    def of(cls, doc: dict[str, Any]) -> "EventAnalyticsOut":
        return cls.model_validate({k: v for k, v in doc.items() if k in _OUT_FIELDS})


_OUT_FIELDS = {f.alias for f in EventAnalyticsOut.model_fields.values()}


class EventAnalyticsIn(ApiInput):
    """An event document indexed by hand (the consumer does it from messages)."""

    event_id: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    location: str = Field(min_length=1, max_length=200)
    category: str | None = Field(None, max_length=100)
    event_date: UtcDateTime
    total_capacity: Count
    booked_seats: Count = 0
    ticket_price: NonNegativeMoney
    revenue: NonNegativeMoney = Decimal(0)
    confirmed_reservations: Count = 0
    version: int = Field(0, ge=0, description="the event's version in the event service, if known")

    @model_validator(mode="after")
    def _seats_fit(self) -> Self:
        if self.booked_seats > self.total_capacity:
            raise ValueError("bookedSeats cannot exceed totalCapacity")
        return self


class MetricsUpdate(ApiInput):
    """A manual correction of an event's counters; at least one field. Occupancy and
    available seats follow. The next message from the event or reservation service
    overwrites what it owns."""

    booked_seats: Count | None = None
    total_capacity: Count | None = None
    ticket_price: NonNegativeMoney | None = None
    revenue: NonNegativeMoney | None = None
    confirmed_reservations: Count | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if all(value is None for value in self.model_dump().values()):
            raise ValueError(
                "give at least one of bookedSeats, totalCapacity, ticketPrice, revenue, confirmedReservations"
            )
        return self


class Totals(ApiModel):
    total_events: int
    total_capacity: int
    total_booked_seats: int
    total_available_seats: int
    total_revenue: EventMoney
    confirmed_reservations: int
    average_occupancy_rate: Rate = Field(description="mean of the events' occupancy rates")
    occupancy_rate: Rate = Field(description="all booked seats over all capacity")


class _Location(ApiModel):
    location: str


class LocationTotals(Totals, _Location):
    """Totals of one location (location first on the wire)."""
