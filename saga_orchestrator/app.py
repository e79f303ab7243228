"""The orchestrator app: the durable saga log in PostgreSQL, its outbox relay, the
participants' HTTP clients and the orchestrator that drives and recovers sagas."""

import os
import socket
import uuid
from pathlib import Path

from fastapi import FastAPI

from saga_orchestrator import api
from saga_orchestrator.clients import Participants
from saga_orchestrator.orchestrator import Orchestrator
from saga_orchestrator.service import SagaService
from saga_orchestrator.settings import SagaSettings
from saga_orchestrator.store import SagaStore
from shared.peers import Peers
from shared.settings import require_service_token
from shared.wiring import Wiring, service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: SagaSettings | None = None) -> FastAPI:
    settings = settings or SagaSettings()
    # Every participant call needs the token: without it, every saga would wait forever.
    require_service_token(settings)

    async def start(wire: Wiring) -> None:
        engine = await wire.postgres(settings.database_url, MIGRATIONS)
        wire.broker(settings)
        relay = wire.sql_relay(engine, settings.outbox_poll_seconds)
        # One lease owner per app instance: two orchestrators never drive the same saga at once.
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        store = SagaStore(engine, owner, settings.lease_seconds)
        participants = Participants(settings)
        # A participant refusing our token: not ready, and no saga taken (shared/peers.py).
        peers = Peers(participants.clients, settings)
        wire.required("service-token", peers.check)
        orchestrator = Orchestrator(store, participants, settings, relay, wire.state.metrics, peers)
        wire.state.saga_store = store
        wire.state.participants = participants
        wire.state.orchestrator = orchestrator
        wire.state.sagas = SagaService(store, participants, orchestrator, settings)
        await wire.start_messaging()
        wire.on_stop(participants.aclose)
        orchestrator.start()
        wire.on_stop(orchestrator.stop)
        wire.background(peers.watch(), name="service-token-watch")

    app = service_app(
        settings,
        title="Saga orchestrator",
        description="The booking saga: reserve seats, create the reservation, charge, confirm; "
        "compensations in reverse order.",
        start=start,
        routers=[api.router],
    )
    # A console shows that slow motion is on.
    app.state.health_details["stepDelayMs"] = settings.step_delay_ms
    return app
