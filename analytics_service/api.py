"""HTTP routes of the analytics service: the read model's documents, searches and totals."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from analytics_service.domain import TWO_PLACES, occupancy_rate
from analytics_service.schemas import (
    EventAnalyticsIn,
    EventAnalyticsOut,
    LocationTotals,
    MetricsUpdate,
    Totals,
)
from analytics_service.service import Analytics
from shared import callers
from shared.paging import SearchPaging
from shared.schemas import Page, PageParams
from shared.web import from_state

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

EventIdPath = Path(alias="eventId", ge=1, le=2**62, description="the event service's id")


UseCases = Annotated[Analytics, from_state("analytics")]


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


@router.get("", response_model=Totals, dependencies=[callers.PUBLIC])
async def overview(analytics: UseCases) -> Totals:
    """Totals over every event: events, capacity, booked seats, revenue, occupancy."""
    return Totals(**_totals(await analytics.overview()))


@router.get("/events/{eventId}", response_model=EventAnalyticsOut, dependencies=[callers.PUBLIC])
async def get_event(
    analytics: UseCases,
    event_id: int = EventIdPath,
) -> EventAnalyticsOut:
    return EventAnalyticsOut.of(await analytics.get_event(event_id))


@router.post("/events", response_model=EventAnalyticsOut, status_code=201, dependencies=[callers.OPERATOR])
async def index_event(body: EventAnalyticsIn, response: Response, analytics: UseCases) -> EventAnalyticsOut:
    """Index an event document by hand (201 when new, 200 when it replaced one); the
    projection does the same from event messages."""
    given = body.model_dump(mode="json", by_alias=True, exclude={"version"})
    given.update(ticketPrice=str(body.ticket_price), revenue=str(body.revenue), eventVersion=body.version)
    doc, created = await analytics.index_by_hand(body.event_id, given)
    response.headers["Location"] = f"/api/analytics/events/{body.event_id}"
    if not created:
        response.status_code = 200
    return EventAnalyticsOut.of(doc)


@router.post("/events/{eventId}/update", response_model=EventAnalyticsOut, dependencies=[callers.OPERATOR])
async def update_metrics(
    body: MetricsUpdate,
    analytics: UseCases,
    event_id: int = EventIdPath,
) -> EventAnalyticsOut:
    """Correct an event's counters by hand; occupancy and available seats follow."""
    change = body.model_dump(by_alias=True, exclude_none=True)
    for key in ("ticketPrice", "revenue"):
        if key in change:
            change[key] = str(change[key])
    return EventAnalyticsOut.of(await analytics.update_by_hand(event_id, change))


@router.get("/search", response_model=Page[EventAnalyticsOut], dependencies=[callers.PUBLIC])
async def search(
    paging: SearchPaging,
    analytics: UseCases,
    name: str | None = Query(None, max_length=200, description="words of the name"),
    location: str | None = Query(None, max_length=200),
    category: str | None = Query(None, max_length=100),
) -> Page[EventAnalyticsOut]:
    """Full-text search ignoring case and accents; every given criterion must match; no
    criterion lists every event, paged."""
    criteria = {
        field: text.strip()
        for field, text in (("name", name), ("location", location), ("category", category))
        if text and text.strip()
    }
    docs, total = await analytics.search(criteria, paging.offset, paging.size)
    return _page(docs, total, paging)


@router.get("/high-occupancy", response_model=Page[EventAnalyticsOut], dependencies=[callers.PUBLIC])
async def high_occupancy(
    paging: SearchPaging,
    analytics: UseCases,
    min_rate: float = Query(80.0, alias="minRate", ge=0, le=100, description="percentage, 0 to 100"),
) -> Page[EventAnalyticsOut]:
    """Events at or above an occupancy rate, fullest first."""
    docs, total = await analytics.high_occupancy(min_rate, paging.offset, paging.size)
    return _page(docs, total, paging)


@router.get("/by-location", response_model=list[LocationTotals], dependencies=[callers.PUBLIC])
async def by_location(analytics: UseCases) -> list[LocationTotals]:
    """Per location: events, capacity, booked seats, revenue, occupancy."""
    return [LocationTotals(location=raw["location"], **_totals(raw)) for raw in await analytics.by_location()]
