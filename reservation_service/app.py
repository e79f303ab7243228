"""The Reservation service app: its MongoDB database and indexes, the event service client,
the outbox relay and the seat sweep."""

from datetime import timedelta

from fastapi import FastAPI

from reservation_service import api
from reservation_service.clients import EventSeats, Orchestrator
from reservation_service.service import Reservations
from reservation_service.settings import ReservationSettings
from reservation_service.store import ReservationStore
from shared.http import ServiceClient
from shared.peers import Peers
from shared.settings import require_service_token
from shared.wiring import Wiring, service_app


def create_app(settings: ReservationSettings | None = None) -> FastAPI:
    settings = settings or ReservationSettings()
    # Seats are booked and released at the event service's internal endpoints: without the
    # token, every direct booking would be refused and every seat held waits forever.
    require_service_token(settings)

    async def start(wire: Wiring) -> None:
        database = wire.mongodb(settings.mongo_url, settings.mongo_database)
        store = ReservationStore(database)
        await store.ensure_indexes()

        def client(url: str) -> ServiceClient:
            made = ServiceClient(
                url,
                timeout=settings.http_timeout_seconds,
                retries=settings.http_retries,
                token=settings.service_token,
            )
            wire.on_stop(made.aclose)
            return made

        events = client(settings.event_service_url)
        sagas = client(settings.saga_orchestrator_url) if settings.saga_orchestrator_url else None
        # The event service refusing our token: not ready until it accepts it (shared/peers.py).
        # Not the orchestrator: what this service asks of it is public.
        peers = Peers([events], settings)
        wire.required("service-token", peers.check)
        wire.background(peers.watch(), name="service-token-watch")
        wire.broker(settings)
        relay = wire.mongo_relay([store.reservations], settings.outbox_poll_seconds)
        desk = Reservations(
            store,
            EventSeats(events),
            published=relay.wake,
            request_grace=timedelta(seconds=settings.seat_request_grace_seconds),
            orchestrator=Orchestrator(sagas) if sagas is not None else None,
        )
        wire.state.store = store
        wire.state.reservations = desk
        await wire.start_messaging()
        wire.background(desk.run_sweep(settings.seat_sweep_seconds), name="seat-sweep")

    return service_app(
        settings,
        title="Reservation service",
        description="Reservations in MongoDB: status machine, timeline, statistics, seats booked "
        "at the event service without leaks.",
        start=start,
        routers=[api.router],
    )
