"""Notification service wire models. Input accepts camelCase and the snake_case the original
service used (user_id, user_email, reservation_id, event_name, amount…); `email` is taken for
`user_email` too."""

from typing import Annotated, Literal

from pydantic import AliasChoices, BeforeValidator, EmailStr, Field, StrictInt

from notification_service.domain import Delivery, Kind, kind_of
from shared.money import Amount, Currency, priced_in
from shared.schemas import ApiInput, ApiModel, UtcDateTime

Id = Annotated[str, Field(min_length=1, max_length=100)]
Text = Annotated[str, Field(max_length=500)]
# Each amount is checked against the currency declared before it.
PricedAmount = Annotated[Amount, priced_in("currency")]
Email = Annotated[EmailStr, Field(validation_alias=AliasChoices("userEmail", "user_email", "email"))]


class BookingNotificationIn(ApiInput):
    user_id: Id
    user_email: Email
    user_name: Annotated[str, Field(max_length=200)] | None = None
    reservation_id: Id | None = None
    event_id: StrictInt | Id | None = None
    event_name: Annotated[str, Field(max_length=300)] | None = None
    seats: Annotated[StrictInt, Field(ge=1)] | None = None
    currency: Currency = "XOF"
    amount: PricedAmount | None = None
    status: Literal["confirmed", "cancelled"] = "confirmed"
    reason: Text | None = None


class PaymentNotificationIn(ApiInput):
    user_id: Id
    user_email: Email
    user_name: Annotated[str, Field(max_length=200)] | None = None
    payment_id: Id | None = None
    reservation_id: Id | None = None
    currency: Currency = "XOF"
    amount: PricedAmount
    status: Literal["completed", "refunded", "failed"] = "completed"
    reason: Text | None = None


class NotificationOut(ApiModel):
    id: str
    user_id: str
    channel: str
    recipient: str | None
    type: Annotated[Kind, BeforeValidator(kind_of)]
    subject: str
    content: str
    status: Delivery
    attempts: int
    last_error: str | None = None
    message_id: str | None = None
    related_ids: dict[str, str]
    created_at: UtcDateTime
    sent_at: UtcDateTime | None = None
