"""One model per routing key the fleet publishes: the `data` of its envelope.

Producers build these models and consumers parse them; they are not the REST answers (a REST
field can be renamed without changing a message, and the other way round). Routing keys are
spelled here only, in RoutingKey.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic.alias_generators import to_camel

from shared.contracts.envelope import Envelope, UnreadableMessage, new_envelope
from shared.money import PRICING_CURRENCY, Currency, Money


class RoutingKey(StrEnum):
    EVENT_CREATED = "event.created"
    EVENT_UPDATED = "event.updated"
    EVENT_DELETED = "event.deleted"
    EVENT_SEATS_BOOKED = "event.seats_booked"
    EVENT_SEATS_RELEASED = "event.seats_released"
    RESERVATION_CREATED = "reservation.created"
    RESERVATION_CONFIRMED = "reservation.confirmed"
    RESERVATION_CANCELLED = "reservation.cancelled"
    RESERVATION_REFUNDED = "reservation.refunded"
    PAYMENT_COMPLETED = "payment.completed"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REFUNDED = "payment.refunded"
    BOOKING_CONFIRMED = "booking.confirmed"
    BOOKING_COMPENSATED = "booking.compensated"
    BOOKING_CANCELLED = "booking.cancelled"
    BOOKING_CANCELLATION_FAILED = "booking.cancellation_failed"

    @property
    def aggregate(self) -> str:
        """The aggregate the key is about: "event", "reservation"…"""
        return self.value.split(".", 1)[0]

    @property
    def action(self) -> str:
        """What happened to it: "created", "seats_booked"…"""
        return self.value.split(".", 1)[1]


def _version(info: ValidationInfo) -> int:
    context = info.context if isinstance(info.context, dict) else {}
    return int(context.get("schemaVersion", 2))


def _money_v1(value: Any, currency: Any) -> Any:
    # Version 1 wrote money as a bare JSON number next to (or, for events, without) its currency.
    if value is None or isinstance(value, dict | Money):
        return value
    return {"amount": value, "currency": currency or PRICING_CURRENCY}


class Contract(BaseModel):
    """Base of message parts: camelCase on the wire, no field outside the contract."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        frozen=True,
        extra="forbid",
        json_schema_serialization_defaults_required=True,  # a producer always writes every field
    )

    # Version 1 wrote this money field (camelCase) as a bare JSON number; the currency came from
    # the "currency" member beside it (PRICING_CURRENCY when absent), a member that stays in the
    # model or, with v1_currency_dropped, was version 1's only.
    v1_money_field: ClassVar[str | None] = None
    v1_currency_dropped: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _from_v1(cls, data: Any, info: ValidationInfo) -> Any:
        field = cls.v1_money_field
        if field is None or _version(info) != 1 or not isinstance(data, dict) or field not in data:
            return data
        data = dict(data)
        currency = data.pop("currency", None) if cls.v1_currency_dropped else data.get("currency")
        data[field] = _money_v1(data[field], currency)
        return data


class Message(Contract):
    """A domain message: the routing key it is published under and the aggregate it is about."""

    routing_key: ClassVar[RoutingKey]
    aggregate_type: ClassVar[str]
    # The field that holds the id of the aggregate the message is about.
    aggregate_field: ClassVar[str] = "id"

    @property
    def aggregate_id(self) -> str:
        return str(getattr(self, self.aggregate_field))

    def envelope(self, *, causation_id: str | None = None, occurred_at: datetime | None = None) -> Envelope:
        """This message in an envelope, for a change made now in the current correlation."""
        return new_envelope(
            self.routing_key,
            self.aggregate_type,
            self.aggregate_id,
            self.model_dump(mode="json"),
            causation_id=causation_id,
            occurred_at=occurred_at,
        )


# --- event service ----------------------------------------------------------------------------


class EventMessage(Message):
    """The event as it is after the change."""

    aggregate_type: ClassVar[str] = "EVENT"
    v1_money_field = "ticketPrice"  # events had no currency: PRICING_CURRENCY

    id: int
    name: str
    description: str | None
    event_date: datetime
    location: str
    category: str | None
    total_capacity: int
    booked_seats: int
    available_seats: int
    ticket_price: Money
    created_at: datetime
    updated_at: datetime
    version: int


class EventCreated(EventMessage):
    routing_key = RoutingKey.EVENT_CREATED


class EventUpdated(EventMessage):
    routing_key = RoutingKey.EVENT_UPDATED


class EventDeleted(EventMessage):
    """The event as it was when deleted."""

    routing_key = RoutingKey.EVENT_DELETED


class SeatsMoved(EventMessage):
    seats: int = Field(ge=1, description="how many seats this change booked or released")


class EventSeatsBooked(SeatsMoved):
    routing_key = RoutingKey.EVENT_SEATS_BOOKED


class EventSeatsReleased(SeatsMoved):
    routing_key = RoutingKey.EVENT_SEATS_RELEASED


