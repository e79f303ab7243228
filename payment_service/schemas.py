"""Payment request and answer bodies: camelCase out; camelCase or the original's snake_case in
(reservation_id, user_id, payment_method)."""

from typing import Annotated, Any

from pydantic import Field

from payment_service.domain import Method, NewPayment, Payment, Status
from shared.contracts.calls import PaymentAnswer, PaymentRequest, RefundRequest
from shared.money import Amount, priced_in
from shared.schemas import ApiInput, UtcDateTime

# The bodies the saga sends are the call contracts (shared/contracts/calls.py).
PaymentIn = PaymentRequest
CompensationIn = RefundRequest


class StatusChangeIn(ApiInput):
    status: Status
    reason: str | None = Field(default=None, max_length=500)
    version: int | None = Field(default=None, ge=1, description="the version last read (or If-Match)")


class PaymentOut(PaymentAnswer):
    id: int
    reservation_id: str
    user_id: str
    currency: str
    amount: Annotated[Amount, priced_in("currency")]
    payment_method: Method
    status: Status
    failure_reason: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    version: int


def payment_view(payment: Payment) -> dict[str, Any]:
    """The payment as GET answers it (camelCase JSON); also the cache value and message data."""
    return PaymentOut.model_validate(payment, from_attributes=True).model_dump(mode="json", by_alias=True)


def new_payment(body: PaymentIn) -> NewPayment:
    return NewPayment(
        body.reservation_id, body.user_id, body.amount, body.currency, Method(body.payment_method)
    )
