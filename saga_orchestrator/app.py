"""The orchestrator app: the durable saga log in PostgreSQL, its outbox relay, the
participants' HTTP clients and the orchestrator that drives and recovers sagas."""

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from saga_orchestrator import api
from saga_orchestrator.clients import Participants
from saga_orchestrator.orchestrator import Orchestrator
from saga_orchestrator.service import SagaService
from saga_orchestrator.settings import SagaSettings
from saga_orchestrator.store import SagaStore
from shared import sql
from shared.peers import Peers
from shared.settings import require_service_token
from shared.web import create_service_app
from shared.wiring import wired

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: SagaSettings | None = None) -> FastAPI:
    settings = settings or SagaSettings()
    # Every participant call needs the token: without it, every saga would wait forever.
    require_service_token(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with wired(app) as wire:
            engine = await wire.postgres(settings.database_url, MIGRATIONS)
            wire.broker(settings, engine_down=sql.ENGINE_DOWN)
            relay = wire.sql_relay(engine, settings.outbox_poll_seconds)
            # One lease owner per app instance: two orchestrators never drive the same saga at once.
            owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
            store = SagaStore(engine, owner, settings.lease_seconds)
            participants = Participants(settings)
            # A participant refusing our token: not ready, and no saga taken (shared/peers.py).
            peers = Peers(participants.clients, settings)
            wire.required("service-token", peers.check)
            orchestrator = Orchestrator(store, participants, settings, relay, app.state.metrics, peers)
            app.state.saga_store = store
            app.state.participants = participants
            app.state.orchestrator = orchestrator
            app.state.sagas = SagaService(store, participants, orchestrator, settings)
            await wire.start_messaging()
            wire.on_stop(participants.aclose)
            orchestrator.start()
            wire.on_stop(orchestrator.stop)
            wire.background(peers.watch(), name="service-token-watch")
            yield

    app = create_service_app(
        settings,
        title="Saga orchestrator",
        description="The booking saga: reserve seats, create the reservation, charge, confirm; "
        "compensations in reverse order.",
        lifespan=lifespan,
        routers=[api.router],
    )
    # A console shows that slow motion is on.
    app.state.health_details["stepDelayMs"] = settings.step_delay_ms
    return app
