"""Messages the event service publishes (DESIGN §7); it consumes none.

Each is written to the outbox in the transaction of its change, so a message exists exactly
when its change does; the relay publishes it to the exchange with the type as routing key."""

from typing import Any

from shared.messaging.envelope import Envelope, new_envelope

AGGREGATE_TYPE = "EVENT"

EVENT_CREATED = "event.created"
EVENT_UPDATED = "event.updated"
EVENT_DELETED = "event.deleted"
SEATS_BOOKED = "event.seats_booked"
SEATS_RELEASED = "event.seats_released"


def event_message(type: str, view: dict[str, Any], *, seats: int | None = None) -> Envelope:
    """`view` is the event as GET answers it; seat messages add how many seats moved."""
    data = dict(view)
    if seats is not None:
        data["seats"] = seats
    return new_envelope(type, AGGREGATE_TYPE, view["id"], data)
