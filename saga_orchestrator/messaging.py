"""What the orchestrator publishes: `booking.confirmed` and `booking.compensated` (SAGA
aggregate), written to the outbox in the transaction that ends the saga."""

from saga_orchestrator.domain import Saga
from shared.messaging.envelope import Envelope, new_envelope

BOOKING_CONFIRMED = "booking.confirmed"
BOOKING_COMPENSATED = "booking.compensated"
AGGREGATE = "SAGA"


def booking_message(type_: str, saga: Saga, status: str, reason: str | None) -> Envelope:
    request = saga.request
    return new_envelope(
        type_,
        AGGREGATE,
        saga.id,
        {
            "sagaId": str(saga.id),
            "status": status,
            "eventId": saga.event_id,
            "reservationId": saga.reservation_id,
            "paymentId": saga.payment_id,
            "userId": request["userId"],
            "userName": request["userName"],
            "userEmail": request["userEmail"],
            "seats": saga.seats,
            "amount": float(saga.amount),
            "currency": saga.currency,
            "reason": reason,
        },
    )
