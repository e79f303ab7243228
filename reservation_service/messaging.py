"""What the Reservation service publishes: `reservation.created|confirmed|cancelled|refunded`
(aggregate RESERVATION, models in shared.contracts), each carrying the reservation as the
change leaves it. They travel in the document's `outbox` array, written with the change
itself, and MongoOutboxRelay sends them."""

from typing import Any

from reservation_service import domain
from shared.contracts import (
    MESSAGES,
    BookingDetails,
    Envelope,
    ReservationMessage,
    RoutingKey,
    TimelineEntry,
    UserDetails,
)
from shared.money import Money


def reservation_message(routing_key: RoutingKey, doc: dict[str, Any]) -> Envelope:
    """`doc` is the reservation as the store holds it (camelCase, money as Decimal)."""
    kind = MESSAGES[routing_key]
    assert issubclass(kind, ReservationMessage), routing_key
    details = doc["bookingDetails"]
    total = details.get("totalAmount")
    return kind(
        id=doc["id"],
        event_id=doc["eventId"],
        user_id=doc["userId"],
        user_details=UserDetails.model_validate(doc["userDetails"]),
        booking_details=BookingDetails(
            seats=details["seats"],
            currency=details["currency"],
            total_amount=None if total is None else Money.of(total, details["currency"]),
        ),
        status=doc["status"],
        saga_id=doc.get("sagaId"),
        seat_hold=doc.get("seatHold"),
        timeline=[TimelineEntry.model_validate(entry) for entry in doc.get("timeline", [])],
        metadata=doc.get("metadata", {}),
        version=doc["version"],
        created_at=doc["createdAt"],
        updated_at=doc["updatedAt"],
    ).envelope()


def created_message(doc: dict[str, Any]) -> Envelope:
    return reservation_message(domain.message_type(domain.Status.PENDING), doc)
