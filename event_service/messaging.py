"""Messages the event service publishes (docs/design.md §7); it consumes none.

Each is written to the outbox in the transaction of its change, so a message exists exactly
when its change does; the relay publishes it to the exchange with the type as routing key."""

from event_service.domain import Event
from event_service.schemas import event_view
from shared.messaging.envelope import Envelope, new_envelope

AGGREGATE_TYPE = "EVENT"

EVENT_CREATED = "event.created"
EVENT_UPDATED = "event.updated"
EVENT_DELETED = "event.deleted"
SEATS_BOOKED = "event.seats_booked"
SEATS_RELEASED = "event.seats_released"


def event_message(type: str, event: Event, *, seats: int | None = None) -> Envelope:
    """The data is the event as GET answers it; seat messages add how many seats moved."""
    data = event_view(event)
    if seats is not None:
        data["seats"] = seats
    return new_envelope(type, AGGREGATE_TYPE, event.id, data)
