import pytest

from notification_service.app import create_app
from notification_service.settings import NotificationSettings
from shared import mongo
from tests.support import MONGO_URL, drop_exchange, running, unique


@pytest.fixture(scope="module")
def settings() -> NotificationSettings:
    tag = unique("notif")
    return NotificationSettings(
        mongo_url=MONGO_URL,
        mongo_database=f"{tag}_notifications",
        amqp_exchange=f"{tag}.events",
        amqp_queue_prefix=f"{tag}.",
        sender_poll_seconds=0.1,
        send_retry_seconds=0.05,
        send_max_attempts=3,
        consumer_retry_delay_ms=100,
    )


@pytest.fixture(scope="module")
async def app_client(settings):
    app = create_app(settings)
    try:
        async with running(app) as client:
            await app.state.broker.wait_connected(15)
            yield app, client
    finally:
        client_ = mongo.make_client(settings.mongo_url)
        await client_.drop_database(settings.mongo_database)
        await client_.close()
        await drop_exchange(settings.amqp_exchange, prefix=settings.amqp_queue_prefix)


@pytest.fixture
def client(app_client):
    return app_client[1]


@pytest.fixture
def app(app_client):
    return app_client[0]
