"""HTTP routes of the analytics service: the read model's documents, searches and totals."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from analytics_service.domain import TWO_PLACES, indexed_by_hand, occupancy_rate, updated_by_hand
from analytics_service.schemas import (
    EventAnalyticsIn,
    EventAnalyticsOut,
    LocationTotals,
    MetricsUpdate,
    Totals,
)
from analytics_service.store import AnalyticsStore
from shared.errors import NotFound, Unavailable
from shared.schemas import Page, PageParams, search_page_params

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

EventIdPath = Path(alias="eventId", ge=1, le=2**62, description="the event service's id")


async def get_store(request: Request) -> AnalyticsStore:
    if not request.app.state.index_ready.is_set():
        raise Unavailable("The search index is not available yet; retry shortly.")
    store: AnalyticsStore = request.app.state.store
    return store


def _now(request: Request) -> Any:
    return request.app.state.clock()


def _totals(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "total_events": raw["events"],
        "total_capacity": raw["capacity"],
        "total_booked_seats": raw["booked"],
        "total_available_seats": raw["available"],
        "total_revenue": raw["revenue"],
        "confirmed_reservations": raw["reservations"],
        "average_occupancy_rate": Decimal(str(raw["averageRate"])).quantize(TWO_PLACES, ROUND_HALF_UP),
        "occupancy_rate": occupancy_rate(raw["booked"], raw["capacity"]),
    }


def _page(docs: list[dict[str, Any]], total: int, paging: PageParams) -> Page[EventAnalyticsOut]:
    return Page[EventAnalyticsOut](
        items=[EventAnalyticsOut.of(d) for d in docs], total=total, page=paging.page, size=paging.size
    )


@router.get("", response_model=Totals)
async def overview(store: AnalyticsStore = Depends(get_store)) -> Totals:
    """Totals over every event: events, capacity, booked seats, revenue, occupancy."""
    return Totals(**_totals(await store.overview()))


@router.get("/events/{eventId}", response_model=EventAnalyticsOut)
async def get_event(
    event_id: int = EventIdPath, store: AnalyticsStore = Depends(get_store)
) -> EventAnalyticsOut:
    doc = await store.get_event(event_id)
    if doc is None:
        raise NotFound(f"No analytics for event {event_id}.")
    return EventAnalyticsOut.of(doc)


@router.post("/events", response_model=EventAnalyticsOut, status_code=201)
async def index_event(
    body: EventAnalyticsIn, request: Request, response: Response, store: AnalyticsStore = Depends(get_store)
) -> EventAnalyticsOut:
    """Index an event document by hand (201 when new, 200 when it replaced one); the
    projection does the same from event messages."""
    given = body.model_dump(mode="json", by_alias=True, exclude={"version"})
    given.update(ticketPrice=str(body.ticket_price), revenue=str(body.revenue), eventVersion=body.version)
    at = _now(request)
    existed = await store.get_event(body.event_id) is not None
    doc = await store.change_event(body.event_id, lambda current: indexed_by_hand(current, given, at=at))
    assert doc is not None
    response.headers["Location"] = f"/api/analytics/events/{body.event_id}"
    if existed:
        response.status_code = 200
    return EventAnalyticsOut.of(doc)


@router.post("/events/{eventId}/update", response_model=EventAnalyticsOut)
async def update_metrics(
    body: MetricsUpdate,
    request: Request,
    event_id: int = EventIdPath,
    store: AnalyticsStore = Depends(get_store),
) -> EventAnalyticsOut:
    """Correct an event's counters by hand; occupancy and available seats follow."""
    change = body.model_dump(by_alias=True, exclude_none=True)
    for key in ("ticketPrice", "revenue"):
        if key in change:
            change[key] = str(change[key])
    at = _now(request)
    missing = False

    def apply(current: dict[str, Any] | None) -> dict[str, Any] | None:
        nonlocal missing
        if current is None or current.get("deleted") or current.get("placeholder"):
            missing = True
            return None
        return updated_by_hand(current, change, at=at)

    doc = await store.change_event(event_id, apply)
    if doc is None or missing:
        raise NotFound(f"No analytics for event {event_id}.")
    return EventAnalyticsOut.of(doc)


@router.get("/search", response_model=Page[EventAnalyticsOut])
async def search(
    name: str | None = Query(None, max_length=200, description="words of the name"),
    location: str | None = Query(None, max_length=200),
    category: str | None = Query(None, max_length=100),
    paging: PageParams = Depends(search_page_params),
    store: AnalyticsStore = Depends(get_store),
) -> Page[EventAnalyticsOut]:
    """Full-text search ignoring case and accents; every given criterion must match; no
    criterion lists every event, paged."""
    criteria = {
        field: text.strip()
        for field, text in (("name", name), ("location", location), ("category", category))
        if text and text.strip()
    }
    docs, total = await store.search(criteria, paging.offset, paging.size)
    return _page(docs, total, paging)


@router.get("/high-occupancy", response_model=Page[EventAnalyticsOut])
async def high_occupancy(
    min_rate: float = Query(80.0, alias="minRate", ge=0, le=100, description="percentage, 0 to 100"),
    paging: PageParams = Depends(search_page_params),
    store: AnalyticsStore = Depends(get_store),
) -> Page[EventAnalyticsOut]:
    """Events at or above an occupancy rate, fullest first."""
    docs, total = await store.high_occupancy(min_rate, paging.offset, paging.size)
    return _page(docs, total, paging)


@router.get("/by-location", response_model=list[LocationTotals])
async def by_location(store: AnalyticsStore = Depends(get_store)) -> list[LocationTotals]:
    """Per location: events, capacity, booked seats, revenue, occupancy."""
    return [LocationTotals(location=raw["location"], **_totals(raw)) for raw in await store.by_location()]
