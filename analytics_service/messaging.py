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
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

from analytics_service.domain import (
    Doc,
    ReservationTotals,
    apply_batch,
    apply_totals,
    event_fields,
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
        self.outcomes = (
            metrics.counter(
                "analytics_projection_total", "Projected messages by outcome", ("type", "outcome")
            )
            if metrics is not None
            else None
        )

    def consumer(self) -> Consumer:
        return Consumer(CONSUMER_NAME, BINDINGS, batch=self.handle_batch)

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
                    # booking.* carry no version; the reservation.* messages of the same
                    # booking hold the same facts, versioned, so they alone feed the totals.
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
