"""What the orchestrator publishes (SAGA aggregate, aggregateId = sagaId): `booking.confirmed`
and `booking.compensated`, written to the outbox in the transaction that ends a booking saga;
`booking.cancelled`, written with the outcome of a cancellation's NOTIFY step, and
`booking.cancellation_failed`, with the end of a cancellation that did not happen."""

from saga_orchestrator.domain import Saga
from shared.messaging.envelope import Envelope, new_envelope

BOOKING_CONFIRMED = "booking.confirmed"
BOOKING_COMPENSATED = "booking.compensated"
BOOKING_CANCELLED = "booking.cancelled"
CANCELLATION_FAILED = "booking.cancellation_failed"
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


def cancellation_message(type_: str, saga: Saga, status: str, reason: str | None) -> Envelope:
    """The cancellation of a booking: what was refunded and released, for whom."""
    return new_envelope(
        type_,
        AGGREGATE,
        saga.id,
        {
            "sagaId": str(saga.id),
            "bookingSagaId": saga.context.get("bookingSagaId"),
            "status": status,
            "eventId": saga.event_id,
            "reservationId": saga.reservation_id,
            "paymentId": saga.payment_id,
            "userId": saga.user_id,
            "userName": saga.user_name,
            "userEmail": saga.user_email,
            "seats": saga.seats,
            "amount": float(saga.amount),
            "currency": saga.currency,
            "reason": reason,
        },
    )
