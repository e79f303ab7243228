"""The reservation service with a REAL event service beside it: the event service app served
by uvicorn on a free port in this event loop, the reservation app in-process."""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from event_service.app import create_app as create_event_app
from event_service.settings import EventSettings
from reservation_service.app import create_app as create_reservation_app
from reservation_service.settings import ReservationSettings
from shared import mongo
from tests.support import MONGO_URL, create_pg_database, drop_exchange, running, unique


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def served(app: Any, port: int) -> AsyncIterator[str]:
    """`app` behind a real uvicorn server on 127.0.0.1:`port`, in this event loop."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def event_settings(tag: str) -> EventSettings:
    return EventSettings(
        database_url=create_pg_database("events"),
        amqp_exchange=f"{tag}.events",
        amqp_queue_prefix=f"{tag}.",
    )


@asynccontextmanager
async def event_service(
    tag: str, port: int | None = None, settings: EventSettings | None = None
) -> AsyncIterator[str]:
    """The real event service; yields its base URL."""
    async with served(create_event_app(settings or event_settings(tag)), port or free_port()) as url:
        yield url


def reservation_settings(tag: str, event_url: str, **overrides: Any) -> ReservationSettings:
    values: dict[str, Any] = {
        "mongo_url": MONGO_URL,
        "mongo_database": f"{tag}_reservations",
        "amqp_exchange": f"{tag}.events",
        "amqp_queue_prefix": f"{tag}.",
        "event_service_url": event_url,
        # The service alone: no orchestrator, so a cancel changes the status here (the saga
        # ids of these tests name no real saga); the e2e tests cover the cancellation saga.
        "saga_orchestrator_url": None,
        "seat_sweep_seconds": 0.2,
        "seat_request_grace_seconds": 1.0,
        "http_retries": 1,
        "http_timeout_seconds": 2.0,
        "outbox_poll_seconds": 0.2,
    }
    return ReservationSettings(**(values | overrides))


@asynccontextmanager
async def reservation_service(
    settings: ReservationSettings,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_reservation_app(settings)
    async with running(app) as client:
        yield app, client


@asynccontextmanager
async def reservation_fleet(
    prefix: str,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, str]]:
    """A real event service and a reservation service wired to it, with throwaway stores;
    yields (reservation app, its client, the event service's URL) and cleans up after."""
    tag = unique(prefix)
    async with event_service(tag) as event_url:
        settings = reservation_settings(tag, event_url)
        try:
            async with reservation_service(settings) as (app, client):
                yield app, client, event_url
        finally:
            await drop_database(settings.mongo_database)
            await drop_exchange(f"{tag}.events", prefix=f"{tag}.")


async def drop_database(name: str) -> None:
    client = mongo.make_client(MONGO_URL)
    await client.drop_database(name)
    await client.close()


async def create_event(event_url: str, *, capacity: int = 100, price: str = "25.00") -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=event_url, timeout=10) as http:
        answer = await http.post(
            "/api/events",
            json={
                "name": unique("Concert"),
                "eventDate": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
                "location": "Dakar",
                "category": "music",
                "totalCapacity": capacity,
                "ticketPrice": price,
            },
        )
        assert answer.status_code == 201, answer.text
        return dict(answer.json())


async def booked_seats(event_url: str, event_id: int) -> int:
    async with httpx.AsyncClient(base_url=event_url, timeout=10) as http:
        answer = await http.get(f"/api/events/{event_id}")
        assert answer.status_code == 200, answer.text
        return int(answer.json()["bookedSeats"])


def reservation_body(
    event_id: int, *, seats: int = 2, saga_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventId": event_id,
        "userId": extra.pop("userId", unique("user")),
        "userDetails": {"name": "Awa Diop", "email": "awa@example.com", "phone": "+221700000000"},
        "bookingDetails": {"seats": seats, "currency": "XOF"},
        **extra,
    }
    if saga_id is not None:
        body["sagaId"] = saga_id
    return body
