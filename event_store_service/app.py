"""The Event store app: its MongoDB database, indexes, and the recorder consumer that appends
every domain message from RabbitMQ."""

from fastapi import FastAPI

from event_store_service import api
from event_store_service.messaging import recorder_consumer
from event_store_service.service import EventLog
from event_store_service.settings import EventStoreSettings
from event_store_service.store import EventStore
from shared.wiring import Wiring, service_app


def create_app(settings: EventStoreSettings | None = None) -> FastAPI:
    settings = settings or EventStoreSettings()

    async def start(wire: Wiring) -> None:
        database = wire.mongodb(settings.mongo_url, settings.mongo_database)
        store = EventStore(database)
        await store.ensure_indexes()
        broker = wire.broker(settings)
        log = EventLog(
            store, snapshot_every=settings.snapshot_every, append_attempts=settings.append_attempts
        )
        broker.add_consumer(recorder_consumer(log))
        wire.state.store = store
        wire.state.log = log
        await wire.start_messaging()

    return service_app(
        settings,
        title="Event store",
        description="Event sourcing in MongoDB: append with expected version, history, replay.",
        start=start,
        routers=[api.router],
    )
