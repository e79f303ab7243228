"""The dispatch consumer's batches against the real MongoDB-wire engine: what arrived together
is stored in one write, each message keeping its own outcome (an unreadable one in the middle
fails alone, a duplicate in the batch makes no second notification), and the same batch
handled again (a redelivery after a crash before the acknowledgement) adds nothing."""

from notification_service.messaging import dispatch_consumer
from shared.contracts import BookingConfirmed, PaymentCompleted, UnreadableMessage
from tests.integration.notification_service.test_notifications import booking_confirmed, notifications_of
from tests.messages import a_payment
from tests.support import unique


async def test_a_batch_with_an_unreadable_message_and_a_duplicate_in_the_middle(app, client):
    handle_batch = dispatch_consumer(app.state.notifications).batch
    assert handle_batch is not None
    ada, lin = unique("u"), unique("u")
    confirmed = booking_confirmed(ada)
    bad = booking_confirmed(ada)
    # An amount XOF cannot hold (it has no minor unit): no contract model reads it.
    bad = bad.model_copy(update={"data": {**bad.data, "amount": {"amount": "15000.55", "currency": "XOF"}}})
    paid = a_payment(PaymentCompleted, 77, user_id=lin, reservation_id="r-77").envelope()
    batch = [confirmed, bad, confirmed, paid]

    outcomes = await handle_batch(batch)
    assert [type(o) if o is not None else None for o in outcomes] == [None, UnreadableMessage, None, None]
    mine = await notifications_of(client, ada)
    assert [(n["type"], n["messageId"]) for n in mine] == [("booking.confirmed", confirmed.message_id)]
    assert [n["messageId"] for n in await notifications_of(client, lin)] == [paid.message_id]

    again = await handle_batch(batch)
    assert [o is None for o in again] == [True, False, True, True]
    assert [n["id"] for n in await notifications_of(client, ada)] == [n["id"] for n in mine]
    assert len(await notifications_of(client, lin)) == 1


async def test_a_batch_remembers_the_address_a_later_payment_is_sent_to(app, client):
    handle_batch = dispatch_consumer(app.state.notifications).batch
    assert handle_batch is not None
    user = unique("u")
    outcomes = await handle_batch(
        [
            booking_confirmed(user, email="sam@example.com"),
            a_payment(PaymentCompleted, 78, user_id=user, reservation_id="r-78").envelope(),
        ]
    )
    assert outcomes == [None, None]
    kinds = {n["type"]: n for n in await notifications_of(client, user)}
    assert set(kinds) == {BookingConfirmed.routing_key.value, "payment.completed"}
    assert await app.state.notifications.store.contact_email(user) == "sam@example.com"
