"""The event service app: PostgreSQL engine, migrations, outbox relay (DB1, DB2, REST1)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from event_service import api
from event_service.service import Events
from event_service.settings import EventSettings
from event_service.store import EventRepository
from shared import sql
from shared.messaging.broker import Broker
from shared.messaging.outbox import SqlOutboxRelay
from shared.web import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: EventSettings | None = None) -> FastAPI:
    settings = settings or EventSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await sql.migrate(settings.database_url, MIGRATIONS)
        engine = sql.make_engine(settings.database_url)
        broker = Broker(settings, app.state.metrics)
        relay = SqlOutboxRelay(engine, broker, settings.outbox_poll_seconds, app.state.metrics)
        app.state.engine = engine
        app.state.broker = broker
        app.state.relay = relay
        app.state.events = Events(
            EventRepository(
                engine,
                max_attempts=settings.booking_max_attempts,
                backoff_seconds=settings.booking_backoff_seconds,
                metrics=app.state.metrics,
            ),
            published=relay.wake,
        )
        app.state.readiness["postgres"] = lambda: sql.ping(engine)
        app.state.optional_checks["rabbitmq"] = broker.ping
        await broker.start()
        relay.start()
        try:
            yield
        finally:
            await relay.stop()
            await broker.close()
            await engine.dispose()

    return create_service_app(
        settings,
        title="Event service",
        description="Events and seats in PostgreSQL: atomic booking with optimistic locking.",
        lifespan=lifespan,
        routers=[api.router],
    )
