"""Notification rules: which message gives which notification, its subject and HTML content
(every value a user supplied is HTML-escaped), the simulated delivery outcome and the retry
delay. Plain code: no I/O, no clock."""

import html
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shared.contracts import BookingMessage, CancellationMessage, Message, PaymentMessage, RoutingKey
from shared.money import display


class Kind(StrEnum):
    """What a notification announces, spelt as the message that announces it (RoutingKey)."""

    BOOKING_CONFIRMED = RoutingKey.BOOKING_CONFIRMED.value
    BOOKING_COMPENSATED = RoutingKey.BOOKING_COMPENSATED.value  # the booking could not be completed
    BOOKING_CANCELLED = RoutingKey.BOOKING_CANCELLED.value  # cancelled as its user asked
    BOOKING_CANCELLATION_FAILED = RoutingKey.BOOKING_CANCELLATION_FAILED.value
    PAYMENT_COMPLETED = RoutingKey.PAYMENT_COMPLETED.value
    PAYMENT_REFUNDED = RoutingKey.PAYMENT_REFUNDED.value
    PAYMENT_FAILED = RoutingKey.PAYMENT_FAILED.value


# The spellings notifications were stored under before they took the routing key's: a stored
# notification is read through this (notifications are never queried by type).
LEGACY_KINDS: dict[str, Kind] = {
    "booking_confirmed": Kind.BOOKING_CONFIRMED,
    "booking_cancelled": Kind.BOOKING_COMPENSATED,
    "cancellation_confirmed": Kind.BOOKING_CANCELLED,
    "cancellation_failed": Kind.BOOKING_CANCELLATION_FAILED,
    "payment_completed": Kind.PAYMENT_COMPLETED,
    "payment_refunded": Kind.PAYMENT_REFUNDED,
    "payment_failed": Kind.PAYMENT_FAILED,
}


def kind_of(stored: object) -> object:
    """A stored notification's type in its one spelling (older documents hold a legacy one)."""
    return LEGACY_KINDS.get(stored, stored) if isinstance(stored, str) else stored


