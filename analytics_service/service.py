"""The analytics service's use cases behind its HTTP routes: read the read model, index an
event or correct its counters by hand. (The projection of messages is `messaging.Projection`.)

Each one refuses while the index does not exist yet, reads the clock, and hands the
domain's rules to the store, which applies them to the current document. They return the
stored documents; the api renders them."""

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from analytics_service.domain import Doc, indexed_by_hand, updated_by_hand
from analytics_service.store import AnalyticsStore
from shared.errors import NotFound, Unavailable


class Analytics:
    def __init__(
        self, store: AnalyticsStore, index_ready: asyncio.Event, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self.index_ready = index_ready
        self.clock = clock

    @property
    def store(self) -> AnalyticsStore:
        if not self.index_ready.is_set():
            raise Unavailable("The search index is not available yet; retry shortly.")
        return self._store

    async def overview(self) -> dict[str, Any]:
        return await self.store.overview()

    async def by_location(self) -> list[dict[str, Any]]:
        return await self.store.by_location()

    async def get_event(self, event_id: int) -> Doc:
        doc = await self.store.get_event(event_id)
        if doc is None:
            raise NotFound(f"No analytics for event {event_id}.")
        return doc

    async def search(self, criteria: dict[str, str], offset: int, size: int) -> tuple[list[Doc], int]:
        return await self.store.search(criteria, offset, size)

    async def high_occupancy(self, min_rate: float, offset: int, size: int) -> tuple[list[Doc], int]:
        return await self.store.high_occupancy(min_rate, offset, size)

    async def index_by_hand(self, event_id: int, given: Doc) -> tuple[Doc, bool]:
        """Index an event document as given; second value: whether it was new."""
        store, at = self.store, self.clock()
        existed = await store.get_event(event_id) is not None
        doc = await change_event(store, event_id, lambda current: indexed_by_hand(current, given, at=at))
        assert doc is not None
        return doc, not existed

    async def update_by_hand(self, event_id: int, change: Doc) -> Doc:
        """Correct an event's counters; occupancy and available seats follow."""
        store, at = self.store, self.clock()
        missing = False

        def apply(current: Doc | None) -> Doc | None:
            nonlocal missing
            if current is None or current.get("deleted") or current.get("placeholder"):
                missing = True
                return None
            return updated_by_hand(current, change, at=at)

        doc = await change_event(store, event_id, apply)
        if doc is None or missing:
            raise NotFound(f"No analytics for event {event_id}.")
        return doc


# Writes of one event document lost to another writer before giving up.
WRITE_ATTEMPTS = 20


async def change_event(
    store: AnalyticsStore, event_id: int, change: Callable[[Doc | None], Doc | None], *, refresh: bool = True
) -> Doc | None:
    # exercise POLY5, level 2: begin
    """Read, let `change` decide, write back only if nothing wrote in between, and read again
    when something did. None when `change` declined; the written document otherwise."""
    for _ in range(WRITE_ATTEMPTS):
        found = await store.read_event(event_id)
        new = change(found.doc if found is not None else None)
        if new is None:
            return None
        if await store.write_event(event_id, new, found, refresh=refresh):
            return new
    raise RuntimeError(f"event {event_id}: too many concurrent writes")
    # exercise POLY5, level 2: end
