"""The event service app: PostgreSQL engine, migrations, outbox relay (DB1, DB2, REST1)."""

from pathlib import Path

from fastapi import FastAPI

from event_service import api
from event_service.service import Events
from event_service.settings import EventSettings
from event_service.store import EventRepository
from shared.wiring import Wiring, service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: EventSettings | None = None) -> FastAPI:
    settings = settings or EventSettings()

    async def start(wire: Wiring) -> None:
        engine = await wire.postgres(settings.database_url, MIGRATIONS)
        wire.broker(settings)
        relay = wire.sql_relay(engine, settings.outbox_poll_seconds)
        wire.state.events = Events(
            EventRepository(engine),
            published=relay.wake,
            max_attempts=settings.booking_max_attempts,
            backoff_seconds=settings.booking_backoff_seconds,
            metrics=wire.state.metrics,
        )
        await wire.start_messaging()

    return service_app(
        settings,
        title="Event service",
        description="Events and seats in PostgreSQL: atomic booking with optimistic locking.",
        start=start,
        routers=[api.router],
    )
