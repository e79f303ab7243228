"""Consumers against real RabbitMQ: a handler that keeps failing is retried a bounded number of
times, then its message is dead-lettered with why; a handler whose engine is down (an error
the service registered as such) waits without spending its retries."""

import json

import aio_pika
import pymongo.errors

from shared import mongo
from shared.contracts import Envelope, new_envelope
from shared.messaging.broker import Consumer
from tests.integration.shared.helpers import broker_settings, connected_broker
from tests.support import AMQP_URL, eventually


async def dead_lettered_count(queue: str) -> int:
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        dlq = await channel.declare_queue(f"{queue}.dlq", passive=True)
        return int(dlq.declaration_result.message_count or 0)
    finally:
        await connection.close()


async def test_a_message_that_always_fails_lands_in_the_dead_letter_queue_after_the_retries():
    settings = broker_settings(consumer_max_retries=2, consumer_retry_delay_ms=100)
    seen: list[str] = []

    async def always_fails(envelope: Envelope) -> None:
        seen.append(envelope.message_id)
        raise ValueError("cannot apply this one")

    consumer = Consumer("dlq-probe", ["probe.#"], always_fails, workers=1)
    async with connected_broker(settings, consumer) as broker:
        message = new_envelope("probe.poison", "PROBE", 7, {"n": 7})
        await broker.publish(message)
        dlq = f"{broker.queue_name(consumer)}.dlq"

        connection = await aio_pika.connect(AMQP_URL)
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue(dlq, passive=True)

            async def dead_lettered() -> aio_pika.abc.AbstractIncomingMessage | None:
                return await queue.get(no_ack=True, fail=False)

            buried = await eventually(dead_lettered)
        finally:
            await connection.close()

    # First delivery + consumer_max_retries retries, then the dead-letter queue.
    assert seen == [message.message_id] * 3
    assert json.loads(buried.body)["messageId"] == message.message_id
    assert buried.headers["x-attempt"] == 3
    assert buried.headers["x-last-error"] == "ValueError: cannot apply this one"


async def test_a_handler_that_fails_once_succeeds_on_its_retry_and_nothing_is_dead_lettered():
    settings = broker_settings(consumer_max_retries=2, consumer_retry_delay_ms=100)
    attempts: list[str] = []
    applied: list[str] = []

    async def flaky(envelope: Envelope) -> None:
        attempts.append(envelope.message_id)
        if len(attempts) == 1:
            raise ConnectionError("database hiccup")
        applied.append(envelope.message_id)

    consumer = Consumer("retry-probe", ["probe.#"], flaky, workers=1)
    async with connected_broker(settings, consumer) as broker:
        message = new_envelope("probe.flaky", "PROBE", 8, {})
        await broker.publish(message)

        async def done() -> bool:
            return applied == [message.message_id]

        await eventually(done)
        assert await dead_lettered_count(broker.queue_name(consumer)) == 0
    assert attempts == [message.message_id] * 2


async def test_a_handler_whose_engine_is_down_waits_without_spending_its_retries():
    settings = broker_settings(consumer_max_retries=1, consumer_retry_delay_ms=50)
    attempts: list[str] = []
    applied: list[str] = []

    async def engine_down_for_a_while(envelope: Envelope) -> None:
        attempts.append(envelope.message_id)
        if len(attempts) <= 4:
            raise pymongo.errors.ServerSelectionTimeoutError("no server")
        applied.append(envelope.message_id)

    consumer = Consumer("engine-down-probe", ["probe.#"], engine_down_for_a_while, workers=1)
    async with connected_broker(settings, consumer, engine_down=mongo.ENGINE_DOWN) as broker:
        message = new_envelope("probe.engine", "PROBE", 9, {})
        await broker.publish(message)

        async def done() -> bool:
            return applied == [message.message_id]

        await eventually(done)
        assert await dead_lettered_count(broker.queue_name(consumer)) == 0
    # Four failures with one retry allowed: only an unreachable engine may take that long.
    assert attempts == [message.message_id] * 5


async def test_an_engine_error_the_service_did_not_register_spends_the_retries():
    # The broker knows no database: a service that does not use MongoDB did not say that
    # MongoDB's errors mean "engine down", so they count as the message's failures.
    settings = broker_settings(consumer_max_retries=1, consumer_retry_delay_ms=50)
    attempts: list[str] = []

    async def always_down(envelope: Envelope) -> None:
        attempts.append(envelope.message_id)
        raise pymongo.errors.ServerSelectionTimeoutError("no server")

    consumer = Consumer("unregistered-engine-probe", ["probe.#"], always_down, workers=1)
    async with connected_broker(settings, consumer) as broker:
        message = new_envelope("probe.engine", "PROBE", 10, {})
        await broker.publish(message)

        async def buried() -> bool:
            return await dead_lettered_count(broker.queue_name(consumer)) == 1

        await eventually(buried)
    assert attempts == [message.message_id] * 2
