"""Transactional outbox relays: publish what a committed change wrote, then mark it sent.

PostgreSQL services insert an `outbox` row in the transaction of their change
(shared/messaging/sql_outbox.py); MongoDB services push the message into the changed
document's `outbox` array in the same write (shared/messaging/mongo_outbox.py).
A crash after publishing and before marking sends the message again: delivery is
at-least-once. Consumers apply a message once all the same, by their own guards: a unique
index on messageId (notifications, the event store) or a version guard (analytics).
"""

import asyncio
import contextlib
import logging
from typing import Any, cast

from shared import faults
from shared.contracts import Envelope
from shared.faults import Fault
from shared.forever import stop_if_cancelled
from shared.messaging.broker import Broker, BrokerUnavailable
from shared.metrics import Metrics

log = logging.getLogger(__name__)

BATCH = 200


class Relay:
    """Polls every `interval` seconds, and at once when woken after a commit."""

    def __init__(self, broker: Broker, interval: float, metrics: Metrics | None = None) -> None:
        self.broker = broker
        if faults.on(Fault.NO_OUTBOX):
            self.broker = cast(Broker, _PublishOnce(broker))
        self.interval = interval
        self.metrics = metrics
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{type(self).__name__}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        while True:
            stop_if_cancelled()
            # Cleared before the pass, not after: a wake() during the pass (a commit after its
            # SELECT) must trigger another pass at once, not wait for the next interval.
            self._wake.clear()
            try:
                sent = await self.relay_once() if self.broker.connected else 0
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay pass failed")
                sent = 0
            if sent >= BATCH:
                continue  # more is waiting
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()

    async def relay_once(self) -> int:
        raise NotImplementedError


class _PublishOnce:
    """Teaching fault no-outbox: each committed message is published once, at once, as if
    sent right after the commit with no outbox behind it; one the broker cannot take (an
    outage) is lost instead of waiting in the outbox for the next pass."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    @property
    def connected(self) -> bool:
        return True  # no waiting for the broker: the message goes now or never

    async def publish(self, envelope: Envelope | dict[str, Any]) -> None:
        try:
            await self._broker.publish(envelope)
        except BrokerUnavailable as exc:
            doc = envelope.as_document() if isinstance(envelope, Envelope) else envelope
            log.error("no-outbox: message %s (%s) lost: %s", doc.get("messageId"), doc.get("type"), exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._broker, name)
