"""One poller per source, shared by every open page: a feed reads its source while at least
one page subscribes to it, sends a panel's HTML to the pages only when it changed, and stops
when the last page closes (a closed page costs the fleet nothing)."""

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Any

from console import render
from console.sources import EVENT_STORE, RABBITMQ, Sources, Unreachable
from shared.forever import stop_if_cancelled

log = logging.getLogger(__name__)

# A page's stream receives (topic, html) pairs: topic names the element the html replaces.
Update = tuple[str, str]
Fragments = dict[str, str]


def _now() -> datetime:
    return datetime.now(UTC)


def _why(exc: BaseException) -> str:
    return exc.reason if isinstance(exc, Unreachable) else type(exc).__name__


class Feed:
    """Polls one source for every view (a filter, a page) some open page shows."""

    name = "feed"

    def __init__(self, sources: Sources, poll_seconds: float) -> None:
        self.sources = sources
        self.poll_seconds = poll_seconds
        self._pages: dict[Hashable, set[asyncio.Queue[Update]]] = {}
        self._last: dict[Hashable, Fragments] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        # Rounds read so far; the tests see that nothing is read while no page is open.
        self.rounds = 0
        self._failing = False

    @property
    def polling(self) -> bool:
        return self._task is not None

    def subscribe(self, view: Hashable, queue: asyncio.Queue[Update]) -> None:
        self._pages.setdefault(view, set()).add(queue)
        for update in self._last.get(view, {}).items():
            queue.put_nowait(update)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"console-{self.name}")
        else:
            self._wake.set()  # a view nobody watched yet is read now, not at the next round

    def unsubscribe(self, view: Hashable, queue: asyncio.Queue[Update]) -> None:
        pages = self._pages.get(view)
        if pages is not None:
            pages.discard(queue)
            if not pages:
                del self._pages[view]
                self._last.pop(view, None)
        if not self._pages and self._task is not None:
            self._task.cancel()
            self._task = None

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while self._pages:
            stop_if_cancelled()
            # Cleared before the read: a page that subscribes meanwhile gets the next read at once.
            self._wake.clear()
            views = list(self._pages)
            self.rounds += 1
            try:
                result = await self.read(views)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a panel says what failed; the poller goes on
                if not self._failing:
                    log.warning("console feed %s failed: %s", self.name, exc)
                self._failing = True
                result = {view: self.failed(exc) for view in views}
            else:
                if self._failing:
                    log.info("console feed %s recovered", self.name)
                self._failing = False
            for view, fragments in result.items():
                last = self._last.setdefault(view, {}) if view in self._pages else {}
                for topic, html in fragments.items():
                    if last.get(topic) == html:
                        continue
                    last[topic] = html
                    for queue in self._pages.get(view, ()):
                        queue.put_nowait((topic, html))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()

    async def read(self, views: list[Hashable]) -> dict[Hashable, Fragments]:
        raise NotImplementedError

    def failed(self, exc: BaseException) -> Fragments:
        raise NotImplementedError


