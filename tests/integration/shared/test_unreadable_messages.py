"""Contract consumers against real RabbitMQ: a message no model can read (unknown schema
version, invalid data, not JSON) ends in the dead-letter queue after its bounded retries,
with the reason in a header; the consumer keeps going, the messages behind it are handled,
and the previous schema version is still read."""

import json

import aio_pika

from shared.contracts import BookingConfirmed, BookingMessage, Envelope, read
from shared.messaging.broker import UNREADABLE_HEADER, Consumer
from tests.integration.shared.helpers import broker_settings, connected_broker
from tests.messages import a_booking
from tests.support import AMQP_URL, eventually


async def test_unreadable_messages_are_dead_lettered_with_their_reason_and_block_nothing():
    settings = broker_settings(consumer_max_retries=1, consumer_retry_delay_ms=100)
    handled: list[BookingMessage] = []

    async def handle(envelope: Envelope) -> None:
        message = read(envelope)
        assert isinstance(message, BookingMessage)
        handled.append(message)

    consumer = Consumer("contract-probe", ["booking.#"], handle, workers=1)
    good = a_booking(BookingConfirmed, "saga-good").envelope()
    future = good.model_copy(update={"schema_version": 99, "message_id": "future"}).as_document()
    invalid = {**good.as_document(), "messageId": "invalid"}
    invalid["data"] = {**invalid["data"], "amount": {"amount": "15000.55", "currency": "XOF"}}
    previous = {**good.as_document(), "messageId": "previous"}  # version 1: no schemaVersion,
    del previous["schemaVersion"]  # money a bare number next to its currency
    previous["data"] = {**previous["data"], "amount": 30000.0, "currency": "XOF"}
    latest = a_booking(BookingConfirmed, "saga-latest").envelope()

    async with connected_broker(settings, consumer) as broker:
        connection = await aio_pika.connect(AMQP_URL)
        try:
            channel = await connection.channel()
            exchange = await channel.get_exchange(settings.amqp_exchange)
            # One aggregate (one worker, in order): the good ones queue up behind the bad ones.
            headers = {"x-aggregate-id": "SAGA-saga-good"}
            for body, message_id in [
                (json.dumps(future).encode(), "future"),
                (json.dumps(invalid).encode(), "invalid"),
                (b"{not json", "garbled"),
                (json.dumps(previous).encode(), "previous"),
            ]:
                await exchange.publish(
                    aio_pika.Message(body, message_id=message_id, headers=headers),
                    routing_key="booking.confirmed",
                )
            await broker.publish(latest)

            async def both_handled() -> bool | None:
                return len(handled) == 2 or None

            await eventually(both_handled)
            dlq = await channel.declare_queue(f"{broker.queue_name(consumer)}.dlq", passive=True)
            buried: dict[str, aio_pika.abc.AbstractIncomingMessage] = {}

            async def all_buried() -> bool | None:
                got = await dlq.get(no_ack=True, fail=False)
                if got is not None:
                    buried[str(got.message_id)] = got
                return len(buried) == 3 or None

            await eventually(all_buried)
        finally:
            await connection.close()

    assert [m.saga_id for m in handled] == ["saga-good", "saga-latest"]
    assert handled[0].amount.amount == 30000 and handled[0].amount.currency == "XOF"
    assert set(buried) == {"future", "invalid", "garbled"}
    for message in buried.values():
        assert message.headers["x-attempt"] == 2  # the first delivery and its one retry
    assert "schemaVersion 99" in str(buried["future"].headers[UNREADABLE_HEADER])
    reason = str(buried["invalid"].headers[UNREADABLE_HEADER])
    assert "booking.confirmed" in reason and "amount" in reason and "XOF" in reason
    assert "not JSON" in str(buried["garbled"].headers[UNREADABLE_HEADER])
