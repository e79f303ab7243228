import pytest

from tests.integration.event_service.helpers import EventApp, event_app


@pytest.fixture(scope="module")
async def svc():
    async with event_app() as running_app:
        yield running_app


@pytest.fixture
def client(svc: EventApp):
    return svc.client
