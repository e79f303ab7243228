"""Redis cache of payments: a manager that never lets a Redis fault break a request (POLY1),
payments cached as JSON under `payment:{id}` for an hour (POLY2), and the version-guarded
writes that keep the cache-aside read path from ever showing an older status (POLY3)."""

import json
import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shared.metrics import Metrics

log = logging.getLogger(__name__)

# Redis faults that degrade the cache; the request goes on without it.
CACHE_FAULTS = (RedisError, OSError, TimeoutError)

# Write the value only if the key is absent or holds an older version: a slow reader's fill
# (it loaded v1, a writer committed v2 and wrote it since) can never put v1 back.
SET_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, doc = pcall(cjson.decode, current)
  if ok and type(doc) == 'table' and tonumber(doc['version']) ~= nil
     and tonumber(doc['version']) >= tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[3]))
return 1
"""


class CacheManager:
    """get / set(ttl) / delete / exists over Redis; every Redis error is caught, logged (at
    most once per `log_every` seconds) and counted in cache_errors_total{operation} (POLY1).

    After a fault Redis is left alone for `retry_after` seconds, so an unreachable server
    costs one timeout, not one per request. A version-guarded write that could not be made
    is kept and retried first thing once Redis answers again, so an entry written before an
    outage cannot outlive the change that made it stale."""

    def __init__(
        self,
        redis: Redis,
        metrics: Metrics,
        *,
        retry_after: float = 1.0,
        log_every: float = 30.0,
        max_unfinished: int = 10_000,
    ) -> None:
        self.redis = redis
        self.retry_after = retry_after
        self.log_every = log_every
        self.max_unfinished = max_unfinished
        self._hits = metrics.counter("cache_hits_total", "Cache reads that found the key")
        self._misses = metrics.counter("cache_misses_total", "Cache reads that did not find the key")
        self._errors = metrics.counter(
            "cache_errors_total", "Redis operations that failed (the request went on)", ("operation",)
        )
        for operation in ("get", "set", "delete", "exists", "ttl", "set_if_newer"):
            self._errors.labels(operation)  # shown as 0 on /metrics before the first fault
        self._set_if_newer = redis.register_script(SET_IF_NEWER)
        self._skip_until = 0.0
        self._last_log = float("-inf")
        self._unlogged = 0
        # key -> (value, version, ttl) of guarded writes that failed: the newest per key.
        self._unfinished: dict[str, tuple[str, int, int]] = {}

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._skip_until

    async def get(self, key: str) -> str | None:
        # exercise POLY1, level 2: begin
        """The cached value, or None on a miss or a Redis fault (read from the database then)."""
        if not await self._usable():
            return None
        try:
            value = await self.redis.get(key)
        except CACHE_FAULTS as exc:
            self._fault("get", exc)
            return None
        (self._hits if value is not None else self._misses).inc()
        return value.decode() if isinstance(value, bytes) else value
        # exercise POLY1, level 2: end

    async def set(self, key: str, value: str, ttl: int) -> bool:
        # exercise POLY1, level 2: begin
        # exercise POLY1: begin
        if not await self._usable():
            return False
        try:
            await self.redis.set(key, value, ex=ttl)
        except CACHE_FAULTS as exc:
            self._fault("set", exc)
            return False
        return True
        # exercise POLY1: end
        # exercise POLY1, level 2: end

    async def delete(self, key: str) -> bool:
        # exercise POLY1, level 2: begin
        if not await self._usable():
            return False
        try:
            await self.redis.delete(key)
        except CACHE_FAULTS as exc:
            self._fault("delete", exc)
            return False
        return True
        # exercise POLY1, level 2: end

    async def exists(self, key: str) -> bool:
        # exercise POLY1, level 2: begin
        if not await self._usable():
            return False
        try:
            return bool(await self.redis.exists(key))
        except CACHE_FAULTS as exc:
            self._fault("exists", exc)
            return False
        # exercise POLY1, level 2: end

    async def ttl(self, key: str) -> int | None:
        # exercise POLY1, level 2: begin
        """Seconds left, None when absent, unbounded or unknown."""
        if not await self._usable():
            return None
        try:
            left = int(await self.redis.ttl(key))
        except CACHE_FAULTS as exc:
            self._fault("ttl", exc)
            return None
        return left if left >= 0 else None
        # exercise POLY1, level 2: end

    async def set_if_newer(self, key: str, value: str, version: int, ttl: int) -> bool:
        # exercise POLY3, level 2: begin
        """Write unless the cache already holds this version or a newer one (POLY3)."""
        if not await self._usable():
            self._remember(key, value, version, ttl)
            return False
        return await self._guarded_write(key, value, version, ttl)
        # exercise POLY3, level 2: end

    async def _guarded_write(self, key: str, value: str, version: int, ttl: int) -> bool:
        try:
            return bool(await self._set_if_newer(keys=[key], args=[value, version, ttl]))
        except CACHE_FAULTS as exc:
            self._fault("set_if_newer", exc)
            self._remember(key, value, version, ttl)
            return False

    def _remember(self, key: str, value: str, version: int, ttl: int) -> None:
        known = self._unfinished.get(key)
        if known is None or known[1] < version:
            if len(self._unfinished) >= self.max_unfinished:
                log.error("too many unfinished cache writes; dropping them (entries may be stale)")
                self._unfinished.clear()
            self._unfinished[key] = (value, version, ttl)

    async def _usable(self) -> bool:
        if not self.available:
            return False
        while self._unfinished:
            key, (value, version, ttl) = next(iter(self._unfinished.items()))
            del self._unfinished[key]
            try:
                await self._set_if_newer(keys=[key], args=[value, version, ttl])
            except CACHE_FAULTS as exc:
                self._unfinished[key] = (value, version, ttl)
                self._fault("set_if_newer", exc)
                return False
        return True

    def _fault(self, operation: str, exc: BaseException) -> None:
        self._errors.labels(operation).inc()
        self._skip_until = time.monotonic() + self.retry_after
        now = time.monotonic()
        if now - self._last_log >= self.log_every:
            suppressed = f" ({self._unlogged} more since the last report)" if self._unlogged else ""
            log.warning(
                "Redis %s failed: %r; serving from PostgreSQL for %.1f s%s",
                operation,
                exc,
                self.retry_after,
                suppressed,
            )
            self._last_log = now
            self._unlogged = 0
        else:
            self._unlogged += 1


def payment_key(payment_id: int) -> str:
    # exercise POLY2, level 2: begin
    """The cache key of a payment (POLY2)."""
    return f"payment:{payment_id}"
    # exercise POLY2, level 2: end


class PaymentCache:
    """Payments as JSON (their GET answer) under `payment:{id}` with a TTL (POLY2)."""

    def __init__(self, manager: CacheManager, ttl_seconds: int) -> None:
        self.manager = manager
        self.ttl = ttl_seconds

    async def get_answer(self, payment_id: int) -> tuple[bytes, dict[str, Any]] | None:
        # exercise POLY2, level 2: begin
        """The cached GET answer as stored (JSON bytes) and parsed; None on a miss, and an
        unreadable entry is dropped as a miss."""
        raw = await self.manager.get(payment_key(payment_id))
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or not isinstance(doc.get("version"), int):
            await self.manager.delete(payment_key(payment_id))
            return None
        return raw.encode(), doc
        # exercise POLY2, level 2: end

    async def put(self, doc: dict[str, Any]) -> bool:
        # exercise POLY2, level 2: begin
        """Fill after a miss, or rewrite after a committed change: never over a newer version."""
        # exercise POLY2: begin
        return await self.manager.set_if_newer(
            payment_key(doc["id"]), json.dumps(doc, separators=(",", ":")), int(doc["version"]), self.ttl
        )
        # exercise POLY2: end
        # exercise POLY2, level 2: end
