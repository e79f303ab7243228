"""What the orchestrator publishes (SAGA aggregate, aggregateId = sagaId; models in
shared.contracts): `booking.confirmed` and `booking.compensated`, written to the outbox in the
transaction that ends a booking saga; `booking.cancelled`, written with the outcome of a
cancellation's NOTIFY step, and `booking.cancellation_failed`, with the end of a cancellation
that did not happen."""

from saga_orchestrator.domain import Saga
from shared.contracts import BookingMessage, CancellationMessage, Envelope
from shared.money import Money


def booking_message(kind: type[BookingMessage], saga: Saga, status: str, reason: str | None) -> Envelope:
    request = saga.request
    return kind(
        saga_id=str(saga.id),
        status=status,
        event_id=saga.event_id,
        reservation_id=saga.reservation_id,
        payment_id=saga.payment_id,
        user_id=request["userId"],
        user_name=request["userName"],
        user_email=request["userEmail"],
        seats=saga.seats,
        amount=Money.of(saga.amount, saga.currency),
        reason=reason,
    ).envelope()


def cancellation_message(
    kind: type[CancellationMessage], saga: Saga, status: str, reason: str | None
) -> Envelope:
    """The cancellation of a booking: what was refunded and released, for whom."""
    return kind(
        saga_id=str(saga.id),
        booking_saga_id=saga.context.get("bookingSagaId"),
        status=status,
        event_id=saga.event_id,
        reservation_id=saga.reservation_id,
        payment_id=saga.payment_id,
        user_id=saga.user_id,
        user_name=saga.user_name,
        user_email=saga.user_email,
        seats=saga.seats,
        amount=Money.of(saga.amount, saga.currency),
        reason=reason,
    ).envelope()
