"""Messages as the event and reservation services publish them (brief's contract), and a
poll-with-deadline helper for their asynchronous effects."""

from typing import Any, TypeVar

from shared.messaging.envelope import Envelope, new_envelope

T = TypeVar("T")


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
        "ticketPrice": 15000.0,
        "createdAt": "2030-01-01T00:00:00+00:00",
        "updatedAt": "2030-01-01T00:00:00+00:00",
        "version": version,
    }
    data.update(fields)
    data["availableSeats"] = data["totalCapacity"] - data["bookedSeats"]
    return data


def event_message(kind: str, data: dict[str, Any], seats: int | None = None) -> Envelope:
    payload = dict(data)
    if seats is not None:
        payload["seats"] = seats
    return new_envelope(f"event.{kind}", "EVENT", data["id"], payload)


def reservation_message(
    kind: str, reservation_id: str, event_id: int, *, version: int, seats: int, amount: float
) -> Envelope:
    data = {
        "id": reservation_id,
        "eventId": event_id,
        "userId": "user-1",
        "userDetails": {"name": "Awa", "email": "awa@example.com", "phone": None},
        "bookingDetails": {"seats": seats, "totalAmount": amount, "currency": "XOF"},
        "status": kind,
        "sagaId": None,
        "timeline": [],
        "metadata": {},
        "version": version,
        "createdAt": "2030-01-01T00:00:00+00:00",
        "updatedAt": "2030-01-01T00:00:00+00:00",
    }
    return new_envelope(f"reservation.{kind}", "RESERVATION", reservation_id, data)
