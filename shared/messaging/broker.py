"""One RabbitMQ connection per service: publishing with confirms, consumers with delayed
retry and a dead-letter queue, reconnection after the broker comes back.

A consumer handles its messages one at a time (`handler`, in per-aggregate workers) or in
batches (`batch`): what arrived together is written together and settled by one
acknowledgement, each message keeping its own outcome (see `Consumer`).

Topology (docs/design.md §7): one durable topic exchange; per consumer a durable queue `<q>`, a
retry queue `<q>.retry` whose TTL dead-letters messages back to `<q>`, and `<q>.dlq`. Every
broker declares the fleet's consumer queues and bindings (shared.messaging.topology) before it
publishes anything, so no message is ever published to an exchange with nothing bound.
"""

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel, AbstractRobustConnection
from aio_pika.connection import make_url

from shared import tracing
from shared.contracts import Envelope, UnreadableMessage
from shared.forever import retry_forever, stop_if_cancelled
from shared.logging import correlation_id
from shared.messaging.topology import FLEET_QUEUES, QueueSpec, main_queue_arguments
from shared.metrics import Metrics
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

Handler = Callable[[Envelope], Awaitable[None]]
# A batch handler's answer: one entry per envelope, in order; None when it was applied, else
# why not (that message alone is retried or dead-lettered).
Outcomes = Sequence[BaseException | None]
BatchHandler = Callable[[Sequence[Envelope]], Awaitable[Outcomes]]
ATTEMPT_HEADER = "x-attempt"
# Set on a message dead-lettered because no model of the contract could read it: why not.
UNREADABLE_HEADER = "x-unreadable-reason"
PUBLISH_TIMEOUT_SECONDS = 5.0


class BrokerUnavailable(Exception):
    """The broker cannot take a message now; the outbox keeps it for the next pass."""


# A handler failing with one of these did not meet a bad message: an engine it needs is down.
# The message waits in the retry queue without spending its retries. Each service adds its
# own engines' errors (Broker's `engine_down`), e.g. shared.sql.ENGINE_DOWN.
ALWAYS_ENGINE_DOWN: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)


@dataclass
class Consumer:
    """A durable queue bound to routing-key patterns, and the handler of its messages: exactly
    one of `handler` (one message at a time; the shared tests' probes) and `batch` (what every
    service gives).

    With `handler`, messages of one aggregate go to the same worker, so they are handled in
    order while different aggregates are handled concurrently.

    With `batch`, one loop takes what has arrived
    (up to `batch_size`, the settings' `consumer_batch_size` when 0; once the first message is
    there it waits `consumer_batch_linger_ms` for others), hands them over in the order they
    were delivered (so per aggregate in order; the handler keeps that order), forwards each
    failed message to the retry queue or the DLQ, then acknowledges the whole batch at once.
    The next batch forms while one is handled. Nothing is acknowledged before the handler
    returned: a crash redelivers the batch, so its writes must be idempotent (they are the
    same writes as one at a time).
    """

    name: str
    bindings: list[str]
    handler: Handler | None = None
    workers: int = 4
    batch: BatchHandler | None = None
    batch_size: int = 0
    _queues: list[asyncio.Queue[AbstractIncomingMessage]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.batch is None):
            raise ValueError(f"consumer {self.name}: give a handler or a batch handler, exactly one")


