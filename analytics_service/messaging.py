"""What the analytics service consumes: the `analytics.projection` queue (event.*,
reservation.*, booking.*) keeping the read model up to date in real time (POLY5). It
publishes nothing.

Every message is applied idempotently and order-safely without an inbox: event messages
carry the event's version and apply only above the stored one; reservation messages are
versioned per reservation, and revenue is recounted from all of them instead of added to.

The broker hands over what arrived together (`Projection.handle_batch`): the reservations in
one bulk write, then per event one read and one write folding its messages in order and one
recount, then one refresh so that readers see the batch at once.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial

from analytics_service.domain import (
    Doc,
    ReservationTotals,
    apply_batch,
    apply_event,
    apply_totals,
    event_fields,
    event_id_of,
    reservation_fields,
)
from analytics_service.service import change_event
from analytics_service.store import AnalyticsStore
from shared.clock import utc_now
from shared.contracts import Envelope, EventMessage, ReservationMessage, RoutingKey, read
from shared.messaging.broker import Consumer, Outcomes
from shared.messaging.topology import ANALYTICS_PROJECTION
from shared.metrics import Metrics

log = logging.getLogger(__name__)

CONSUMER_NAME = ANALYTICS_PROJECTION.name
BINDINGS = list(ANALYTICS_PROJECTION.bindings)
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
    written = await change_event(
        store, event_id, partial(apply_totals, event_id=event_id, totals=totals, at=at), refresh=refresh
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
        return Consumer(CONSUMER_NAME, BINDINGS, self.handle, batch=self.handle_batch)

    def _count(self, kind: str, outcome: str) -> None:
        if self.outcomes is not None:
            self.outcomes.labels(kind, outcome).inc()

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> Outcomes:
        """Project the messages that arrived together; per message its outcome (a message that
        fails leaves the others of the batch applied). Order per event is the delivery order.

        When a recount follows, the reservations' write waits for the index's next periodic
        refresh (the recount must see them; forcing one per batch cost far more); the event
        documents are refreshed once at the end, so a reader sees the batch once it is done."""
        async with asyncio.timeout(INDEX_WAIT_SECONDS):
            await self.index_ready.wait()
        at = self.clock()
        outcomes: list[BaseException | None] = [None] * len(envelopes)
        counted: list[tuple[int, str, str]] = []  # (index, type, outcome) once the batch stands
        events: dict[int, list[tuple[int, EventMessage]]] = {}
        reservations: list[tuple[int, ReservationMessage, Doc]] = []
        for index, envelope in enumerate(envelopes):
            try:
                message = read(envelope)
                if isinstance(message, EventMessage):
                    event_id, _, _ = event_fields(message)  # a malformed one fails alone, here
                    events.setdefault(event_id, []).append((index, message))
                elif isinstance(message, ReservationMessage):
                    reservations.append((index, message, reservation_fields(message, at=at)))
                else:
                    counted.append((index, envelope.type, "ignored"))
            except Exception as exc:
                outcomes[index] = exc
        # Event id -> the indexes of the messages whose reservation moves its totals.
        recounts: dict[int, list[int]] = {}
        if reservations:
            stored = await self.store.record_reservations(
                [doc for _, _, doc in reservations],
                refresh=any(m.routing_key in RECOUNTING_TYPES for _, m, _ in reservations),
            )
            for (index, message, doc), newer in zip(reservations, stored, strict=True):
                if isinstance(newer, Exception):
                    outcomes[index] = newer
                    continue
                counted.append((index, message.routing_key, "applied" if newer else "stale"))
                # Recounted even when this version was already stored: a previous delivery
                # may have stored it and then failed before the recount.
                if message.routing_key in RECOUNTING_TYPES:
                    recounts.setdefault(doc["eventId"], []).append(index)
        written = await asyncio.gather(
            *(
                self._write_event(
                    event_id, events.get(event_id, []), recounts.get(event_id, []), at, outcomes, counted
                )
                for event_id in dict.fromkeys([*events, *recounts])
            )
        )
        if any(written):
            await self.store.refresh_events()
        for index, kind, outcome in counted:
            if outcomes[index] is None:
                self._count(kind, outcome)
        return outcomes

    async def _write_event(
        self,
        event_id: int,
        messages: list[tuple[int, EventMessage]],
        recounting: list[int],
        at: datetime,
        outcomes: list[BaseException | None],
        counted: list[tuple[int, str, str]],
    ) -> bool:
        """One event's messages and recount in one write; whether it wrote. A failure is the
        outcome of each of its messages."""
        applied: list[bool] = []
        try:
            totals: ReservationTotals | None = (
                await self.store.reservation_totals(event_id) if recounting else None
            )

            def change(current: Doc | None) -> Doc | None:
                doc, applied[:] = apply_batch(
                    current,
                    event_id,
                    [(m, m.routing_key is RoutingKey.EVENT_DELETED) for _, m in messages],
                    totals,
                    at=at,
                )
                return doc

            written = await change_event(self.store, event_id, change, refresh=False)
        except Exception as exc:
            for index in [*(i for i, _ in messages), *recounting]:
                outcomes[index] = exc
            return False
        for (index, message), done in zip(messages, applied, strict=True):
            outcome = "applied" if done else "stale"
            counted.append((index, message.routing_key, outcome))
            log.info("%s event %s version %s: %s", message.routing_key, message.id, message.version, outcome)
        return written is not None

    async def handle(self, envelope: Envelope) -> None:
        # Until the index exists a write could only fail; waiting keeps the message unacked
        # (and the timeout sends it to the retry queue).
        async with asyncio.timeout(INDEX_WAIT_SECONDS):
            await self.index_ready.wait()
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
        written = await change_event(
            self.store,
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
