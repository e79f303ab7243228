"""The Reservation service app: its MongoDB database and indexes, the event service client,
the outbox relay and the seat sweep."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from reservation_service import api
from reservation_service.booking import Reservations
from reservation_service.sagas import Orchestrator
from reservation_service.seats import EventSeats
from reservation_service.settings import ReservationSettings
from reservation_service.store import ReservationStore
from shared import mongo
from shared.http import ServiceClient
from shared.messaging.broker import Broker
from shared.messaging.outbox import MongoOutboxRelay
from shared.web import create_service_app


def create_app(settings: ReservationSettings | None = None) -> FastAPI:
    settings = settings or ReservationSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = mongo.make_client(settings.mongo_url)
        database = client[settings.mongo_database]
        store = ReservationStore(database)
        await store.ensure_indexes()
        broker = Broker(settings, app.state.metrics)
        relay = MongoOutboxRelay(
            [store.reservations], broker, settings.outbox_poll_seconds, app.state.metrics
        )
        events = ServiceClient(
            settings.event_service_url, timeout=settings.http_timeout_seconds, retries=settings.http_retries
        )
        orchestrator_url = settings.saga_orchestrator_url
        sagas = (
            ServiceClient(
                orchestrator_url, timeout=settings.http_timeout_seconds, retries=settings.http_retries
            )
            if orchestrator_url
            else None
        )
        desk = Reservations(
            store,
            EventSeats(events),
            published=relay.wake,
            request_grace=timedelta(seconds=settings.seat_request_grace_seconds),
            orchestrator=Orchestrator(sagas) if sagas is not None else None,
        )
        app.state.mongo = client
        app.state.database = database
        app.state.broker = broker
        app.state.store = store
        app.state.relay = relay
        app.state.reservations = desk
        app.state.readiness["mongodb"] = lambda: mongo.ping(database)
        app.state.optional_checks["rabbitmq"] = broker.ping
        await broker.start()
        relay.start()
        sweep = asyncio.create_task(desk.run_sweep(settings.seat_sweep_seconds), name="seat-sweep")
        try:
            yield
        finally:
            sweep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweep
            await relay.stop()
            await broker.close()
            await events.aclose()
            if sagas is not None:
                await sagas.aclose()
            await client.close()

    return create_service_app(
        settings,
        title="Reservation service",
        description="Reservations in MongoDB: status machine, timeline, statistics, seats booked "
        "at the event service without leaks.",
        lifespan=lifespan,
        routers=[api.router],
    )
