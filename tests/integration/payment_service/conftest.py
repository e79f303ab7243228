from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.integration.payment_service.helpers import payment_app


@pytest.fixture(scope="module")
async def payments(redis_db: int) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    async with payment_app(redis_db) as running_app:
        yield running_app


@pytest.fixture
def client(payments: tuple[httpx.AsyncClient, FastAPI]) -> httpx.AsyncClient:
    return payments[0]


@pytest.fixture
def app(payments: tuple[httpx.AsyncClient, FastAPI]) -> FastAPI:
    return payments[1]
