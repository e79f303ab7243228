"""The Notification service app: its MongoDB database, indexes, broker connection."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from notification_service import api
from notification_service.settings import NotificationSettings
from shared import mongo
from shared.messaging.broker import Broker
from shared.web import create_service_app


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    settings = settings or NotificationSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = mongo.make_client(settings.mongo_url)
        database = client[settings.mongo_database]
        broker = Broker(settings, app.state.metrics)
        app.state.mongo = client
        app.state.database = database
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
        title="Notification service",
        description="Notifications built from domain messages, stored in MongoDB.",
        lifespan=lifespan,
        routers=[api.router],
    )
