"""What the payment service publishes: payment.completed|failed|refunded (models in
shared.contracts; docs/design.md §7), each carrying the payment as the change leaves it.
Written to the outbox by the store, in the transaction of the change; the relay publishes
them. It consumes nothing."""

from payment_service.domain import Payment
from shared.contracts import MESSAGES, Envelope, PaymentMessage, RoutingKey
from shared.money import Money


def payment_message(routing_key: RoutingKey, payment: Payment) -> Envelope:
    kind = MESSAGES[routing_key]
    assert issubclass(kind, PaymentMessage), routing_key
    return kind(
        id=payment.id,
        reservation_id=payment.reservation_id,
        user_id=payment.user_id,
        amount=Money.of(payment.amount, payment.currency),
        payment_method=payment.payment_method.value,
        status=payment.status.value,
        failure_reason=payment.failure_reason,
        created_at=payment.created_at,
        updated_at=payment.updated_at,
        version=payment.version,
    ).envelope()