class Delivery(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


CHANNEL = "email"

# The messages notified (the queue notification.dispatch binds booking.*, payment.*); a failed
# payment is notified when a client asks for it, not from its message.
NOTIFIED: frozenset[RoutingKey] = frozenset(
    {
        RoutingKey.BOOKING_CONFIRMED,
        RoutingKey.BOOKING_COMPENSATED,
        RoutingKey.BOOKING_CANCELLED,
        RoutingKey.BOOKING_CANCELLATION_FAILED,
        RoutingKey.PAYMENT_COMPLETED,
        RoutingKey.PAYMENT_REFUNDED,
    }
)


@dataclass(frozen=True)
class Draft:
    """A notification before it is stored: who, what kind, and the facts shown."""

    kind: Kind
    user_id: str
    recipient: str | None
    facts: dict[str, Any]
    related_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rendered:
    subject: str
    content: str


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _clean_subject(text: str) -> str:
    # A subject is a mail header: no line breaks (header injection), bounded length.
    return " ".join(text.split())[:200]


def _event_label(facts: dict[str, Any]) -> str:
    if facts.get("eventName"):
        return _text(facts["eventName"])
    return f"event #{facts['eventId']}" if facts.get("eventId") else "your event"


def _money(facts: dict[str, Any]) -> str:
    """ "30 000 XOF": the amount (a Decimal) grouped by thousands, in its currency's places."""
    amount, currency = facts.get("amount"), _text(facts.get("currency"))
    if isinstance(amount, Decimal) and currency:
        return display(amount, currency)
    return f"{_text(amount)} {currency}".strip()


def render(kind: Kind, facts: dict[str, Any]) -> Rendered:
    """Subject (plain text) and HTML content; every fact is escaped before it meets markup."""
    e = {k: html.escape(_text(v), quote=True) for k, v in facts.items()}
    name = e.get("userName") or "customer"
    event, money = html.escape(_event_label(facts)), html.escape(_money(facts))
    reason = f"<p>Reason: {e['reason']}</p>" if e.get("reason") else ""
    reservation = f"<p>Reservation: {e['reservationId']}</p>" if e.get("reservationId") else ""
    hello = f"<p>Hello {name},</p>"
    if kind is Kind.BOOKING_CONFIRMED:
        subject = f"Booking confirmed: {_event_label(facts)}"
        seats = f"{e['seats']} seat(s)" if e.get("seats") else "your seats"
        total = f", total {money}" if e.get("amount") else ""
        body = f"{hello}<p>Your booking for {event} is confirmed: {seats}{total}.</p>{reservation}"
    elif kind is Kind.BOOKING_COMPENSATED:
        subject = f"Booking cancelled: {_event_label(facts)}"
        body = f"{hello}<p>Your booking for {event} could not be completed.</p>{reason}{reservation}"
    elif kind is Kind.BOOKING_CANCELLED:
        subject = f"Booking cancelled: {_event_label(facts)}"
        seats = f"{e['seats']} seat(s)" if e.get("seats") else "your seats"
        refund = f" {money} will be refunded to you." if e.get("amount") else ""
        body = f"{hello}<p>Your booking for {event} is cancelled as you asked: {seats} released.{refund}</p>"
        body += f"{reason}{reservation}"
    elif kind is Kind.BOOKING_CANCELLATION_FAILED:
        subject = f"Cancellation not completed: {_event_label(facts)}"
        body = f"{hello}<p>Your booking for {event} could not be cancelled.</p>{reason}{reservation}"
    elif kind is Kind.PAYMENT_COMPLETED:
        subject = f"Payment received: {_money(facts)}"
        body = f"{hello}<p>We received your payment of {money}.</p>{reservation}"
    elif kind is Kind.PAYMENT_REFUNDED:
        subject = f"Payment refunded: {_money(facts)}"
        body = f"{hello}<p>Your payment of {money} was refunded.</p>{reason}{reservation}"
    else:
        subject = f"Payment failed: {_money(facts)}"
        body = f"{hello}<p>Your payment of {money} did not go through.</p>{reason}{reservation}"
    return Rendered(_clean_subject(subject), f"<html><body>{body}</body></html>")


def _ids(**ids: str | None) -> dict[str, str]:
    return {name: value for name, value in ids.items() if value}


def draft_from_message(message: Message) -> Draft | None:
    """The notification a domain message calls for, or None for messages not notified."""
    if message.routing_key not in NOTIFIED:
        return None
    kind = Kind(message.routing_key.value)
    if isinstance(message, BookingMessage | CancellationMessage):
        if not message.user_id:
            return None
        facts = {
            "userName": message.user_name,
            "eventId": message.event_id,
            "seats": message.seats,
            "amount": message.amount.amount,
            "currency": message.amount.currency,
            "reservationId": message.reservation_id,
            "reason": message.reason,
        }
        related = {"sagaId": message.saga_id, "eventId": str(message.event_id)}
        related.update(_ids(reservationId=message.reservation_id, paymentId=message.payment_id))
        return Draft(kind, message.user_id, message.user_email or None, facts, related)
    if isinstance(message, PaymentMessage) and message.user_id:
        facts = {
            "amount": message.amount.amount,
            "currency": message.amount.currency,
            "reservationId": message.reservation_id,
            "reason": message.failure_reason,
        }
        related = _ids(paymentId=str(message.id), reservationId=message.reservation_id)
        # A payment names no address: the sender looks it up.
        return Draft(kind, message.user_id, None, facts, related)
    return None


def delivery_error(recipient: str | None, failing_domain: str) -> str | None:
    """The simulated provider's verdict: None when sent, else why it failed. Deterministic:
    no address, or an address at `failing_domain`, always fails."""
    if not recipient:
        return "no email address known for this user"
    if recipient.rsplit("@", 1)[-1].lower() == failing_domain.lower():
        return f"mailbox at {failing_domain} rejected the message"
    return None


def retry_delay(attempts: int, base_seconds: float) -> float:
    """Backoff before the next attempt after `attempts` failed ones: base, 2 x base, 4 x base..."""
    return base_seconds * 2 ** max(0, attempts - 1)


def outcome_after_failure(attempts: int, max_attempts: int) -> Delivery:
    return Delivery.FAILED if attempts >= max_attempts else Delivery.PENDING
