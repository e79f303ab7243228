"""Notification rules without I/O: message mapping, escaping, delivery verdict, backoff."""

from notification_service.domain import (
    Delivery,
    Kind,
    delivery_error,
    draft_from_message,
    outcome_after_failure,
    render,
    retry_delay,
)


def test_booking_and_payment_messages_map_to_their_kinds():
    data = {"userId": "u1", "userEmail": "a@example.com", "sagaId": "s", "eventId": 3, "seats": 2}
    assert draft_from_message("booking.confirmed", data).kind is Kind.BOOKING_CONFIRMED
    assert draft_from_message("booking.compensated", data).kind is Kind.BOOKING_CANCELLED
    payment = {"id": 5, "userId": "u1", "amount": 10, "reservationId": "r"}
    draft = draft_from_message("payment.refunded", payment)
    assert draft.kind is Kind.PAYMENT_REFUNDED
    assert draft.recipient is None  # a payment names no address
    assert draft.related_ids == {"paymentId": "5", "reservationId": "r"}


def test_messages_without_a_user_or_of_other_types_make_no_notification():
    assert draft_from_message("payment.failed", {"userId": "u"}) is None
    assert draft_from_message("booking.confirmed", {"userEmail": "a@example.com"}) is None


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
