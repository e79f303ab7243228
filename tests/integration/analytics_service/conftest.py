import pytest

from shared.messaging.broker import Broker
from tests.integration.analytics_service.service import analytics_service


@pytest.fixture
async def analytics():
    async with analytics_service() as service:
        yield service


@pytest.fixture
async def publisher(analytics):
    """A broker publishing on the service's exchange, as the event service would."""
    settings, _, _ = analytics
    broker = Broker(settings)
    await broker.start()
    await broker.wait_connected(15)
    try:
        yield broker
    finally:
        await broker.close()
