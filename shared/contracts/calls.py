"""The HTTP calls between services: one model per request body a service sends another, and one
per answer it reads, as the message contracts are for messages.

A request model is the receiver's body model (the receiver's route takes it, or a subclass that
adds fields only outside callers send), and the caller builds its body with it: a field renamed
or tightened on one side is renamed or tightened on both. An answer model holds the fields a
caller reads; the receiver's answer model extends it, so the receiver cannot stop answering
one of them, and the caller reads the rest of the answer as it comes (extra fields ignored).
"""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, EmailStr, Field, StrictInt

from shared.money import PRICING_CURRENCY, Amount, Currency, EventMoney, EventPriceIn, priced_in
from shared.schemas import ApiInput, ApiModel, UtcDateTime

MAX_INT64 = 2**63 - 1
# Upper bound of one booking's or release's seats at the event service; also keeps every value
# inside a PostgreSQL integer.
MAX_SEATS_PER_REQUEST = 1_000_000

Reason = Annotated[str, Field(max_length=500)]
Actor = Annotated[str, Field(min_length=1, max_length=100)]
Seats = Annotated[StrictInt, Field(ge=1, le=10_000)]
ReservationStatus = Literal["pending", "confirmed", "cancelled", "refunded"]


def _id_as_text(value: object) -> object:
    # The original's clients send numeric user ids; ids are text here (Mongo ObjectIds too).
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


ExternalId = Annotated[str, BeforeValidator(_id_as_text), Field(min_length=1, max_length=64)]
UserId = Annotated[str, BeforeValidator(_id_as_text), Field(min_length=1, max_length=128)]
# The currency is validated before the amount (declared first), which is checked against it.
PositiveAmount = Annotated[Amount, Field(gt=Decimal(0)), priced_in("currency")]


class PaymentMethod(StrEnum):
    CARD = "card"
    MOBILE_MONEY = "mobile_money"
    BANK_TRANSFER = "bank_transfer"


class CallRequest(ApiInput):
    def wire(self) -> dict[str, Any]:
        """The body as the caller sends it: camelCase JSON, the fields it set (the receiver
        applies the same defaults)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class CallAnswer(ApiModel):
    """The part of an answer a caller reads; the rest is ignored, never refused."""

    model_config = ConfigDict(extra="ignore")


# --- event service: POST /api/events/{id}/book and /release -----------------------------------


class SeatsRequest(CallRequest):
    """The body of a booking or a release. The event service reads it loosely on purpose
    (every bad shape of `seats` is the handout's 400), against this model's schema."""

    seats: Annotated[StrictInt, Field(ge=1, le=MAX_SEATS_PER_REQUEST)]


class EventAnswer(CallAnswer):
    """GET /api/events/{id}, as the saga and the reservation service read it."""

    id: int
    event_date: UtcDateTime
    ticket_price: EventMoney


# --- reservation service ----------------------------------------------------------------------


class UserDetailsRequest(CallRequest):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: EmailStr
    phone: Annotated[str, Field(max_length=40)] | None = None


class BookingDetailsRequest(CallRequest):
    # StrictInt: "2" or 2.5 is refused, never coerced into a seat count.
    seats: Seats
    currency: Currency = PRICING_CURRENCY
    # Only with a sagaId: the price the saga checked against the event service when it began
    # and charges; the reservation then records the amount actually paid. An event's price.
    ticket_price: EventPriceIn | None = None


class ReservationRequest(CallRequest):
    """POST /api/reservations (the saga's CREATE_RESERVATION; clients add metadata)."""

    event_id: Annotated[StrictInt, Field(ge=1, le=MAX_INT64)]
    user_id: Actor
    user_details: UserDetailsRequest
    booking_details: BookingDetailsRequest
    saga_id: Actor | None = None


class ReservationStatusRequest(CallRequest):
    """PUT /api/reservations/{id}/status (the saga's CONFIRM_RESERVATION)."""

    status: ReservationStatus
    reason: Reason = ""
    updated_by: Actor = "api"
    version: Annotated[StrictInt, Field(ge=1)] | None = None


class ReservationCancelRequest(CallRequest):
    """POST /api/reservations/{id}/compensate (and /cancel)."""

    reason: Reason = ""
    updated_by: Actor = "api"
    version: Annotated[StrictInt, Field(ge=1)] | None = None


class ReinstateRequest(ReservationCancelRequest):
    """POST /api/reservations/{id}/reinstate."""

    # The Idempotency-Key of a cancel (…/compensate) its caller gave up on: refused from now on.
    fence_key: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7E]+$")] | None = None


class BookingDetailsAnswer(CallAnswer):
    seats: int
    currency: str
    total_amount: Amount | None = None


class UserDetailsAnswer(CallAnswer):
    name: str | None = None
    email: str | None = None


class ReservationAnswer(CallAnswer):
    """GET /api/reservations/{id} and the created reservation, as the saga reads them."""

    id: str
    event_id: int
    user_id: str
    status: str  # a ReservationStatus: read as text, so a new status is not a garbled answer
    booking_details: BookingDetailsAnswer
    user_details: UserDetailsAnswer = Field(default_factory=UserDetailsAnswer)
    saga_id: str | None = None


# --- payment service --------------------------------------------------------------------------


class PaymentRequest(CallRequest):
    """POST /api/payments (the saga's PROCESS_PAYMENT)."""

    reservation_id: ExternalId
    user_id: UserId
    currency: Currency = PRICING_CURRENCY
    amount: PositiveAmount
    payment_method: PaymentMethod


class RefundRequest(CallRequest):
    """POST /api/payments/{id}/compensate."""

    reason: Reason | None = None


class PaymentAnswer(CallAnswer):
    """A payment as the saga reads it (its charge, its refund, a listing's item)."""

    id: int
    status: str  # pending, completed, failed, refunding, refunded, refund_failed
    # The currency first: an answer model that extends this one checks the amount against it.
    currency: str
    amount: Amount
    failure_reason: str | None = None


class PaymentsAnswer(CallAnswer):
    """GET /api/payments?reservationId=…: a page of them."""

    items: list[PaymentAnswer]


# --- saga orchestrator ------------------------------------------------------------------------


class CancellationRequest(CallRequest):
    """POST /api/saga/cancellation (the reservation service hands a saga's booking over)."""

    reservation_id: Annotated[str, Field(min_length=1, max_length=64, pattern="^[A-Za-z0-9_-]+$")]
    reason: Reason = ""
    # When given, the reservation's user must be this one (403 otherwise).
    user_id: Actor | None = None


class SagaStarted(CallAnswer):
    saga_id: str
    status: str


# --- every participant: PUT …/fences/{key} ----------------------------------------------------


class FenceAnswer(CallAnswer):
    """A participant's word on a keyed call its caller gave up on (PUT …/fences/{key})."""

    idempotency_key: str
    fenced: bool = Field(
        description="true: nothing was done under the key, and a late copy of the call will be "
        "refused (409); false: the call was done, `statusCode` and `answer` are its answer"
    )
    status_code: int | None = None
    answer: dict[str, Any] | None = None
