"""The orchestrator app: the durable saga log in PostgreSQL and its outbox relay."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from saga_orchestrator import api
from saga_orchestrator.settings import SagaSettings
from shared import sql
from shared.messaging.broker import Broker
from shared.messaging.outbox import SqlOutboxRelay
from shared.web import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: SagaSettings | None = None) -> FastAPI:
    settings = settings or SagaSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await sql.migrate(settings.database_url, MIGRATIONS)
        engine = sql.make_engine(settings.database_url)
        broker = Broker(settings, app.state.metrics)
        relay = SqlOutboxRelay(engine, broker, settings.outbox_poll_seconds, app.state.metrics)
        app.state.engine = engine
        app.state.broker = broker
        app.state.relay = relay
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
        title="Saga orchestrator",
        description="The booking saga: reserve seats, create the reservation, charge, confirm; "
        "compensations in reverse order.",
        lifespan=lifespan,
        routers=[api.router],
    )
