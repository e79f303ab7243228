"""What the Reservation service publishes: `reservation.created|confirmed|cancelled|refunded`
(aggregate RESERVATION), each carrying the reservation as GET answers it. They travel in the
document's `outbox` array, written with the change itself, and MongoOutboxRelay sends them."""

from typing import Any

from reservation_service.schemas import ReservationOut
from shared.messaging.envelope import Envelope, new_envelope

AGGREGATE_TYPE = "RESERVATION"


def as_wire(doc: dict[str, Any]) -> dict[str, Any]:
    """The reservation as the API answers it (camelCase, JSON types)."""
    return ReservationOut.model_validate(doc).model_dump(mode="json", by_alias=True)


def reservation_message(routing_key: str, doc: dict[str, Any]) -> Envelope:
    return new_envelope(routing_key, AGGREGATE_TYPE, doc["id"], as_wire(doc))
