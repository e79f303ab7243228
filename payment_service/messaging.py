"""What the payment service publishes: payment.completed|failed|refunded (docs/design.md §7), each
carrying the payment as GET answers it. Written to the outbox by the store, in the transaction
of the change; the relay publishes them. It consumes nothing."""

from payment_service.domain import Payment
from payment_service.schemas import payment_view
from shared.messaging.envelope import Envelope, new_envelope

AGGREGATE_TYPE = "PAYMENT"
ROUTING_KEYS = ("payment.completed", "payment.failed", "payment.refunded")


def payment_message(routing_key: str, payment: Payment) -> Envelope:
    assert routing_key in ROUTING_KEYS, routing_key
    return new_envelope(routing_key, AGGREGATE_TYPE, payment.id, payment_view(payment))
