"""The payment service against the real engines: a throwaway database, its own Redis db
number (keys stay `payment:{id}`, and ids restart at 1 in every database, so each test module
gets a db number of its own, the `redis_db` fixture, which no parallel worker shares), a unique
exchange and queue prefix."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import redis.asyncio as aioredis
from fastapi import FastAPI

from payment_service.app import create_app
from payment_service.settings import PaymentSettings
from tests.support import create_pg_database, running, unique

REDIS_BASE = "redis://127.0.0.1:6379"
CLOSED_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: Redis "down"


def payment_settings(redis_db: int | None, **overrides: Any) -> PaymentSettings:
    tag = unique("pay")
    values: dict[str, Any] = {
        "database_url": create_pg_database("payments", "test_payments"),
        "redis_url": f"{REDIS_BASE}/{redis_db}" if redis_db is not None else CLOSED_REDIS,
        "amqp_exchange": f"{tag}.events",
        "amqp_queue_prefix": f"{tag}.",
        "outbox_poll_seconds": 0.2,
        **overrides,
    }
    return PaymentSettings(**values)


async def flush_redis_db(redis_db: int) -> None:
    client = aioredis.from_url(f"{REDIS_BASE}/{redis_db}")
    try:
        await client.flushdb()
    finally:
        await client.aclose()


@asynccontextmanager
async def payment_app(
    redis_db: int | None, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """The app running against a fresh database; `redis_db=None` means Redis unreachable."""
    if redis_db is not None:
        await flush_redis_db(redis_db)
    app = create_app(payment_settings(redis_db, **overrides))
    async with running(app) as client:
        yield client, app


def charge(reservation_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "reservationId": reservation_id or unique("res"),
        "userId": fields.pop("userId", "user-1"),
        "amount": fields.pop("amount", 25000),
        "paymentMethod": fields.pop("paymentMethod", "mobile_money"),
        **fields,
    }


def metric(text: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus text exposition; 0 when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.compile(rf"^{re.escape(name)}(\{{(?P<labels>[^}}]*)\}})? (?P<value>\S+)$", re.M)
    for match in pattern.finditer(text):
        found = ",".join(sorted((match.group("labels") or "").split(","))) if match.group("labels") else ""
        if found == wanted:
            return float(match.group("value"))
    return 0.0
