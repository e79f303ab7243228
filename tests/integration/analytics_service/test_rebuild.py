"""The rebuild command re-projects every event the event service lists, page by page, with
the same version guard as the consumer. The event service is played by a small app
answering its documented list contract."""

from decimal import Decimal

from fastapi import FastAPI

from analytics_service.rebuild import rebuild
from shared.http import ServiceClient
from tests.integration.analytics_service.messages import (
    event_data,
    event_message,
    project,
    reservation_message,
)
from tests.support import serving, unique

EVENTS = [event_data(i, 2, name=f"Event {i}", bookedSeats=i % 50) for i in range(1, 106)]


event_service = FastAPI()


@event_service.get("/api/events")
async def _list_events(page: int, size: int) -> dict:
    items = EVENTS[(page - 1) * size : page * size]
    return {"items": items, "total": len(EVENTS), "page": page, "size": size}


async def _rebuild(app) -> dict[str, int]:
    async with serving(event_service) as url:
        events = ServiceClient(url)
        try:
            return await rebuild(app.state.store, events)
        finally:
            await events.aclose()


async def test_rebuild_projects_every_page_and_keeps_newer_documents(analytics):
    _, app, client = analytics
    projection = app.state.projection
    # Already projected at a newer version than the event service's list says: kept.
    await project(projection, event_message("updated", event_data(7, 5, name="Newer")))
    await project(
        projection, reservation_message("confirmed", unique("r"), 9, version=2, seats=1, amount=15000)
    )

    counts = await _rebuild(app)

    assert counts == {"read": 105, "updated": 104, "unchanged": 1}
    listed = (await client.get("/api/analytics/search", params={"size": 1})).json()
    assert listed["total"] == 105
    assert (await client.get("/api/analytics/events/7")).json()["name"] == "Newer"
    nine = (await client.get("/api/analytics/events/9")).json()
    assert (nine["bookedSeats"], nine["confirmedReservations"], Decimal(nine["revenue"])) == (9, 1, 15000)

    again = await _rebuild(app)
    assert again == {"read": 105, "updated": 0, "unchanged": 105}
