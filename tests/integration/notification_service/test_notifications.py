"""Notification service against the real MongoDB-wire engine and RabbitMQ."""

from typing import Any

from bson import ObjectId

from shared.contracts import BookingCompensated, BookingConfirmed, Envelope, PaymentCompleted
from tests.messages import a_booking, a_payment
from tests.support import eventually, unique


def booking_confirmed(user_id: str, email: str = "ada@example.com", **data: Any) -> Envelope:
    return a_booking(
        BookingConfirmed, "saga-1", user_id=user_id, user_email=email, amount=50, currency="XOF", **data
    ).envelope()


async def notifications_of(client, user_id: str) -> list[dict[str, Any]]:
    answer = await client.get(f"/api/notifications/user/{user_id}")
    assert answer.status_code == 200
    return answer.json()["items"]


async def test_a_message_delivered_twice_makes_one_notification(app, client):
    user = unique("u")
    envelope = booking_confirmed(user)
    await app.state.broker.publish(envelope)
    await app.state.broker.publish(envelope)  # the same messageId again: a redelivery
    # Messages of one aggregate are handled in order: once this later one shows, the twin
    # before it has been handled too.
    marker = a_booking(BookingCompensated, "saga-1", user_id=user, reason="marker").envelope()
    await app.state.broker.publish(marker)

    async def marker_seen():
        items = await notifications_of(client, user)
        return items if any(n["messageId"] == marker.message_id for n in items) else None

    items = await eventually(marker_seen, timeout=10)
    confirmed = [n for n in items if n["type"] == "booking.confirmed"]
    assert len(confirmed) == 1
    assert confirmed[0]["messageId"] == envelope.message_id
    assert confirmed[0]["relatedIds"] == {
        "sagaId": "saga-1",
        "eventId": "7",
        "reservationId": "r-1",
        "paymentId": "11",
    }


async def test_the_sender_marks_a_notification_sent_off_the_request_path(client):
    answer = await client.post(
        "/api/notifications/booking",
        json={"user_id": unique("u"), "user_email": "grace@example.com", "event_name": "Jazz", "seats": 2},
    )
    assert answer.status_code == 201
    created = answer.json()
    assert answer.headers["location"] == f"/api/notifications/{created['id']}"
    assert created["channel"] == "email" and created["recipient"] == "grace@example.com"

    async def sent():
        body = (await client.get(f"/api/notifications/{created['id']}")).json()
        return body if body["status"] == "sent" else None

    done = await eventually(sent, timeout=10)
    assert done["attempts"] == 1 and done["sentAt"] is not None


async def test_a_bouncing_address_fails_after_bounded_retries(client, settings):
    answer = await client.post(
        "/api/notifications/payment",
        json={"userId": unique("u"), "userEmail": "nobody@fail.example", "amount": 10, "status": "refunded"},
    )
    assert answer.status_code == 201
    nid = answer.json()["id"]

    async def failed():
        body = (await client.get(f"/api/notifications/{nid}")).json()
        return body if body["status"] == "failed" else None

    done = await eventually(failed, timeout=10)
    assert done["attempts"] == settings.send_max_attempts
    assert "fail.example" in done["lastError"]
    assert done["type"] == "payment.refunded"


async def test_user_supplied_values_are_html_escaped(client):
    answer = await client.post(
        "/api/notifications/booking",
        json={
            "userId": unique("u"),
            "userEmail": "eve@example.com",
            "userName": "<script>alert(1)</script>",
            "eventName": 'Rock & "Roll" <b>',
            "reservationId": "<img src=x onerror=alert(1)>",
        },
    )
    assert answer.status_code == 201
    content = answer.json()["content"]
    assert "<script>" not in content and "<img" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "Rock &amp; &quot;Roll&quot; &lt;b&gt;" in content


async def test_a_payment_message_finds_the_address_the_user_left_before(app, client):
    user = unique("u")
    await client.post("/api/notifications/booking", json={"userId": user, "userEmail": "lin@example.com"})
    payment = a_payment(PaymentCompleted, 42, reservation_id="r-9", user_id=user, amount=30).envelope()
    await app.state.broker.publish(payment)

    async def paid():
        items = await notifications_of(client, user)
        found = [n for n in items if n["type"] == "payment.completed" and n["status"] == "sent"]
        return found[0] if found else None

    done = await eventually(paid, timeout=10)
    assert done["recipient"] == "lin@example.com"
    assert done["relatedIds"] == {"paymentId": "42", "reservationId": "r-9"}


async def test_same_idempotency_key_gives_the_same_notification(client):
    body = {"userId": unique("u"), "userEmail": "kim@example.com", "amount": 12.5, "currency": "EUR"}
    key = {"Idempotency-Key": unique("k")}
    first = await client.post("/api/notifications/payment", json=body, headers=key)
    again = await client.post("/api/notifications/payment", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = await client.post("/api/notifications/payment", json={**body, "amount": 13}, headers=key)
    assert other.status_code == 422


async def test_a_notification_stored_under_an_older_type_spelling_reads_as_its_message(app, client):
    body = {"userId": unique("u"), "userEmail": "kim@example.com", "amount": 12.5, "currency": "EUR"}
    made = (await client.post("/api/notifications/payment", json=body)).json()
    assert made["type"] == "payment.completed"
    store = app.state.notifications.store
    changed = await store.notifications.update_one(
        {"_id": ObjectId(made["id"])}, {"$set": {"type": "payment_completed"}}
    )
    assert changed.modified_count == 1
    read = (await client.get(f"/api/notifications/{made['id']}")).json()
    assert read["type"] == "payment.completed"


async def test_bad_input_and_unknown_ids_are_problems_not_500s(client):
    bad = await client.post("/api/notifications/booking", json={"userId": "u", "userEmail": "not-an-email"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    extra = await client.post(
        "/api/notifications/booking", json={"userId": "u", "userEmail": "a@example.com", "admin": True}
    )
    assert extra.status_code == 422
    cents = await client.post(
        "/api/notifications/payment", json={"userId": "u", "userEmail": "a@example.com", "amount": 10.5}
    )
    assert cents.status_code == 422  # XOF, the default currency, has no minor unit
    assert [e["field"] for e in cents.json()["errors"]] == ["amount"]
    assert (await client.get("/api/notifications/not-an-id")).status_code == 404
    assert (await client.get("/api/notifications/0123456789abcdef01234567")).status_code == 404