class Broker:
    def __init__(
        self,
        settings: ServiceSettings,
        metrics: Metrics | None = None,
        *,
        engine_down: Iterable[type[BaseException]] = (),
        topology: Iterable[QueueSpec] = FLEET_QUEUES,
    ) -> None:
        self.settings = settings
        self.topology = tuple(topology)
        self.metrics = metrics
        self.engine_down = (*ALWAYS_ENGINE_DOWN, *engine_down)
        self.exchange_name = settings.amqp_exchange
        self.consumers: list[Consumer] = []
        self._connection: AbstractRobustConnection | None = None
        self._connecting: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self._connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def queue_name(self, consumer: Consumer) -> str:
        return f"{self.settings.amqp_queue_prefix}{consumer.name}"

    def add_consumer(self, consumer: Consumer) -> None:
        self.consumers.append(consumer)

    def engine_unreachable(self, exc: BaseException) -> bool:
        """Whether a handler's failure means an engine is down, not that the message is bad."""
        return isinstance(exc, self.engine_down) or isinstance(exc.__cause__, self.engine_down)

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed and self._exchange is not None

    async def start(self) -> None:
        """Connect in the background: a service starts and serves while the broker is down."""
        self._tasks.append(asyncio.create_task(self._connect_forever(), name="broker-connect"))

    async def wait_connected(self, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    async def ping(self) -> None:
        if not self.connected:
            raise BrokerUnavailable("not connected to RabbitMQ")

    async def _connect_forever(self) -> None:
        await retry_forever(self._connect, what="connecting to RabbitMQ")

    async def _connect(self) -> None:
        # Built before connecting so close() can stop it mid-attempt: a robust connection
        # cancelled while connecting schedules its own reconnection, which would keep a
        # stopping process alive (uvicorn failing to bind its port, say) forever.
        connection = aio_pika.RobustConnection(make_url(self.settings.amqp_url))
        self._connecting = connection
        try:
            await connection.connect(timeout=5)
            # Published mandatory (aio-pika's default) and with on_return_raises: should a message
            # still find no queue (its queues deleted under a running fleet, say), the broker
            # returns it, publish() fails and the outbox keeps it, instead of a confirm for a
            # message RabbitMQ dropped. With the topology below it always routes.
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange = await channel.declare_exchange(
                self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
            # Before anything is published (publish() waits for _exchange, set below): RabbitMQ
            # confirms a message no queue is bound to and drops it, so a producer connecting
            # before the consumers ever did would lose what its outbox then marks sent.
            # Declared through the robust publish channel, they are declared again when it is
            # restored after a reconnection, and publish() waits for that restoration.
            for spec in self.topology:
                await self._declare_queue(channel, exchange, spec)
            for consumer in self.consumers:
                await self._start_consumer(connection, exchange, consumer)
        except BaseException:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                    await connection.close()
            raise
        finally:
            self._connecting = None
        self._connection = connection
        self._publish_channel = channel  # type: ignore[assignment]
        self._exchange = exchange
        self._connected.set()
        log.info("connected to RabbitMQ, exchange %s", self.exchange_name)

    async def _declare_queue(self, channel: Any, exchange: Any, spec: QueueSpec) -> Any:
        """A consumer's main queue (with exactly its consumer's arguments), its DLQ and its
        bindings; not its retry queue, whose TTL is the consumer's own setting."""
        name = f"{self.settings.amqp_queue_prefix}{spec.name}"
        await channel.declare_queue(f"{name}.dlq", durable=True)
        queue = await channel.declare_queue(name, durable=True, arguments=main_queue_arguments(name))
        for pattern in spec.bindings:
            await queue.bind(exchange, routing_key=pattern)
        return queue

    async def _start_consumer(
        self, connection: AbstractRobustConnection, exchange: Any, consumer: Consumer
    ) -> None:
        name = self.queue_name(consumer)
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=self.settings.consumer_prefetch)
        await channel.declare_queue(
            f"{name}.retry",
            durable=True,
            arguments={
                "x-message-ttl": self.settings.consumer_retry_delay_ms,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": name,
            },
        )
        spec = QueueSpec(consumer.name, tuple(consumer.bindings))
        queue = await self._declare_queue(channel, exchange, spec)
        if consumer.batch is not None:
            arrived: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
            self._tasks.append(
                asyncio.create_task(self._batches(consumer, name, arrived), name=f"{name}-batches")
            )
            await queue.consume(arrived.put)
            return
        consumer._queues = [asyncio.Queue() for _ in range(max(1, consumer.workers))]
        for index, pending in enumerate(consumer._queues):
            self._tasks.append(
                asyncio.create_task(self._work(consumer, name, pending), name=f"{name}-worker-{index}")
            )

        async def dispatch(message: AbstractIncomingMessage) -> None:
            key = message.headers.get("x-aggregate-id") or message.message_id or ""
            slot = int(hashlib.blake2b(str(key).encode(), digest_size=4).hexdigest(), 16)
            await consumer._queues[slot % len(consumer._queues)].put(message)

        await queue.consume(dispatch)

    async def _work(
        self, consumer: Consumer, name: str, pending: asyncio.Queue[AbstractIncomingMessage]
    ) -> None:
        while True:
            stop_if_cancelled()
            message = await pending.get()
            try:
                await self._handle(consumer, name, message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not settle a message of %s", name)

    async def _batches(
        self, consumer: Consumer, name: str, arrived: asyncio.Queue[AbstractIncomingMessage]
    ) -> None:
        size = max(1, consumer.batch_size or self.settings.consumer_batch_size)
        linger = self.settings.consumer_batch_linger_ms / 1000
        while True:
            stop_if_cancelled()
            batch = [await arrived.get()]
            _take(arrived, batch, size)
            if len(batch) < size and linger > 0:
                # The messages of one publisher's burst are delivered a few at a time.
                await asyncio.sleep(linger)
                _take(arrived, batch, size)
            try:
                await self._handle_batch(consumer, name, batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not settle a batch of %s", name)

    async def _handle_batch(
        self, consumer: Consumer, name: str, messages: list[AbstractIncomingMessage]
    ) -> None:
        assert consumer.batch is not None
        outcomes: list[BaseException | None] = [None] * len(messages)
        readable: list[int] = []
        envelopes: list[Envelope] = []
        for index, message in enumerate(messages):
            try:
                envelopes.append(Envelope.from_bytes(message.body))
                readable.append(index)
            except UnreadableMessage as exc:
                outcomes[index] = exc
        if envelopes:
            answered: Outcomes
            # A span for the batch, in the trace each message's headers carry (shared/tracing.py).
            with tracing.consuming(name, [messages[i].headers for i in readable]) as spans:
                try:
                    answered = await consumer.batch(envelopes)
                    if len(answered) != len(envelopes):
                        raise RuntimeError(f"{len(answered)} outcomes for {len(envelopes)} messages")
                except Exception as exc:
                    # The batch as a whole failed (an engine down, say): each message goes its
                    # own way as if it had failed alone.
                    answered = [exc] * len(envelopes)
                for one, outcome in zip(spans, answered, strict=True):
                    if outcome is not None:
                        tracing.failed(one, outcome)
            for index, outcome in zip(readable, answered, strict=True):
                outcomes[index] = outcome
        # Per channel the last message to acknowledge: after a reconnection a batch may hold
        # messages of the closed channel (the broker delivers them again) and of the new one.
        last: dict[int, AbstractIncomingMessage] = {}
        for message, outcome in zip(messages, outcomes, strict=True):
            try:
                channel = id(message.channel)  # raises once that channel is closed
                if outcome is not None and not await self._forward(name, message, outcome):
                    await message.nack(requeue=True)
                    continue
            except Exception:
                log.warning("could not settle message %s of %s", message.message_id, name, exc_info=True)
                continue
            if outcome is None:
                self._count(name, "ok")
            # A failed message's copy is in the retry queue or the DLQ: acknowledged below.
            last[channel] = message
        for message in last.values():
            # Every message delivered before it on its channel is in this batch or an earlier,
            # settled one (one loop, in delivery order): one ack covers them all.
            try:
                await message.ack(multiple=True)
            except Exception:
                log.warning("could not acknowledge a batch of %s", name, exc_info=True)

    async def _forward(self, name: str, message: AbstractIncomingMessage, exc: BaseException) -> bool:
        """Publish a failed message's copy to the retry queue (or, retries spent, the DLQ);
        False when the broker could not take it. The original is left to acknowledge."""
        attempt = int(str(message.headers.get(ATTEMPT_HEADER) or 0)) + 1
        unreadable = isinstance(exc, UnreadableMessage)
        if not unreadable and self.engine_unreachable(exc):
            dead = False
            attempt -= 1  # an engine down is not the message's fault: its retries are kept
        else:
            dead = attempt > self.settings.consumer_max_retries
        target = f"{name}.dlq" if dead else f"{name}.retry"
        headers = dict(message.headers)
        headers[ATTEMPT_HEADER] = attempt
        headers["x-last-error"] = f"{type(exc).__name__}: {exc}"[:500]
        if unreadable:
            headers[UNREADABLE_HEADER] = str(exc)[:1000]
        log.warning(
            "message %s failed on attempt %d (%r); sent to %s", message.message_id, attempt, exc, target
        )
        try:
            await self._publish_to_queue(target, message.body, message.message_id, headers)
        except Exception:
            return False
        self._count(name, "dead" if dead else "retry")
        return True

    async def _handle(self, consumer: Consumer, name: str, message: AbstractIncomingMessage) -> None:
        try:
            envelope = Envelope.from_bytes(message.body)
            token = correlation_id.set(envelope.correlation_id)
            try:
                assert consumer.handler is not None
                with tracing.consuming(name, [message.headers]):
                    await consumer.handler(envelope)
            finally:
                correlation_id.reset(token)
        except UnreadableMessage as exc:
            # Like any failing message it goes through the retry queue (the queue moves on)
            # and, once its retries are spent, to the DLQ, the reason in its own header.
            await self._retry_or_bury(name, message, exc)
            return
        except Exception as exc:
            await self._retry_or_bury(name, message, exc)
            return
        await message.ack()
        self._count(name, "ok")

    async def _retry_or_bury(self, name: str, message: AbstractIncomingMessage, exc: Exception) -> None:
        if await self._forward(name, message, exc):
            await message.ack()
        else:
            # The broker could not take the copy: give the original back to the queue.
            await message.nack(requeue=True)

    def _count(self, queue: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.messages_consumed.labels(queue, outcome).inc()

    async def _publish_to_queue(
        self, queue: str, body: bytes, message_id: str | None, headers: dict[str, Any]
    ) -> None:
        if self._publish_channel is None:
            raise BrokerUnavailable("not connected")
        message = aio_pika.Message(
            body,
            message_id=message_id,
            headers=headers,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
            await self._publish_channel.default_exchange.publish(message, routing_key=queue)

    async def publish(self, envelope: Envelope | dict[str, Any]) -> None:
        """Publish and wait for the broker's confirm; raises BrokerUnavailable otherwise."""
        doc = envelope.as_document() if isinstance(envelope, Envelope) else envelope
        if not self.connected or self._exchange is None:
            raise BrokerUnavailable("not connected to RabbitMQ")
        message = aio_pika.Message(
            json.dumps(doc).encode(),
            message_id=doc["messageId"],
            correlation_id=doc.get("correlationId"),
            type=doc["type"],
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers={"x-aggregate-id": f"{doc['aggregateType']}-{doc['aggregateId']}"},
        )
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                await self._publish_routed(message, doc["type"])
        except Exception as exc:
            raise BrokerUnavailable(f"publish failed: {exc!r}") from exc
        if self.metrics is not None:
            self.metrics.messages_published.labels(doc["type"]).inc()

    async def _publish_routed(self, message: aio_pika.Message, routing_key: str) -> None:
        assert self._exchange is not None and self._publish_channel is not None
        # After a reconnection the channel is usable before aio-pika has declared its queues
        # again: wait for that, so the topology exists before the message goes out.
        await self._publish_channel.ready()
        await self._exchange.publish(message, routing_key=routing_key)

    async def close(self) -> None:
        if self._connecting is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                    await self._connecting.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._connection is not None:
            # A broker that is down (or paused) may never answer the close handshake.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                    await self._connection.close()
        self._connection = None
        self._exchange = None
        self._publish_channel = None


def _take(
    arrived: asyncio.Queue[AbstractIncomingMessage], batch: list[AbstractIncomingMessage], size: int
) -> None:
    while len(batch) < size and not arrived.empty():
        batch.append(arrived.get_nowait())
