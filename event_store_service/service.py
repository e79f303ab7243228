"""The event store's use cases: append an event (asked over HTTP, or a domain message the
recorder in `messaging` turned into one), read the log, fold an aggregate's state.

The store applies the version rule (ES3) and keeps snapshots; this layer says what is
missing. It returns stored documents; the api renders them."""

from datetime import datetime

from event_store_service.store import Doc, EventFilter, EventStore, NewEvent, Replay
from shared.errors import NotFound


class EventLog:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def append(self, new: NewEvent) -> tuple[Doc, bool]:
        """The stored event, and whether it is new (an eventId seen before gives the first)."""
        return await self.store.append(new)

    async def append_many(self, news: list[NewEvent]) -> list[tuple[Doc, bool] | Exception]:
        """`append` of each, in order; a failed one does not stop the others."""
        return await self.store.append_many(news)

    async def event(self, event_id: str) -> Doc:
        stored = await self.store.event(event_id)
        if stored is None:
            raise NotFound(f"Event {event_id} not found.")
        return stored

    async def search(self, filters: EventFilter, offset: int, size: int) -> tuple[list[Doc], int]:
        return await self.store.search(filters, offset, size)

    async def by_type(
        self, event_type: str, from_date: datetime | None, to_date: datetime | None, limit: int
    ) -> list[Doc]:
        return await self.store.by_type(event_type, from_date, to_date, limit)

    async def history(self, aggregate_id: str, from_version: int, limit: int) -> tuple[str, int, list[Doc]]:
        return await self.store.history(aggregate_id, from_version, limit)

    async def reconstruct(self, aggregate_id: str, to_version: int) -> Replay:
        return await self.store.reconstruct(aggregate_id, to_version)

    async def metrics(self) -> Doc:
        return await self.store.metrics()
