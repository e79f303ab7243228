"""Batching consumers against real RabbitMQ: what arrives together is handed over together, in
delivery order; each message keeps its own outcome (a poison in the middle is retried then
dead-lettered, the messages around it are applied once); a batch that fails as a whole sends
each message its own way; nothing is acknowledged before the handler returned."""

import asyncio
from collections.abc import Sequence
from urllib.parse import quote

import aio_pika
import httpx
import pymongo.errors

from shared import mongo
from shared.contracts import Envelope, new_envelope
from shared.messaging.broker import UNREADABLE_HEADER, Consumer, Outcomes
from tests.integration.shared.helpers import broker_settings, connected_broker
from tests.support import AMQP_URL, RABBITMQ_API, eventually


class Batches:
    """A batch handler recording each batch's message ids; the message ids in `poison` fail.
    The first batch waits for `release`, so the messages published meanwhile queue up."""

    def __init__(self, poison: frozenset[str] = frozenset()) -> None:
        self.poison = poison
        self.batches: list[list[str]] = []
        self.applied: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, envelopes: Sequence[Envelope]) -> Outcomes:
        self.batches.append([e.message_id for e in envelopes])
        if len(self.batches) == 1:
            await self.release.wait()
        outcomes: list[BaseException | None] = []
        for envelope in envelopes:
            if envelope.message_id in self.poison:
                outcomes.append(ValueError(f"cannot apply {envelope.message_id}"))
            else:
                self.applied.append(envelope.message_id)
                outcomes.append(None)
        return outcomes


async def _drain_dlq(queue: str, count: int) -> dict[str, aio_pika.abc.AbstractIncomingMessage]:
    connection = await aio_pika.connect(AMQP_URL)
    buried: dict[str, aio_pika.abc.AbstractIncomingMessage] = {}
    try:
        channel = await connection.channel()
        dlq = await channel.declare_queue(f"{queue}.dlq", passive=True)

        async def all_buried() -> bool | None:
            got = await dlq.get(no_ack=True, fail=False)
            if got is not None:
                buried[str(got.message_id)] = got
            return len(buried) == count or None

        await eventually(all_buried)
    finally:
        await connection.close()
    return buried


async def _queue_settled(queue: str) -> bool | None:
    """Nothing ready nor unacknowledged in the queue (management API, refreshed every few s)."""
    async with httpx.AsyncClient(auth=("guest", "guest"), timeout=5) as api:
        answer = await api.get(f"{RABBITMQ_API}/queues/%2F/{quote(queue, safe='')}")
    q = answer.json()
    return (q.get("messages_ready") == 0 and q.get("messages_unacknowledged") == 0) or None


async def test_a_poison_in_the_middle_of_a_batch_is_dead_lettered_and_the_rest_applied_once():
    settings = broker_settings(consumer_max_retries=1, consumer_retry_delay_ms=100)
    batches = Batches(poison=frozenset({"poison"}))
    consumer = Consumer("batch-probe", ["probe.#"], batch=batches)
    async with connected_broker(settings, consumer) as broker:
        first = new_envelope("probe.first", "PROBE", 1, {})
        await broker.publish(first)
        await eventually(lambda: _true(batches.batches))
        # One aggregate, published while the first batch is held: they queue up together.
        together = [
            new_envelope("probe.a", "PROBE", 1, {}),
            new_envelope("probe.poison", "PROBE", 1, {}).model_copy(update={"message_id": "poison"}),
            new_envelope("probe.b", "PROBE", 1, {}),
        ]
        for envelope in together:
            await broker.publish(envelope)
        connection = await aio_pika.connect(AMQP_URL)
        try:
            channel = await connection.channel()
            exchange = await channel.get_exchange(settings.amqp_exchange)
            await exchange.publish(
                aio_pika.Message(b"{not json", message_id="garbled", headers={"x-aggregate-id": "PROBE-1"}),
                routing_key="probe.garbled",
            )
            last = new_envelope("probe.c", "PROBE", 1, {})
            await broker.publish(last)
            await asyncio.sleep(0.3)  # every one of them delivered, waiting behind the first batch
            batches.release.set()
            buried = await _drain_dlq(broker.queue_name(consumer), 2)
            await eventually(lambda: _settled(broker.queue_name(consumer)), timeout=20)
        finally:
            await connection.close()

    expected = [first.message_id, *(e.message_id for e in together if e.message_id != "poison")]
    expected.append(last.message_id)
    assert sorted(batches.applied) == sorted(expected)
    assert len(batches.applied) == len(set(batches.applied))  # each applied once
    # The second batch held everything published behind the first, in delivery order (the
    # unreadable one never reaches the handler).
    assert batches.batches[1] == [e.message_id for e in together] + [last.message_id]
    # The poison came back alone from the retry queue, then went to the DLQ.
    assert batches.batches[2:] == [["poison"]]
    assert set(buried) == {"poison", "garbled"}
    assert buried["poison"].headers["x-attempt"] == 2
    assert buried["poison"].headers["x-last-error"] == "ValueError: cannot apply poison"
    assert buried["garbled"].headers["x-attempt"] == 2
    assert "not JSON" in str(buried["garbled"].headers[UNREADABLE_HEADER])


async def test_a_batch_failing_whole_with_its_engine_down_waits_without_spending_retries():
    settings = broker_settings(consumer_max_retries=1, consumer_retry_delay_ms=50)
    calls: list[list[str]] = []

    async def engine_down_for_a_while(envelopes: Sequence[Envelope]) -> Outcomes:
        calls.append([e.message_id for e in envelopes])
        if len(calls) <= 4:
            raise pymongo.errors.ServerSelectionTimeoutError("no server")
        return [None] * len(envelopes)

    consumer = Consumer("batch-engine-probe", ["probe.#"], batch=engine_down_for_a_while)
    async with connected_broker(settings, consumer, engine_down=mongo.ENGINE_DOWN) as broker:
        message = new_envelope("probe.engine", "PROBE", 9, {})
        await broker.publish(message)
        await eventually(lambda: _true(len(calls) >= 5))
        await eventually(lambda: _settled(broker.queue_name(consumer)), timeout=20)
        dlq = await _dlq_depth(broker.queue_name(consumer))
    assert dlq == 0
    assert [ids for ids in calls] == [[message.message_id]] * 5


async def test_a_batch_not_acknowledged_before_a_crash_is_delivered_again_whole():
    settings = broker_settings()
    crashed = Batches()  # holds its first batch forever: the process dies before the ack
    consumer = Consumer("batch-crash-probe", ["probe.#"], batch=crashed)
    envelopes = [new_envelope("probe.crash", "PROBE", n, {"n": n}) for n in range(5)]
    survivor = Batches()
    survivor.release.set()
    async with connected_broker(settings, consumer) as broker:
        for envelope in envelopes:
            await broker.publish(envelope)
        await eventually(lambda: _true(crashed.batches))
        await broker.close()  # the crash: nothing of what it was handling was acknowledged
        async with connected_broker(settings, Consumer("batch-crash-probe", ["probe.#"], batch=survivor)):
            await eventually(lambda: _true(len(survivor.applied) >= len(envelopes)))
    assert sorted(survivor.applied) == sorted(e.message_id for e in envelopes)
    assert crashed.applied == []


async def _true(value: object) -> bool | None:
    return bool(value) or None


async def _settled(queue: str) -> bool | None:
    return await _queue_settled(queue)


async def _dlq_depth(queue: str) -> int:
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        dlq = await channel.declare_queue(f"{queue}.dlq", passive=True)
        return int(dlq.declaration_result.message_count or 0)
    finally:
        await connection.close()
