"""Notification rules without I/O: message mapping, escaping, delivery verdict, backoff."""

from notification_service.domain import (
    LEGACY_KINDS,
    Delivery,
    Kind,
    delivery_error,
    draft_from_message,
    kind_of,
    outcome_after_failure,
    render,
    retry_delay,
)
from shared.contracts import BookingCompensated, BookingConfirmed, PaymentFailed, PaymentRefunded, RoutingKey
from tests.messages import a_booking, a_payment


def test_booking_and_payment_messages_map_to_their_kinds():
    data = {"user_id": "u1", "user_email": "a@example.com", "saga_id": "s", "event_id": 3, "seats": 2}
    assert draft_from_message(a_booking(BookingConfirmed, **data)).kind is Kind.BOOKING_CONFIRMED
    assert draft_from_message(a_booking(BookingCompensated, **data)).kind is Kind.BOOKING_COMPENSATED
    payment = a_payment(PaymentRefunded, 5, user_id="u1", amount=10, reservation_id="r")
    draft = draft_from_message(payment)
    assert draft.kind is Kind.PAYMENT_REFUNDED
    assert draft.recipient is None  # a payment names no address
    assert draft.related_ids == {"paymentId": "5", "reservationId": "r"}


def test_a_notification_type_is_spelt_as_its_message_and_older_spellings_read_as_it():
    assert {kind.value for kind in Kind} <= {key.value for key in RoutingKey}
    assert draft_from_message(a_booking(BookingConfirmed, user_id="u", user_email="a@b.c")).kind.value == (
        BookingConfirmed.routing_key.value
    )
    assert {legacy: kind_of(legacy) for legacy in LEGACY_KINDS} == {
        "booking_confirmed": Kind.BOOKING_CONFIRMED,
        "booking_cancelled": Kind.BOOKING_COMPENSATED,
        "cancellation_confirmed": Kind.BOOKING_CANCELLED,
        "cancellation_failed": Kind.BOOKING_CANCELLATION_FAILED,
        "payment_completed": Kind.PAYMENT_COMPLETED,
        "payment_refunded": Kind.PAYMENT_REFUNDED,
        "payment_failed": Kind.PAYMENT_FAILED,
    }
    assert kind_of("booking.confirmed") == "booking.confirmed"


def test_messages_without_a_user_or_of_other_types_make_no_notification():
    assert draft_from_message(a_payment(PaymentFailed, user_id="u")) is None
    assert draft_from_message(a_booking(BookingConfirmed, user_id="", user_email="a@example.com")) is None


def test_money_reads_as_people_write_it():
    draft = draft_from_message(a_booking(BookingConfirmed, amount=30000, currency="XOF"))
    rendered = render(draft.kind, draft.facts)
    assert "total 30 000 XOF" in rendered.content and "30000.0" not in rendered.content
    refund = draft_from_message(a_payment(PaymentRefunded, amount="12.5", currency="EUR"))
    assert render(refund.kind, refund.facts).subject == "Payment refunded: 12.50 EUR"


def test_every_user_value_is_escaped_in_the_content():
    rendered = render(Kind.BOOKING_CONFIRMED, {"userName": "<b>x</b>", "eventName": "A&B", "seats": 1})
    assert "<b>x</b>" not in rendered.content
    assert "&lt;b&gt;x&lt;/b&gt;" in rendered.content and "A&amp;B" in rendered.content


def test_a_subject_cannot_carry_line_breaks():
    rendered = render(Kind.BOOKING_CANCELLED, {"eventName": "Show\r\nBcc: victim@example.com"})
    assert "\n" not in rendered.subject and "\r" not in rendered.subject


def test_delivery_verdict_is_deterministic():
    assert delivery_error("a@example.com", "fail.example") is None
    assert delivery_error("a@FAIL.example", "fail.example") is not None
    assert delivery_error(None, "fail.example") is not None


def test_retries_back_off_and_end_failed():
    assert [retry_delay(n, 1.0) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert outcome_after_failure(2, 3) is Delivery.PENDING
    assert outcome_after_failure(3, 3) is Delivery.FAILED
