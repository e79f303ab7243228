"""POLY3: cache-aside reads (Redis, else PostgreSQL then fill) counted as hits and misses;
every status change rewrites the cached payment after its commit, guarded by version, so no
reader sees a stale status, not even a slow reader filling the cache late.

The first test reads a payment recorded by the use case alone (no answer was sent, so nothing
was cached): its read is POLY3's from the first request on, before any write to the cache."""

import asyncio
import json

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from payment_service.schemas import PaymentIn, new_payment, payment_view
from tests.integration.payment_service.helpers import REDIS_BASE, charge, metric, payment_app


@pytest.fixture(scope="module")
async def redis(redis_db: int):
    client = aioredis.from_url(f"{REDIS_BASE}/{redis_db}")
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
async def running_app(redis_db: int):
    async with payment_app(redis_db) as pair:
        yield pair


@pytest.fixture
def client(running_app: tuple[httpx.AsyncClient, FastAPI]) -> httpx.AsyncClient:
    return running_app[0]


@pytest.fixture
def app(running_app: tuple[httpx.AsyncClient, FastAPI]) -> FastAPI:
    return running_app[1]


async def _counters(client: httpx.AsyncClient) -> tuple[float, float]:
    text = (await client.get("/metrics")).text
    return metric(text, "cache_hits_total"), metric(text, "cache_misses_total")


async def test_a_payment_never_cached_is_read_from_postgresql_then_from_the_cache(
    client: httpx.AsyncClient, app: FastAPI, redis
):
    recorded = await app.state.payments.create(new_payment(PaymentIn.model_validate(charge())), None)
    payment = payment_view(recorded.value)
    url = f"/api/payments/{payment['id']}"
    hits, misses = await _counters(client)

    assert (await client.get(url)).json() == payment
    assert await _counters(client) == (hits, misses + 1)
    assert json.loads(await redis.get(f"payment:{payment['id']}")) == payment
    assert (await client.get(url)).json() == payment
    assert await _counters(client) == (hits + 1, misses + 1)


async def test_a_miss_reads_postgresql_and_fills_then_a_hit_skips_it(client: httpx.AsyncClient, redis):
    payment = (await client.post("/api/payments", json=charge())).json()
    await redis.delete(f"payment:{payment['id']}")  # as after an eviction or expiry
    hits, misses = await _counters(client)

    first = await client.get(f"/api/payments/{payment['id']}")
    assert first.json() == payment
    assert await _counters(client) == (hits, misses + 1)
    assert json.loads(await redis.get(f"payment:{payment['id']}")) == payment

    second = await client.get(f"/api/payments/{payment['id']}")
    assert second.json() == payment
    assert await _counters(client) == (hits + 1, misses + 1)


async def test_the_cache_is_what_a_hit_answers(client: httpx.AsyncClient, redis):
    # Proof that a hit does not touch PostgreSQL: a value only Redis holds is answered.
    payment = (await client.post("/api/payments", json=charge())).json()
    marked = {**payment, "failureReason": "only in the cache"}
    await redis.set(f"payment:{payment['id']}", json.dumps(marked), ex=60)
    assert (await client.get(f"/api/payments/{payment['id']}")).json() == marked
    await redis.delete(f"payment:{payment['id']}")
    assert (await client.get(f"/api/payments/{payment['id']}")).json() == payment


async def test_a_hit_answers_what_a_miss_answers_headers_included(client: httpx.AsyncClient, redis):
    payment = (await client.post("/api/payments", json=charge())).json()
    await redis.delete(f"payment:{payment['id']}")
    miss = await client.get(f"/api/payments/{payment['id']}")
    hit = await client.get(f"/api/payments/{payment['id']}")
    assert hit.json() == miss.json() == payment
    for header in ("content-type", "etag"):
        assert hit.headers[header] == miss.headers[header]
    assert hit.headers["etag"] == f'"{payment["version"]}"'


@pytest.mark.parametrize("entry", ["not json", "[1, 2]", '{"id": 1}'])
async def test_an_unreadable_cache_entry_is_dropped_and_read_from_postgresql(
    client: httpx.AsyncClient, redis, entry
):
    payment = (await client.post("/api/payments", json=charge())).json()
    await redis.set(f"payment:{payment['id']}", entry, ex=60)
    answer = await client.get(f"/api/payments/{payment['id']}")
    assert answer.status_code == 200 and answer.json() == payment
    assert json.loads(await redis.get(f"payment:{payment['id']}")) == payment


async def test_every_status_change_reaches_the_cache_after_its_commit(client: httpx.AsyncClient, redis):
    payment = (await client.post("/api/payments", json=charge())).json()
    assert (await client.get(f"/api/payments/{payment['id']}")).json()["status"] == "completed"

    await client.put(f"/api/payments/{payment['id']}/status", json={"status": "refunding"})
    cached = json.loads(await redis.get(f"payment:{payment['id']}"))
    assert (cached["status"], cached["version"]) == ("refunding", 2)
    assert (await client.get(f"/api/payments/{payment['id']}")).json()["status"] == "refunding"

    await client.post(f"/api/payments/{payment['id']}/compensate")
    assert (await client.get(f"/api/payments/{payment['id']}")).json()["status"] == "refunded"


async def test_a_slow_readers_late_fill_never_puts_an_older_version_back(
    client: httpx.AsyncClient, app: FastAPI, redis
):
    # The race: a reader misses and loads v1; a writer commits v2 and writes it to the cache;
    # the reader then fills with v1. The guarded fill refuses it.
    payment = (await client.post("/api/payments", json=charge())).json()
    await redis.delete(f"payment:{payment['id']}")
    loaded_by_slow_reader = payment_view(await app.state.payments.get(payment["id"]))
    refunded = (await client.post(f"/api/payments/{payment['id']}/compensate")).json()
    assert await app.state.cache.put(loaded_by_slow_reader) is False
    assert json.loads(await redis.get(f"payment:{payment['id']}")) == refunded
    assert (await client.get(f"/api/payments/{payment['id']}")).json()["status"] == "refunded"

    # Even with the key gone (evicted), the late fill only wins until the next write, which
    # is guarded too; and a fill of the current version is idempotent.
    await redis.delete(f"payment:{payment['id']}")
    assert await app.state.cache.put(refunded) is True
    assert await app.state.cache.put(loaded_by_slow_reader) is False


async def test_concurrent_reads_and_changes_end_with_the_stored_status(
    client: httpx.AsyncClient, app: FastAPI
):
    payments = [(await client.post("/api/payments", json=charge())).json() for _ in range(8)]
    for payment in payments:
        await client.get(f"/api/payments/{payment['id']}")  # cached as completed
    work = []
    for payment in payments:
        url = f"/api/payments/{payment['id']}"
        work += [client.get(url) for _ in range(4)]
        work.append(client.post(f"{url}/compensate"))
        work += [client.get(url) for _ in range(4)]
    await asyncio.gather(*work)
    for payment in payments:
        stored = payment_view(await app.state.payments.get(payment["id"]))
        assert stored["status"] == "refunded"
        assert (await client.get(f"/api/payments/{payment['id']}")).json() == stored
