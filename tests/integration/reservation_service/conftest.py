import pytest

from tests.integration.reservation_service.harness import (
    drop_database,
    drop_exchange,
    event_service,
    reservation_service,
    reservation_settings,
)
from tests.support import unique


@pytest.fixture(scope="module")
def tag() -> str:
    return unique("resv")


@pytest.fixture(scope="module")
async def event_url(tag):
    try:
        async with event_service(tag) as url:
            yield url
    finally:
        await drop_exchange(f"{tag}.events", prefix=f"{tag}.")


@pytest.fixture(scope="module")
async def service(tag, event_url):
    settings = reservation_settings(tag, event_url)
    try:
        async with reservation_service(settings) as (app, client):
            yield app, client
    finally:
        await drop_database(settings.mongo_database)


@pytest.fixture
def client(service):
    return service[1]


@pytest.fixture
def app(service):
    return service[0]
