"""The payment service app: PostgreSQL, Redis cache, outbox relay (POLY1-POLY3)."""

from pathlib import Path

import redis.asyncio as aioredis
from fastapi import FastAPI
from redis.exceptions import ConnectionError as RedisUnreachable

from payment_service import api
from payment_service.cache import CacheManager, PaymentCache
from payment_service.provider import SimulatedProvider
from payment_service.service import Payments
from payment_service.settings import PaymentSettings
from payment_service.store import PaymentStore
from shared import tracing
from shared.wiring import Wiring, service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: PaymentSettings | None = None) -> FastAPI:
    settings = settings or PaymentSettings()

    async def start(wire: Wiring) -> None:
        engine = await wire.postgres(settings.database_url, MIGRATIONS)
        tracing.instrument("redis")
        redis = aioredis.from_url(settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        wire.on_stop(redis.aclose)
        wire.state.redis = redis

        async def redis_ping() -> None:
            await redis.ping()

        # Redis down degrades the service (reads fall back to PostgreSQL) but never stops it.
        wire.optional("redis", redis_ping)
        wire.broker(settings, engine_down=(RedisUnreachable,))
        relay = wire.sql_relay(engine, settings.outbox_poll_seconds)
        wire.state.payments = Payments(
            PaymentStore(engine),
            SimulatedProvider(settings.decline_above, settings.refuse_refunds_above),
            published=relay.wake,
        )
        wire.state.cache = PaymentCache(
            CacheManager(redis, wire.state.metrics, retry_after=settings.cache_retry_after_seconds),
            settings.cache_ttl_seconds,
        )
        await wire.start_messaging()

    return service_app(
        settings,
        title="Payment service",
        description="Payments in PostgreSQL with a Redis cache-aside read path.",
        start=start,
        routers=[api.router],
    )
