"""Messages the event service publishes (event.created|updated|deleted|seats_booked|
seats_released, models in shared.contracts; docs/design.md §7); it consumes none.

Each is written to the outbox in the transaction of its change, so a message exists exactly
when its change does; the relay publishes it to the exchange with its routing key."""

from typing import Any

from event_service.domain import Event
from shared import contracts
from shared.contracts import Envelope
from shared.money import PRICING_CURRENCY, Money


def _event_fields(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "name": event.name,
        "description": event.description,
        "event_date": event.event_date,
        "location": event.location,
        "category": event.category,
        "total_capacity": event.total_capacity,
        "booked_seats": event.booked_seats,
        "available_seats": event.available_seats,
        "ticket_price": Money.of(event.ticket_price, PRICING_CURRENCY),
        "created_at": event.created_at,
        "updated_at": event.updated_at,
        "version": event.version,
    }


def event_message(kind: type[contracts.EventMessage], event: Event) -> Envelope:
    """The event as the change leaves it, announced under `kind`."""
    return kind(**_event_fields(event)).envelope()


def seats_message(kind: type[contracts.SeatsMoved], event: Event, seats: int) -> Envelope:
    """The event after a booking or a release of `seats` seats."""
    return kind(**_event_fields(event), seats=seats).envelope()
