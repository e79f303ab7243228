"""A running analytics service with its own index, exchange and queues."""

import asyncio
import contextlib
from urllib.parse import quote

import httpx
from opensearchpy import AsyncOpenSearch

from analytics_service.app import create_app
from analytics_service.settings import AnalyticsSettings
from tests.support import AMQP_URL, OPENSEARCH_URL, RABBITMQ_API, running, unique


def analytics_settings(**overrides: object) -> AnalyticsSettings:
    tag = unique("an")
    values: dict[str, object] = {
        "index": f"{tag}_event_analytics",
        "amqp_url": AMQP_URL,
        "amqp_exchange": f"{tag}.events",
        "amqp_queue_prefix": f"{tag}.",
        "opensearch_url": OPENSEARCH_URL,
        "consumer_retry_delay_ms": 200,
        "json_logs": False,
        **overrides,
    }
    return AnalyticsSettings(**values)


async def drop_queues(settings: AnalyticsSettings) -> None:
    """Durable test queues and exchange would otherwise outlive the test run."""
    queue = f"{settings.amqp_queue_prefix}analytics.projection"
    async with httpx.AsyncClient(base_url=RABBITMQ_API, auth=("guest", "guest"), timeout=5) as api:
        with contextlib.suppress(httpx.HTTPError):
            for name in (queue, f"{queue}.retry", f"{queue}.dlq"):
                await api.delete(f"/queues/%2F/{quote(name, safe='')}")
            await api.delete(f"/exchanges/%2F/{quote(settings.amqp_exchange, safe='')}")


async def drop_indices(index: str) -> None:
    search = AsyncOpenSearch(hosts=[OPENSEARCH_URL])
    try:
        with contextlib.suppress(Exception):
            await search.indices.delete(index=f"{index}*")
    finally:
        await search.close()


@contextlib.asynccontextmanager
async def analytics_service(*, wait_ready: bool = True, **overrides: object):
    """(settings, app, client) of a running analytics service with its own index and exchange."""
    settings = analytics_settings(**overrides)
    app = create_app(settings)
    try:
        async with running(app) as client:
            await app.state.broker.wait_connected(15)
            if wait_ready:
                await _wait_ready(client)
            yield settings, app, client
    finally:
        await drop_indices(settings.index)
        await drop_queues(settings)


async def _wait_ready(client) -> None:
    for _ in range(200):
        if (await client.get("/ready")).status_code == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError((await client.get("/ready")).json())