class SagaFeed(Feed):
    """Views: (status or None, page). A saga's steps are read once it ended (its log no longer
    changes) and at every round while it runs."""

    name = "sagas"
    CACHE_SIZE = 2000

    def __init__(self, sources: Sources, poll_seconds: float) -> None:
        super().__init__(sources, poll_seconds)
        self._ended: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._limit = asyncio.Semaphore(8)

    async def _detail(self, summary: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        saga_id = str(summary["sagaId"])
        known = self._ended.get(saga_id)
        if known is not None and known.get("updatedAt") == summary.get("updatedAt"):
            return saga_id, known
        async with self._limit:
            saga = await self.sources.saga(saga_id)
        if saga.get("status") in render.TERMINAL:
            self._ended[saga_id] = saga
            while len(self._ended) > self.CACHE_SIZE:
                self._ended.popitem(last=False)
        return saga_id, saga

    async def read(self, views: list[Hashable]) -> dict[Hashable, Fragments]:
        try:
            health: dict[str, Any] | None = await self.sources.orchestrator_health()
        except Unreachable:
            health = None
        wanted: list[tuple[str | None, int]] = list(views)  # type: ignore[arg-type]
        listings = await asyncio.gather(*(self.sources.sagas(status, page) for status, page in wanted))
        summaries = {str(s["sagaId"]): s for listing in listings for s in listing.get("items") or []}
        details = dict(await asyncio.gather(*(self._detail(s) for s in summaries.values())))
        now = _now()
        return {
            view: {
                "slow": render.slow_motion(health),
                "sagas": render.sagas_panel(
                    listing,
                    details,
                    view[0],  # type: ignore[index]
                    view[1],  # type: ignore[index]
                    now,
                    self.sources.settings.zipkin_ui_url,
                ),
            }
            for view, listing in zip(wanted, listings, strict=True)
        }

    def failed(self, exc: BaseException) -> Fragments:
        return {"slow": "", "sagas": render.unreachable("saga orchestrator", _why(exc))}


class SeatsFeed(Feed):
    """Views: the page of events, newest first. The event service lists events by date, a
    hundred a request: the console reads them all (one request up to a hundred events, at most
    MAX_EVENTS), orders them newest first and reads the read model for the events shown only."""

    name = "seats"
    BATCH = 100
    MAX_EVENTS = 1000

    async def _analytics(self, event_id: int) -> tuple[int, Any]:
        try:
            return event_id, await self.sources.analytics(event_id)
        except Unreachable as exc:
            return event_id, f"analytics service unreachable ({exc.reason})"

    async def _all_events(self) -> tuple[list[dict[str, Any]], int]:
        first = await self.sources.events(1, self.BATCH)
        total = int(first.get("total") or 0)
        pages = min(-(-total // self.BATCH), self.MAX_EVENTS // self.BATCH)
        rest = await asyncio.gather(*(self.sources.events(n, self.BATCH) for n in range(2, pages + 1)))
        events = [e for listing in (first, *rest) for e in listing.get("items") or []]
        return sorted(events, key=lambda e: int(e["id"]), reverse=True), min(total, self.MAX_EVENTS)

    async def read(self, views: list[Hashable]) -> dict[Hashable, Fragments]:
        size = self.sources.settings.events_per_page
        events, total = await self._all_events()
        pages: dict[Hashable, list[dict[str, Any]]] = {
            view: events[(int(view) - 1) * size : int(view) * size]  # type: ignore[call-overload]
            for view in views
        }
        ids = {int(e["id"]) for shown in pages.values() for e in shown}
        analytics = dict(await asyncio.gather(*(self._analytics(i) for i in ids)))
        return {
            view: {
                "seats": render.seats_panel(
                    {"items": shown, "total": total, "size": size},
                    analytics,
                    int(view),  # type: ignore[call-overload]
                )
            }
            for view, shown in pages.items()
        }

    def failed(self, exc: BaseException) -> Fragments:
        return {"seats": render.unreachable("event service", _why(exc))}


class MessagesFeed(Feed):
    """One view: the exchange and its queues (RabbitMQ), the last messages (event store)."""

    name = "messages"

    async def _broker(self) -> str:
        settings = self.sources.settings
        try:
            exchange, bindings, queues = await asyncio.gather(
                self.sources.exchange(), self.sources.bindings(), self.sources.queues()
            )
        except Unreachable as exc:
            return render.unreachable(RABBITMQ, exc.reason)
        return render.broker_part(settings.amqp_exchange, exchange, bindings, queues)

    async def _recent(self) -> tuple[str, str]:
        try:
            recent = await self.sources.recent_events(self.sources.settings.recent_messages)
        except Unreachable as exc:
            return render.unreachable(EVENT_STORE, exc.reason), ""
        return render.recent_part(recent), render.aggregate_options(recent)

    async def read(self, views: list[Hashable]) -> dict[Hashable, Fragments]:
        broker, (recent, options) = await asyncio.gather(self._broker(), self._recent())
        fragments = {"messages": broker + recent}
        if options:
            fragments["aggregates"] = options
        return {view: fragments for view in views}

    def failed(self, exc: BaseException) -> Fragments:
        return {"messages": render.unreachable(RABBITMQ, _why(exc))}


class Hub:
    def __init__(self, sources: Sources, poll_seconds: float) -> None:
        self.sagas = SagaFeed(sources, poll_seconds)
        self.seats = SeatsFeed(sources, poll_seconds)
        self.messages = MessagesFeed(sources, poll_seconds)

    @property
    def feeds(self) -> tuple[Feed, ...]:
        return (self.sagas, self.seats, self.messages)

    def subscriptions(
        self, status: str | None, saga_page: int, seats_page: int
    ) -> list[tuple[Feed, Hashable]]:
        return [(self.sagas, (status, saga_page)), (self.seats, seats_page), (self.messages, None)]

    async def stop(self) -> None:
        for feed in self.feeds:
            await feed.stop()
