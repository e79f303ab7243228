"""The Notification service app: its MongoDB database and indexes, the consumer of booking
and payment messages, and the background sender."""

from fastapi import FastAPI

from notification_service import api
from notification_service.messaging import dispatch_consumer
from notification_service.service import Notifications
from notification_service.settings import NotificationSettings
from notification_service.store import NotificationStore
from shared.wiring import Wiring, service_app


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    settings = settings or NotificationSettings()

    async def start(wire: Wiring) -> None:
        database = wire.mongodb(settings.mongo_url, settings.mongo_database)
        store = NotificationStore(database)
        await store.ensure_indexes()
        desk = Notifications(
            store,
            max_attempts=settings.send_max_attempts,
            retry_seconds=settings.send_retry_seconds,
            failing_domain=settings.failing_domain,
        )
        broker = wire.broker(settings)
        broker.add_consumer(dispatch_consumer(desk))
        wire.state.notifications = desk
        await wire.start_messaging()
        desk.start(settings.sender_poll_seconds)
        wire.on_stop(desk.stop)

    return service_app(
        settings,
        title="Notification service",
        description="Notifications built from domain messages, stored in MongoDB, sent in the background.",
        start=start,
        routers=[api.router],
    )
