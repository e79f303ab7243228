"""Events as the event service answers them, and the messages the event and reservation
services publish about them (the models of shared.contracts)."""

from typing import Any

from analytics_service.messaging import Projection
from shared.contracts import MESSAGES, Envelope, ReservationMessage, RoutingKey
from shared.money import Money
from tests.messages import a_reservation


def event_data(event_id: int, version: int, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": event_id,
        "name": "Concert Youssou N'Dour",
        "description": "Live at the arena",
        "eventDate": "2030-12-25T20:00:00+00:00",
        "location": "Dakar Arena",
        "category": "concert",
        "totalCapacity": 100,
        "bookedSeats": 0,
        "ticketPrice": "15000",
        "createdAt": "2030-01-01T00:00:00+00:00",
        "updatedAt": "2030-01-01T00:00:00+00:00",
        "version": version,
    }
    data.update(fields)
    data["availableSeats"] = data["totalCapacity"] - data["bookedSeats"]
    return data


def event_message(kind: str, data: dict[str, Any], seats: int | None = None) -> Envelope:
    """`data` is the event as GET answers it (event_data)."""
    payload = {**data, "ticketPrice": Money.of(data["ticketPrice"], "XOF")}
    if seats is not None:
        payload["seats"] = seats
    return MESSAGES[RoutingKey(f"event.{kind}")].model_validate(payload).envelope()


def reservation_message(
    kind: str, reservation_id: str, event_id: int, *, version: int, seats: int, amount: float
) -> Envelope:
    model = MESSAGES[RoutingKey(f"reservation.{kind}")]
    assert issubclass(model, ReservationMessage)
    return a_reservation(
        model, reservation_id, event_id, version=version, seats=seats, amount=amount
    ).envelope()


async def project(projection: Projection, *envelopes: Envelope) -> None:
    """Hand messages to the projection as the broker does (one batch); a message whose outcome
    is a failure raises it."""
    for outcome in await projection.handle_batch(list(envelopes)):
        if outcome is not None:
            raise outcome
