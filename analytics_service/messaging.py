"""What the analytics service consumes: the `analytics.projection` queue (event.*,
reservation.*, booking.*) keeping the read model up to date in real time (POLY5). It
publishes nothing.

Every message is applied idempotently and order-safely without an inbox: event messages
carry the event's version and apply only above the stored one; reservation messages are
versioned per reservation, and revenue is recounted from all of them instead of added to.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial

from analytics_service.domain import apply_event, apply_totals, event_id_of, reservation_fields
from analytics_service.store import AnalyticsStore
from shared.clock import utc_now
from shared.contracts import Envelope, EventMessage, ReservationMessage, RoutingKey, read
from shared.messaging.broker import Consumer
from shared.metrics import Metrics

log = logging.getLogger(__name__)

CONSUMER_NAME = "analytics.projection"
BINDINGS = ["event.*", "reservation.*", "booking.*"]
INDEX_WAIT_SECONDS = 30.0
RECOUNTING_TYPES = frozenset(
    {RoutingKey.RESERVATION_CONFIRMED, RoutingKey.RESERVATION_CANCELLED, RoutingKey.RESERVATION_REFUNDED}
)


async def recount_reservations(
    store: AnalyticsStore, event_id: int, at: datetime, *, refresh: bool = True
) -> bool:
    """Refresh an event's confirmedReservations and revenue from the reservations index;
    False when a newer count was already stored. `refresh`: wait until searches see it."""
    totals = await store.reservation_totals(event_id)
    written = await store.change_event(
        event_id, partial(apply_totals, event_id=event_id, totals=totals, at=at), refresh=refresh
    )
    return written is not None


class Coalesced:
    """`await run(key)` returns once `work(key)` has run from start to end AFTER the call began;
    callers that ask while a run is waiting to start share it. So under load one recount
    serves every confirmation of an event stored before it started (the confirmations that
    waited for the same index refresh arrive together), instead of one recount each."""

    def __init__(self, work: Callable[[int], Awaitable[object]]) -> None:
        self._work = work
        self._running: dict[int, asyncio.Task[None]] = {}
        self._waiting: dict[int, asyncio.Task[None]] = {}

    async def run(self, key: int) -> None:
        task = self._waiting.get(key)
        if task is None:
            task = asyncio.create_task(self._after(key, self._running.get(key)))
            self._waiting[key] = task
        # Shielded: one caller giving up (its delivery cancelled) does not cancel the others'.
        await asyncio.shield(task)

    async def _after(self, key: int, running: "asyncio.Task[None] | None") -> None:
        if running is not None:
            await asyncio.wait([running])  # its outcome is its own callers'
        me = self._waiting.pop(key)  # from now on, new callers wait for the next run
        self._running[key] = me
        try:
            await self._work(key)
        finally:
            if self._running.get(key) is me:
                del self._running[key]


class Projection:
    """The handler of the analytics.projection queue."""

    def __init__(
        self,
        store: AnalyticsStore,
        index_ready: asyncio.Event,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.index_ready = index_ready
        self.clock = clock
        self._recount = Coalesced(
            lambda event_id: recount_reservations(store, event_id, self.clock(), refresh=False)
        )
        self.outcomes = (
            metrics.counter(
                "analytics_projection_total", "Projected messages by outcome", ("type", "outcome")
            )
            if metrics is not None
            else None
        )

    def consumer(self) -> Consumer:
        # Event documents are written without waiting for a refresh: the index refreshes every
        # 250 ms anyway, and a wait per message would cap one event's messages (handled in
        # order by one worker) at four a second. Only a reservation a recount must see waits
        # for the refresh; that wait is idle time, so many workers share each refresh.
        return Consumer(CONSUMER_NAME, BINDINGS, self.handle, workers=16)

    def _count(self, kind: str, outcome: str) -> None:
        if self.outcomes is not None:
            self.outcomes.labels(kind, outcome).inc()

    async def handle(self, envelope: Envelope) -> None:
        # Until the index exists a write could only fail; waiting keeps the message unacked
        # (and the timeout sends it to the retry queue).
        await asyncio.wait_for(self.index_ready.wait(), INDEX_WAIT_SECONDS)
        message = read(envelope)
        if isinstance(message, EventMessage):
            await self._on_event(message)
        elif isinstance(message, ReservationMessage):
            await self._on_reservation(message)
        else:
            # booking.* carry no version; the reservation.* messages of the same booking hold
            # the same facts, versioned, so they alone feed the totals.
            self._count(envelope.type, "ignored")

    async def _on_event(self, message: EventMessage) -> None:
        kind = message.routing_key
        written = await self.store.change_event(
            event_id_of(message.id),
            partial(apply_event, event=message, deleted=kind is RoutingKey.EVENT_DELETED, at=self.clock()),
            refresh=False,
        )
        outcome = "applied" if written is not None else "stale"
        self._count(kind, outcome)
        log.info("%s event %s version %s: %s", kind, message.id, message.version, outcome)

    async def _on_reservation(self, message: ReservationMessage) -> None:
        doc = reservation_fields(message, at=self.clock())
        # Only a change to or from "confirmed" moves the totals; a pending reservation is
        # stored (for the version order) without the refresh and recount a total needs.
        counts = message.routing_key in RECOUNTING_TYPES
        newer = await self.store.record_reservation(doc, refresh=counts)
        if counts:
            # Recount even when this version was already stored: a previous delivery may
            # have stored it and then failed before the recount.
            await self._recount.run(doc["eventId"])
        self._count(message.routing_key, "applied" if newer else "stale")
