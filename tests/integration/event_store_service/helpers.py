"""An Event store app on a throwaway database, exchange and queues, cleaned up afterwards."""

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aio_pika
import httpx
from fastapi import FastAPI

from event_store_service.app import create_app
from event_store_service.messaging import RECORDER
from event_store_service.settings import EventStoreSettings
from shared import mongo
from tests.support import AMQP_URL, running, unique

T = TypeVar("T")


def store_settings(**overrides: Any) -> EventStoreSettings:
    tag = unique("es")
    values: dict[str, Any] = {
        "mongo_database": tag,
        "amqp_exchange": f"{tag}.events",
        "amqp_queue_prefix": f"{tag}.",
        "consumer_retry_delay_ms": 200,
        "json_logs": False,
        **overrides,
    }
    return EventStoreSettings(**values)


async def cleanup(settings: EventStoreSettings) -> None:
    """Drop the database, the recorder's queues and the exchange the settings name."""
    client = mongo.make_client(settings.mongo_url)
    try:
        await client.drop_database(settings.mongo_database)
    finally:
        await client.close()
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        queue = f"{settings.amqp_queue_prefix}{RECORDER}"
        for name in (queue, f"{queue}.retry", f"{queue}.dlq"):
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
        with contextlib.suppress(Exception):
            await channel.exchange_delete(settings.amqp_exchange)


@asynccontextmanager
async def event_store(
    settings: EventStoreSettings | None = None, *, clean: bool = True, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = settings or store_settings(**overrides)
    app = create_app(settings)
    try:
        async with running(app) as client:
            yield app, client
    finally:
        if clean:
            await cleanup(settings)


def event_body(aggregate_id: str, event_type: str = "reservation.updated", **fields: Any) -> dict[str, Any]:
    return {
        "aggregateId": aggregate_id,
        "aggregateType": fields.pop("aggregateType", "RESERVATION"),
        "eventType": event_type,
        "eventData": fields.pop("eventData", {}),
        **fields,
    }
