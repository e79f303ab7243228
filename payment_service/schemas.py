"""Payment request and answer bodies: camelCase out; camelCase or the original's snake_case in
(reservation_id, user_id, payment_method)."""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from payment_service.domain import Method, NewPayment, Payment, Status
from shared.money import Amount, Currency, priced_in
from shared.schemas import ApiInput, ApiModel, UtcDateTime


def _id_as_text(value: object) -> object:
    # The original's clients send numeric user ids; ids are text here (Mongo ObjectIds too).
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


ExternalId = Annotated[str, BeforeValidator(_id_as_text), Field(min_length=1, max_length=64)]
UserId = Annotated[str, BeforeValidator(_id_as_text), Field(min_length=1, max_length=128)]
# The currency is validated before the amount (declared first), which is checked against it.
PositiveAmount = Annotated[Amount, Field(gt=Decimal(0)), priced_in("currency")]


class PaymentIn(ApiInput):
    reservation_id: ExternalId
    user_id: UserId
    currency: Currency = "XOF"
    amount: PositiveAmount
    payment_method: Method


class StatusChangeIn(ApiInput):
    status: Status
    reason: str | None = Field(default=None, max_length=500)
    version: int | None = Field(default=None, ge=1, description="the version last read (or If-Match)")


class CompensationIn(ApiInput):
    reason: str | None = Field(default=None, max_length=500)


class PaymentOut(ApiModel):
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
    return NewPayment(body.reservation_id, body.user_id, body.amount, body.currency, body.payment_method)
