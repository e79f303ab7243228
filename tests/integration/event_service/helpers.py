"""Shared by the event service's integration and exercise tests: an app on a throwaway
database and exchange, event factories, a consumer of the exchange, and real processes."""

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aio_pika
import httpx
from fastapi import FastAPI

from event_service.app import create_app
from event_service.settings import EventSettings
from tests.support import AMQP_URL, ROOT, create_pg_database, remember_resources, running, unique

FUTURE = "2031-06-21T20:00:00Z"


@dataclass
class EventApp:
    client: httpx.AsyncClient
    app: FastAPI
    settings: EventSettings


def event_settings(database_url: str | None = None) -> EventSettings:
    tag = unique("evt")
    return EventSettings(
        database_url=database_url or create_pg_database("events", "test_events"),
        amqp_exchange=f"{tag}.events",
        amqp_queue_prefix=f"{tag}.",
        outbox_poll_seconds=0.2,
    )


@contextlib.asynccontextmanager
async def event_app(settings: EventSettings | None = None) -> AsyncIterator[EventApp]:
    settings = settings or event_settings()
    app = create_app(settings)
    async with running(app) as client:
        yield EventApp(client, app, settings)


def event_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Festival de Jazz",
        "description": "Open air",
        "eventDate": FUTURE,
        "location": "Saint-Louis",
        "category": "music",
        "totalCapacity": 100,
        "ticketPrice": 15000,
    }
    body.update(overrides)
    return body


async def create_event(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    answer = await client.post("/api/events", json=event_body(**overrides))
    assert answer.status_code == 201, answer.text
    event: dict[str, Any] = answer.json()
    return event


@contextlib.asynccontextmanager
async def bound_queue(
    settings: EventSettings, pattern: str = "event.#"
) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """A private queue bound to the test's own exchange (declared here if the app has not yet)."""
    connection = await aio_pika.connect_robust(AMQP_URL)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            settings.amqp_exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=pattern)
        yield queue
    finally:
        await connection.close()


async def next_message(queue: aio_pika.abc.AbstractQueue, deadline_seconds: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        message = await queue.get(no_ack=True, fail=False)
        if message is not None:
            body: dict[str, Any] = json.loads(message.body)
            return body
        await asyncio.sleep(0.05)
    raise AssertionError("no message arrived before the deadline")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def service_processes(settings: EventSettings, count: int) -> Iterator[list[str]]:
    """`count` real uvicorn processes of the event service sharing one database; their URLs."""
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    remember_resources(settings)
    try:
        for _ in range(count):
            port = free_port()
            env = {
                **os.environ,
                "EVENT_PORT": str(port),
                "EVENT_DATABASE_URL": settings.database_url,
                "AMQP_EXCHANGE": settings.amqp_exchange,
                "AMQP_QUEUE_PREFIX": settings.amqp_queue_prefix,
                "LOG_LEVEL": "WARNING",
            }
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "event_service"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        for url, process in zip(urls, processes, strict=True):
            while True:
                assert process.poll() is None, f"event service at {url} exited"
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                        break
                assert time.monotonic() < deadline, f"event service at {url} never became ready"
                time.sleep(0.2)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
