"""Messages the event service publishes (event.created|updated|deleted|seats_booked|
seats_released, models in shared.contracts; docs/design.md §7); it consumes none.

Each is written to the outbox in the transaction of its change, so a message exists exactly
when its change does; the relay publishes it to the exchange with its routing key."""

from dataclasses import fields
from typing import Any

from event_service.domain import Event
from shared import contracts
from shared.contracts import Envelope
from shared.money import PRICING_CURRENCY, Money


def _event_fields(event: Event) -> dict[str, Any]:
    # Every field of the record, with its price as money and the seats it can still sell.
    return {
        **{field.name: getattr(event, field.name) for field in fields(event)},
        "available_seats": event.available_seats,
        "ticket_price": Money.of(event.ticket_price, PRICING_CURRENCY),
    }


def event_message(kind: type[contracts.EventMessage], event: Event) -> Envelope:
    """The event as the change leaves it, announced under `kind`."""
    return kind(**_event_fields(event)).envelope()


def seats_message(kind: type[contracts.SeatsMoved], event: Event, seats: int) -> Envelope:
    """The event after a booking or a release of `seats` seats."""
    return kind(**_event_fields(event), seats=seats).envelope()
