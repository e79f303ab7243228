"""Read models: how long after a saga COMPLETED (its log's updatedAt) the analytics document
shows the booking (confirmedReservations and bookedSeats) and the user has the booking
notification; then whether the consumer queues drain (RabbitMQ management API)."""

import asyncio
import time
import uuid
from typing import Any
from urllib.parse import quote

import httpx

from bench.core import Config, Report, http_client, iso_seconds, pct, progress
from bench.fleetapi import PRICE, create_event, run_saga

NAME = "projection"
QUEUES = ("analytics.projection", "notification.dispatch", "event_store.recorder")
POLL = 0.01
TIMEOUT = 60.0


async def _until(check: Any) -> float:
    """Epoch time at which `check()` first held (polled every 10 ms)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        if await check():
            return time.time()
        if time.monotonic() > deadline:
            raise TimeoutError("the read model did not catch up within 60 s")
        await asyncio.sleep(POLL)


async def run(config: Config, report: Report) -> None:
    urls = config.urls
    # What the earlier scenarios left in the queues: the consumers' backlog, and how long they
    # take to work it off. Lag is then measured on drained queues (one saga at a time).
    backlog = await queue_depths(config)
    report.details["queues_before_projection"] = backlog
    ready = sum(d.get("ready", 0) + d.get("unacked", 0) for d in backlog.values())
    progress(f"[projection] backlog left by the load: {ready} messages; waiting for it to drain")
    t0 = time.monotonic()
    await drain_check(config, report, timeout=900.0, name="backlog_drained")
    report.figure(
        NAME,
        "backlog_drain_seconds",
        "s",
        [time.monotonic() - t0],
        samples=max(ready, 1),
        concurrency=None,
        backlogMessages=ready,
        queues=backlog,
    )
    async with (
        http_client(urls["saga_orchestrator"]) as saga,
        http_client(urls["event_service"]) as events,
        http_client(urls["analytics_service"]) as analytics,
        http_client(urls["notification_service"]) as notifications,
    ):
        event_id = await create_event(events, capacity=10_000, price=PRICE, label="projection")

        async def analytics_has(confirmed: int, booked: int) -> bool:
            answer = await analytics.get(f"/api/analytics/events/{event_id}")
            if answer.status_code != 200:
                return False
            doc = answer.json()
            return bool(doc["confirmedReservations"] >= confirmed and doc["bookedSeats"] >= booked)

        await _until(lambda: analytics_has(0, 0))  # the event.created projection itself
        to_analytics: list[float] = []
        to_notification: list[float] = []
        notification_created: list[float] = []
        rounds = config.rounds
        per_round = max(1, config.size.lag_sagas // rounds)
        round_values: list[tuple[list[float], list[float]]] = []
        booked = 0
        confirmed = 0
        # The first saga is the warm-up: measured like the others, not reported.
        for r in range(rounds + 1):
            a_lags: list[float] = []
            n_lags: list[float] = []
            for _ in range(1 if r == 0 else per_round):
                user = f"bench-lag-{uuid.uuid4().hex[:10]}"
                done = await run_saga(saga, event_id=event_id, seats=1, price=PRICE, user_id=user)
                if done.status != "COMPLETED":
                    raise RuntimeError(f"saga {done.saga_id} ended {done.status}")
                booked += 1
                confirmed += 1

                async def notified(user: str = user) -> dict[str, Any] | None:
                    answer = await notifications.get(f"/api/notifications/user/{user}")
                    if answer.status_code != 200:
                        return None
                    for item in answer.json()["items"]:
                        if item["type"] == "booking.confirmed":
                            return dict(item)
                    return None

                def in_analytics(c: int = confirmed, b: int = booked) -> Any:
                    return analytics_has(c, b)

                seen_a, seen_n = await asyncio.gather(
                    _until(in_analytics), _until(lambda notified=notified: _truthy(notified()))
                )
                a_lags.append((seen_a - done.updated_at) * 1000)
                n_lags.append((seen_n - done.updated_at) * 1000)
                item = await notified()
                if item is not None and r > 0:
                    notification_created.append((iso_seconds(item["createdAt"]) - done.updated_at) * 1000)
            if r == 0:
                continue
            to_analytics += a_lags
            to_notification += n_lags
            round_values.append((a_lags, n_lags))
            progress(
                f"[projection] round {r}/{rounds}: analytics p50 {pct(a_lags, 50):.0f} ms, "
                f"notification p50 {pct(n_lags, 50):.0f} ms"
            )
        for p in (50, 95):
            report.figure(
                NAME,
                f"lag_to_analytics_p{p}",
                "ms",
                [pct(a, p) for a, _ in round_values],
                samples=len(to_analytics),
                concurrency=1,
                basis="saga updatedAt -> document seen (10 ms polls)",
            )
            report.figure(
                NAME,
                f"lag_to_notification_p{p}",
                "ms",
                [pct(n, p) for _, n in round_values],
                samples=len(to_notification),
                concurrency=1,
                basis="saga updatedAt -> notification seen (10 ms polls)",
            )
        report.figure(
            NAME,
            "lag_to_notification_created_p50",
            "ms",
            [pct(notification_created, 50)],
            samples=len(notification_created),
            concurrency=1,
            basis="saga updatedAt -> notification createdAt",
        )
    await drain_check(config, report)


async def _truthy(awaitable: Any) -> bool:
    return bool(await awaitable)


async def queue_depths(config: Config) -> dict[str, dict[str, int]]:
    depths = {}
    async with httpx.AsyncClient(base_url=config.rabbitmq_api, auth=("guest", "guest"), timeout=10) as api:
        for queue in QUEUES:
            name = config.queue_prefix + queue
            answer = await api.get(f"/queues/{quote('/', safe='')}/{quote(name, safe='')}")
            if answer.status_code != 200:
                depths[name] = {"missing": 1}
                continue
            q = answer.json()
            depths[name] = {
                "ready": int(q.get("messages_ready", 0)),
                "unacked": int(q.get("messages_unacknowledged", 0)),
                "consumers": int(q.get("consumers", 0)),
            }
    return depths


async def drain_check(
    config: Config, report: Report, timeout: float = 60.0, name: str = "queues_drained"
) -> None:
    """After the load: every consumer queue empty (ready and unacked); the time it took."""
    t0 = time.monotonic()
    # The management API refreshes its counters every few seconds: wait for two clean reads.
    clean = 0
    depths: dict[str, dict[str, int]] = {}
    while time.monotonic() - t0 < timeout:
        depths = await queue_depths(config)
        empty = all(d.get("ready") == 0 and d.get("unacked") == 0 for d in depths.values())
        clean = clean + 1 if empty else 0
        if clean >= 2:
            break
        if int(time.monotonic() - t0) % 30 == 0 and not empty:
            left = sum(d.get("ready", 0) + d.get("unacked", 0) for d in depths.values())
            progress(f"[projection] {left} messages still queued after {time.monotonic() - t0:.0f} s")
        await asyncio.sleep(1.0)
    drained = clean >= 2
    report.details[f"queues_{name}"] = depths
    report.check(NAME, name, {"seconds": round(time.monotonic() - t0, 1), "queues": depths}, drained)
