"""POLY2: a payment is cached as JSON (its GET answer) under `payment:{id}` for 3600 s."""

import json

import httpx
import pytest
import redis.asyncio as aioredis

from payment_service.cache import CacheManager, PaymentCache, payment_key
from shared.metrics import Metrics
from tests.integration.payment_service.helpers import REDIS_BASE, charge, payment_app
from tests.support import redis_db as another_redis_db


@pytest.fixture(scope="module")
async def redis(redis_db: int):
    client = aioredis.from_url(f"{REDIS_BASE}/{redis_db}")
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
async def client(redis_db: int):
    async with payment_app(redis_db) as (http, _):
        yield http


async def test_the_cached_answer_reads_back_and_an_unreadable_entry_is_a_miss(redis):
    # The payment cache alone, on the module's Redis database (no service in between).
    cache = PaymentCache(CacheManager(redis, Metrics("test")), ttl_seconds=60)
    doc = {"id": 987654, "status": "completed", "version": 2}
    assert payment_key(987654) == "payment:987654"
    assert await cache.put(doc)
    raw, parsed = await cache.get_answer(987654)  # type: ignore[misc]
    assert json.loads(raw) == parsed == doc
    for unreadable in (b"not json", b"[1, 2]", b'{"id": 987654, "version": "2"}'):
        await redis.set("payment:987654", unreadable, ex=60)
        assert await cache.get_answer(987654) is None
        assert await redis.get("payment:987654") is None  # dropped: the next read refills it


async def test_a_payment_is_cached_as_json_under_payment_id_for_an_hour(client: httpx.AsyncClient, redis):
    payment = (await client.post("/api/payments", json=charge())).json()
    read = (await client.get(f"/api/payments/{payment['id']}")).json()
    raw = await redis.get(f"payment:{payment['id']}")
    assert raw is not None
    assert json.loads(raw) == read == payment
    ttl = await redis.ttl(f"payment:{payment['id']}")
    assert 3500 < ttl <= 3600


async def test_the_cached_json_follows_each_change_with_a_fresh_ttl(client: httpx.AsyncClient, redis):
    payment = (await client.post("/api/payments", json=charge())).json()
    await redis.expire(f"payment:{payment['id']}", 10)
    refunded = (await client.post(f"/api/payments/{payment['id']}/compensate")).json()
    cached = json.loads(await redis.get(f"payment:{payment['id']}"))
    assert cached == refunded
    assert cached["status"] == "refunded"
    assert cached["version"] == 3  # completed -> refunding -> refunded
    assert await redis.ttl(f"payment:{payment['id']}") > 3500


async def test_only_payment_keys_are_written(client: httpx.AsyncClient, redis):
    payment = (await client.post("/api/payments", json=charge())).json()
    await client.get(f"/api/payments/{payment['id']}")
    keys = {k.decode() async for k in redis.scan_iter("*")}
    assert f"payment:{payment['id']}" in keys
    assert all(k.startswith("payment:") and k.removeprefix("payment:").isdigit() for k in keys)


async def test_the_ttl_comes_from_the_settings():
    with another_redis_db() as number:  # an app of its own, beside the module's
        async with payment_app(number, cache_ttl_seconds=120) as (http, _):
            payment = (await http.post("/api/payments", json=charge())).json()
            probe = aioredis.from_url(f"{REDIS_BASE}/{number}")
            try:
                assert 0 < await probe.ttl(f"payment:{payment['id']}") <= 120
            finally:
                await probe.aclose()
