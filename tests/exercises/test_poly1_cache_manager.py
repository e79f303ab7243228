"""POLY1: the Redis cache manager (get / set with TTL / delete / exists) never lets a Redis
fault break a request: errors are caught, counted and logged; reads fall back to PostgreSQL;
/ready stays 200 and says the cache is degraded."""

import asyncio

import redis.asyncio as aioredis

from payment_service.cache import CacheManager
from shared.metrics import Metrics
from tests.integration.payment_service.helpers import CLOSED_REDIS, REDIS_BASE, charge, metric, payment_app
from tests.support import unique


async def test_get_set_with_ttl_delete_and_exists_against_redis(redis_db: int):
    redis = aioredis.from_url(f"{REDIS_BASE}/{redis_db}")
    try:
        cache = CacheManager(redis, Metrics("test"))
        key = unique("poly1")
        assert await cache.get(key) is None
        assert not await cache.exists(key)
        assert await cache.set(key, '{"hello": "world"}', ttl=60)
        assert await cache.get(key) == '{"hello": "world"}'
        assert await cache.exists(key)
        ttl = await cache.ttl(key)
        assert ttl is not None and 0 < ttl <= 60
        assert await cache.delete(key)
        assert not await cache.exists(key)
        assert await cache.get(key) is None
    finally:
        await redis.aclose()


async def test_every_operation_survives_an_unreachable_redis_and_is_counted():
    redis = aioredis.from_url(CLOSED_REDIS, socket_connect_timeout=0.5, socket_timeout=0.5)
    metrics = Metrics("test")
    try:
        cache = CacheManager(redis, metrics, retry_after=0)
        assert await cache.get("payment:1") is None
        assert await cache.set("payment:1", "{}", ttl=60) is False
        assert await cache.delete("payment:1") is False
        assert await cache.exists("payment:1") is False
        assert await cache.set_if_newer("payment:1", '{"version": 1}', 1, ttl=60) is False
    finally:
        await redis.aclose()
    exposition = _exposition(metrics)
    for operation in ("get", "set", "delete", "exists", "set_if_newer"):
        assert metric(exposition, "cache_errors_total", operation=operation) >= 1, operation


async def test_after_a_fault_redis_is_left_alone_for_a_while():
    redis = aioredis.from_url(CLOSED_REDIS, socket_connect_timeout=0.5, socket_timeout=0.5)
    metrics = Metrics("test")
    try:
        cache = CacheManager(redis, metrics, retry_after=60)
        for _ in range(5):
            assert await cache.get("payment:1") is None
    finally:
        await redis.aclose()
    assert not cache.available
    # One connection attempt, not five: an unreachable Redis costs one timeout per minute here.
    assert metric(_exposition(metrics), "cache_errors_total", operation="get") == 1


async def test_the_api_serves_from_postgresql_while_redis_is_down():
    async with payment_app(None) as (client, _):
        created = await client.post("/api/payments", json=charge())
        assert created.status_code == 201
        payment = created.json()
        for _ in range(2):
            read = await client.get(f"/api/payments/{payment['id']}")
            assert read.status_code == 200
            assert read.json() == payment
        changed = await client.put(f"/api/payments/{payment['id']}/status", json={"status": "refunding"})
        assert changed.status_code == 200
        assert (await client.get(f"/api/payments/{payment['id']}")).json()["status"] == "refunding"
        refunded = await client.post(f"/api/payments/{payment['id']}/compensate")
        assert refunded.json()["status"] == "refunded"
        listed = (
            await client.get("/api/payments", params={"reservationId": payment["reservationId"]})
        ).json()
        assert listed["total"] == 1

        ready = await client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["postgres"] == "up"
        assert ready.json()["checks"]["redis"].startswith("down")
        exposition = (await client.get("/metrics")).text
        assert metric(exposition, "cache_errors_total", operation="set_if_newer") >= 1
        assert metric(exposition, "cache_hits_total") == 0


def _exposition(metrics: Metrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry).decode()


class RedisGate:
    """A TCP relay to the real Redis that can be cut and restored: a network fault between
    the service and Redis, without touching the Redis server other tests use."""

    def __init__(self, upstream_port: int = 6379) -> None:
        self.upstream_port = upstream_port
        self.open = True
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        self.open = False
        for writer in list(self._writers):
            writer.close()

    def restore(self) -> None:
        self.open = True

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._writers -= {writer, up_writer}


async def test_a_change_made_while_redis_was_unreachable_is_not_hidden_when_it_returns(redis_db: int):
    gate = RedisGate()
    await gate.start()
    try:
        async with payment_app(
            redis_db, redis_url=f"redis://127.0.0.1:{gate.port}/{redis_db}", cache_retry_after_seconds=0
        ) as (client, _):
            payment = (await client.post("/api/payments", json=charge())).json()
            url = f"/api/payments/{payment['id']}"
            assert (await client.get(url)).json()["status"] == "completed"  # cached as completed

            gate.cut()
            refunded = await client.post(f"{url}/compensate")
            assert refunded.json()["status"] == "refunded"  # committed; the cache write failed
            assert (await client.get(url)).json()["status"] == "refunded"  # from PostgreSQL
            assert (await client.get("/ready")).json()["checks"]["redis"].startswith("down")

            gate.restore()
            # Redis still holds "completed" from before the outage; the failed write is made
            # before the first read, so the cached entry never shows the old status.
            assert (await client.get(url)).json()["status"] == "refunded"
            assert (await client.get(url)).json()["status"] == "refunded"
            assert (await client.get("/ready")).json()["checks"]["redis"] == "up"
    finally:
        await gate.stop()