# --- reservation service ----------------------------------------------------------------------

ReservationStatus = Literal["pending", "confirmed", "cancelled", "refunded"]
SeatHold = Literal["requested", "held", "refused", "resolving", "releasing", "released"]


class UserDetails(Contract):
    name: str
    email: str
    phone: str | None = None


class BookingDetails(Contract):
    v1_money_field = "totalAmount"

    seats: int
    currency: Currency
    total_amount: Money | None = Field(description="none until the price is known")


class TimelineEntry(Contract):
    status: ReservationStatus
    timestamp: datetime
    reason: str
    updated_by: str


class ReservationMessage(Message):
    """The reservation as it is after the change."""

    aggregate_type: ClassVar[str] = "RESERVATION"

    id: str
    event_id: int
    user_id: str
    user_details: UserDetails
    booking_details: BookingDetails
    status: ReservationStatus
    saga_id: str | None = None
    seat_hold: SeatHold | None = None
    timeline: list[TimelineEntry]
    metadata: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime


class ReservationCreated(ReservationMessage):
    routing_key = RoutingKey.RESERVATION_CREATED


class ReservationConfirmed(ReservationMessage):
    routing_key = RoutingKey.RESERVATION_CONFIRMED


class ReservationCancelled(ReservationMessage):
    routing_key = RoutingKey.RESERVATION_CANCELLED


class ReservationRefunded(ReservationMessage):
    routing_key = RoutingKey.RESERVATION_REFUNDED


# --- payment service --------------------------------------------------------------------------

PaymentStatus = Literal["pending", "completed", "failed", "refunding", "refunded", "refund_failed"]
PaymentMethod = Literal["card", "mobile_money", "bank_transfer"]


class PaymentMessage(Message):
    """The payment as it is after the change."""

    aggregate_type: ClassVar[str] = "PAYMENT"
    v1_money_field = "amount"
    v1_currency_dropped = True

    id: int
    reservation_id: str
    user_id: str
    amount: Money
    payment_method: PaymentMethod
    status: PaymentStatus
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class PaymentCompleted(PaymentMessage):
    routing_key = RoutingKey.PAYMENT_COMPLETED


class PaymentFailed(PaymentMessage):
    routing_key = RoutingKey.PAYMENT_FAILED


class PaymentRefunded(PaymentMessage):
    routing_key = RoutingKey.PAYMENT_REFUNDED


# --- saga orchestrator ------------------------------------------------------------------------


class SagaMessage(Message):
    """How a saga ended, with what the customer needs to be told."""

    aggregate_type: ClassVar[str] = "SAGA"
    aggregate_field = "saga_id"
    v1_money_field = "amount"
    v1_currency_dropped = True

    saga_id: str
    status: str = Field(description="the saga's final status")
    event_id: int
    reservation_id: str | None
    payment_id: str | None
    user_id: str
    seats: int
    amount: Money
    reason: str | None


class BookingMessage(SagaMessage):
    """How a booking saga ended."""

    user_name: str
    user_email: str


class BookingConfirmed(BookingMessage):
    routing_key = RoutingKey.BOOKING_CONFIRMED


class BookingCompensated(BookingMessage):
    routing_key = RoutingKey.BOOKING_COMPENSATED


class CancellationMessage(SagaMessage):
    """How a cancellation saga ended: what was refunded and released, for whom. Its sagaId is
    the cancellation's; bookingSagaId that of the booking it cancels."""

    booking_saga_id: str | None
    user_name: str | None
    user_email: str | None


class BookingCancelled(CancellationMessage):
    routing_key = RoutingKey.BOOKING_CANCELLED


class BookingCancellationFailed(CancellationMessage):
    routing_key = RoutingKey.BOOKING_CANCELLATION_FAILED


MESSAGES: dict[RoutingKey, type[Message]] = {
    model.routing_key: model
    for model in (
        EventCreated,
        EventUpdated,
        EventDeleted,
        EventSeatsBooked,
        EventSeatsReleased,
        ReservationCreated,
        ReservationConfirmed,
        ReservationCancelled,
        ReservationRefunded,
        PaymentCompleted,
        PaymentFailed,
        PaymentRefunded,
        BookingConfirmed,
        BookingCompensated,
        BookingCancelled,
        BookingCancellationFailed,
    )
}


def read(envelope: Envelope) -> Message:
    """The message an envelope carries, parsed into the model of its routing key, whichever
    accepted schemaVersion wrote it. UnreadableMessage when the key is not in the contract or
    the data does not fit its model."""
    try:
        model = MESSAGES[RoutingKey(envelope.type)]
    except ValueError:
        raise UnreadableMessage(f"routing key {envelope.type!r} is not in the contract") from None
    try:
        return model.model_validate(envelope.data, context={"schemaVersion": envelope.schema_version})
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors())
        raise UnreadableMessage(f"{envelope.type} v{envelope.schema_version}: {reasons}"[:900]) from None
