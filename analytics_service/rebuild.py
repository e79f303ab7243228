"""`python -m analytics_service.rebuild`: project every event again from the event service,
page by page, e.g. after the index was lost or its mapping changed.

Each event goes through the same version guard as the consumer, so running it while
messages flow (or twice) is harmless; revenue is recounted from the reservations index.
"""

import asyncio
import json
import sys
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from opensearchpy import AsyncOpenSearch

from analytics_service.domain import apply_event, event_id_of
from analytics_service.messaging import recount_reservations
from analytics_service.service import change_event
from analytics_service.settings import AnalyticsSettings
from analytics_service.store import AnalyticsStore
from shared.clock import utc_now
from shared.contracts import EventUpdated
from shared.http import ServiceClient
from shared.money import PRICING_CURRENCY, Money

PAGE_SIZE = 100


def _as_message(item: dict[str, Any]) -> EventUpdated:
    """An event as GET /api/events answers it, as the event.updated message carrying it."""
    price = Money.of(item["ticketPrice"], PRICING_CURRENCY)
    return EventUpdated.model_validate({**item, "ticketPrice": price})


async def rebuild(
    store: AnalyticsStore, events: ServiceClient, clock: Callable[[], datetime] = utc_now
) -> dict[str, int]:
    """Upsert every event the event service lists; the counts of what happened."""
    await store.ensure_indexes()
    counts = {"read": 0, "updated": 0, "unchanged": 0}
    page = 1
    while True:
        answer = await events.request("GET", "/api/events", params={"page": page, "size": PAGE_SIZE})
        if answer.status_code != 200:
            raise RuntimeError(
                f"GET /api/events page {page} answered {answer.status_code}: {answer.text[:200]}"
            )
        items: list[dict[str, Any]] = answer.json()["items"]
        for item in items:
            event_id = event_id_of(item.get("id"))
            event = _as_message(item)
            # No refresh per write (one at the end): a rebuild writes thousands of documents.
            written = await change_event(
                store, event_id, partial(apply_event, event=event, deleted=False, at=clock()), refresh=False
            )
            await recount_reservations(store, event_id, clock(), refresh=False)
            counts["read"] += 1
            counts["updated" if written is not None else "unchanged"] += 1
        if len(items) < PAGE_SIZE:
            await store.refresh()
            return counts
        page += 1


async def main(settings: AnalyticsSettings) -> dict[str, int]:
    search = AsyncOpenSearch(hosts=[settings.opensearch_url], timeout=30)
    events = ServiceClient(
        settings.event_service_url, timeout=settings.http_timeout_seconds, retries=settings.http_retries
    )
    try:
        return await rebuild(AnalyticsStore(search, settings.index), events)
    finally:
        await events.aclose()
        await search.close()


if __name__ == "__main__":
    try:
        print(json.dumps(asyncio.run(main(AnalyticsSettings()))))
    except Exception as exc:
        print(f"rebuild failed: {exc}", file=sys.stderr)
        sys.exit(1)
