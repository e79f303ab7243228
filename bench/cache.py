"""Cache-aside (POLY3): `GET /api/payments/{id}` with a warm Redis cache, and with the cache
bypassed by deleting `payment:{id}` just before each read (the delete is not timed), so every
timed read goes to PostgreSQL and fills the cache again. Nothing else is disturbed: other
clients keep a working cache."""

import random
import uuid
from typing import Any

import redis.asyncio as redis

from bench.client import LoadClient
from bench.core import Config, LoopResult, Report, closed_loop, http_client, pct, progress
from shared.http import Answer

NAME = "cache"
PAYMENTS = 20


async def _payments(client: LoadClient) -> tuple[str, list[int]]:
    user = f"bench-cache-{uuid.uuid4().hex[:8]}"
    ids = []
    for n in range(PAYMENTS):
        answer = await client.post(
            "/api/payments",
            json={
                "reservationId": f"bench-{uuid.uuid4().hex}",
                "userId": user,
                "amount": 1000 + n,
                "paymentMethod": "card",
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        answer.raise_for_status()
        ids.append(int(answer.json()["id"]))
    return user, ids


async def run(config: Config, report: Report) -> None:
    size = config.size
    cache = redis.from_url(config.redis_url)
    try:
        async with http_client(config.urls["payment_service"], max(config.concurrency)) as client:
            user, ids = await _payments(client)
            rng = random.Random(7)
            foreign: list[int] = []

            async def read(client_n: int, i: int) -> float:
                pid = rng.choice(ids)
                answer = await client.get(f"/api/payments/{pid}")
                answer.raise_for_status()
                body = answer.json()
                if body["id"] != pid or body["userId"] != user:
                    foreign.append(pid)
                return server_ms(answer)

            async def cold_read(client_n: int, i: int) -> tuple[float, float]:
                # Each client owns its own payments, so a delete never races another client's read.
                pid = ids[(client_n + i * max(config.concurrency)) % len(ids)]
                await cache.delete(f"payment:{pid}")
                t0 = _now()
                answer = await client.get(f"/api/payments/{pid}")
                answer.raise_for_status()
                return _now() - t0, server_ms(answer)

            for c in config.concurrency:
                progress(f"[cache c={c}] warm-up")
                await closed_loop(read, c, count=max(5, size.reads // 10))
                warm_rounds: list[LoopResult] = []
                cold_rounds: list[LoopResult] = []
                for r in range(config.rounds):
                    warm_rounds.append(await closed_loop(read, c, count=size.reads))
                    cold_rounds.append(await closed_loop(cold_read, c, count=size.reads))
                    progress(
                        f"[cache c={c}] round {r + 1}/{config.rounds}: warm p50 "
                        f"{pct(warm_rounds[-1].latencies_ms(), 50):.2f} ms, bypassed p50 "
                        f"{pct(_cold_ms(cold_rounds[-1]), 50):.2f} ms"
                    )
                _figures(report, c, warm_rounds, cold_rounds)
            # Another fleet on the same Redis database may touch the same `payment:{id}` keys
            # (ids restart at 1 in each fleet's database): a few tries tell a fill from a race.
            filled = False
            for _ in range(5):
                await cache.delete(f"payment:{ids[0]}")
                await client.get(f"/api/payments/{ids[0]}")
                filled = bool(await cache.exists(f"payment:{ids[0]}"))
                if filled:
                    break
            report.check(NAME, "read_fills_the_cache", filled, filled)
            report.details["cache_foreign_answers"] = {
                "count": len(foreign),
                "meaning": "warm reads answered with another fleet's payment cached under the same key",
            }
            if foreign:
                progress(
                    f"  !! {len(foreign)} warm reads answered another payment: another fleet caches "
                    "under the same payment:{id} keys in the same Redis database"
                )
    finally:
        await cache.aclose()


def _now() -> float:
    import time

    return time.perf_counter()


def server_ms(answer: Answer) -> float:
    """The service's own time for the answer (its Server-Timing header: app;dur=<ms>)."""
    return float(answer.headers["server-timing"].partition(";dur=")[2])


def _cold_ms(result: LoopResult) -> list[float]:
    return [s.value[0] * 1000 for s in result.samples]


def _warm_server_ms(result: LoopResult) -> list[float]:
    return [s.value for s in result.samples]


def _cold_server_ms(result: LoopResult) -> list[float]:
    return [s.value[1] for s in result.samples]


def _figures(report: Report, c: int, warm: list[LoopResult], cold: list[LoopResult]) -> None:
    nw = sum(len(r.samples) for r in warm)
    nc = sum(len(r.samples) for r in cold)
    kw: dict[str, Any] = {"concurrency": c}
    warm50 = [pct(r.latencies_ms(), 50) for r in warm]
    cold50 = [pct(_cold_ms(r), 50) for r in cold]
    report.figure(NAME, "warm_p50", "ms", warm50, samples=nw, **kw)
    report.figure(NAME, "warm_p99", "ms", [pct(r.latencies_ms(), 99) for r in warm], samples=nw, **kw)
    report.figure(NAME, "warm_reads_per_s", "reads/s", [r.rate for r in warm], samples=nw, **kw)
    report.figure(
        NAME, "bypassed_p50", "ms", cold50, samples=nc, method="DEL payment:{id} before each read", **kw
    )
    report.figure(NAME, "bypassed_p99", "ms", [pct(_cold_ms(r), 99) for r in cold], samples=nc, **kw)
    report.figure(
        NAME,
        "ratio_bypassed_to_warm_p50",
        "x",
        [b / w for b, w in zip(cold50, warm50, strict=True) if w],
        samples=nw + nc,
        **kw,
    )
    # The same reads as the service timed them (Server-Timing): what the cache saves the
    # service, without the HTTP client's and the network's share, which both paths pay.
    warm_server = [pct(_warm_server_ms(r), 50) for r in warm]
    cold_server = [pct(_cold_server_ms(r), 50) for r in cold]
    report.figure(NAME, "warm_server_p50", "ms", warm_server, samples=nw, basis="Server-Timing", **kw)
    report.figure(NAME, "bypassed_server_p50", "ms", cold_server, samples=nc, basis="Server-Timing", **kw)
    report.figure(
        NAME,
        "ratio_server_bypassed_to_warm_p50",
        "x",
        [b / w for b, w in zip(cold_server, warm_server, strict=True) if w],
        samples=nw + nc,
        basis="Server-Timing",
        **kw,
    )
