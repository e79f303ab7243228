"""Helpers of the shared/ integration tests: a broker on its own exchange and queue prefix,
polling with a deadline, and removal of the queues a test declared."""

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from shared.contracts import Envelope
from shared.messaging.broker import Broker, Consumer
from shared.messaging.topology import FLEET_QUEUES
from shared.settings import ServiceSettings
from tests.support import AMQP_URL, RABBITMQ_API, unique

T = TypeVar("T")


def broker_settings(**overrides: Any) -> ServiceSettings:
    """Settings on a fresh exchange and queue prefix, so no other test or fleet sees our queues."""
    tag = unique("shared")
    values: dict[str, Any] = {
        "service_name": "shared-tests",
        "amqp_url": AMQP_URL,
        "amqp_exchange": f"{tag}.events",
        "amqp_queue_prefix": f"{tag}.",
        "json_logs": False,
        **overrides,
    }
    return ServiceSettings(**values)


class Inbox:
    """A consumer handler that records every envelope it is given."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []

    async def __call__(self, envelope: Envelope) -> None:
        self.received.append(envelope)

    def ids(self) -> list[str]:
        return [e.message_id for e in self.received]


@asynccontextmanager
async def connected_broker(
    settings: ServiceSettings, *consumers: Consumer, engine_down: tuple[type[BaseException], ...] = ()
) -> AsyncIterator[Broker]:
    """A started, connected broker; on exit it closes and its queues and exchange are deleted."""
    broker = Broker(settings, engine_down=engine_down)
    for consumer in consumers:
        broker.add_consumer(consumer)
    await broker.start()
    try:
        await broker.wait_connected(timeout=20)
        yield broker
    finally:
        await broker.close()
        # Every broker also declares the fleet's consumer queues under its prefix.
        fleet = [f"{settings.amqp_queue_prefix}{spec.name}" for spec in FLEET_QUEUES]
        await delete_topology(settings, [broker.queue_name(c) for c in consumers] + fleet)


async def delete_topology(settings: ServiceSettings, queues: list[str]) -> None:
    async with httpx.AsyncClient(auth=("guest", "guest"), timeout=5) as api:
        for queue in queues:
            for name in (queue, f"{queue}.retry", f"{queue}.dlq"):
                with contextlib.suppress(httpx.HTTPError):
                    await api.delete(f"{RABBITMQ_API}/queues/%2F/{quote(name, safe='')}")
        with contextlib.suppress(httpx.HTTPError):
            await api.delete(f"{RABBITMQ_API}/exchanges/%2F/{quote(settings.amqp_exchange, safe='')}")
