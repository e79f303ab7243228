"""The Event store app: its MongoDB database, indexes, and the recorder consumer that appends
every domain message from RabbitMQ."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from event_store_service import api
from event_store_service.messaging import recorder_consumer
from event_store_service.service import EventLog
from event_store_service.settings import EventStoreSettings
from event_store_service.store import EventStore
from shared import mongo
from shared.messaging.broker import Broker
from shared.web import create_service_app


def create_app(settings: EventStoreSettings | None = None) -> FastAPI:
    settings = settings or EventStoreSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = mongo.make_client(settings.mongo_url)
        database = client[settings.mongo_database]
        store = EventStore(
            database,
            snapshot_every=settings.snapshot_every,
            append_attempts=settings.append_attempts,
        )
        await store.ensure_indexes()
        broker = Broker(settings, app.state.metrics)
        log = EventLog(store)
        broker.add_consumer(recorder_consumer(log))
        app.state.mongo = client
        app.state.database = database
        app.state.store = store
        app.state.log = log
        app.state.broker = broker
        app.state.readiness["mongodb"] = lambda: mongo.ping(database)
        app.state.optional_checks["rabbitmq"] = broker.ping
        await broker.start()
        try:
            yield
        finally:
            await broker.close()
            await client.close()

    return create_service_app(
        settings,
        title="Event store",
        description="Event sourcing in MongoDB: append with expected version, history, replay.",
        lifespan=lifespan,
        routers=[api.router],
    )
