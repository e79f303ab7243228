"""HTTP routes of the Event store: append, history (ES1), by type (ES2), replay, metrics."""

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response

from event_store_service.schemas import (
    EventIn,
    EventOut,
    EventsByTypeOut,
    HistoryOut,
    ReconstructOut,
    StoreMetricsOut,
)
from event_store_service.service import EventLog
from event_store_service.store import EventFilter, NewEvent
from shared import callers
from shared.errors import RuleBroken, field_error
from shared.logging import current_correlation_id
from shared.paging import Paging
from shared.schemas import Page, UtcDateTime
from shared.web import from_state

router = APIRouter(prefix="/api", tags=["event-store"])

MAX_LIMIT = 1000
# Versions are 64-bit integers in MongoDB: a larger number is a 422, not a driver error.
MAX_VERSION = 2**62


UseCases = Annotated[EventLog, from_state("log")]


def _check_range(from_date: datetime | None, to_date: datetime | None) -> None:
    if from_date is not None and to_date is not None and from_date > to_date:
        raise RuleBroken(
            "fromDate is after toDate.",
            errors=[field_error("fromDate", "must not be after toDate")],
        )


@router.post("/events", response_model=EventOut, status_code=201, dependencies=[callers.INTERNAL])
async def append_event(body: EventIn, log: UseCases, response: Response) -> EventOut:
    """Append an event at the aggregate's next version (ES3): 409 when `expectedVersion` is not
    the current version; the same `eventId` twice returns the stored event (200)."""
    metadata = dict(body.metadata or {})
    if not metadata.get("correlationId"):
        metadata["correlationId"] = current_correlation_id()
    stored, created = await log.append(
        NewEvent(
            aggregate_id=body.aggregate_id,
            aggregate_type=body.aggregate_type,
            event_type=body.event_type,
            event_data=body.event_data,
            metadata=metadata,
            expected_version=body.expected_version,
            event_id=body.event_id,
            occurred_at=body.occurred_at,
        )
    )
    response.status_code = 201 if created else 200
    # eventId is caller-chosen text: percent-encode it, headers are latin-1 only.
    response.headers["Location"] = f"/api/events/{quote(stored['eventId'], safe='')}"
    return EventOut.of(stored)


@router.get("/events", response_model=Page[EventOut], dependencies=[callers.PUBLIC])
async def list_events(
    log: UseCases,
    paging: Paging,
    aggregate_id: str | None = Query(None, alias="aggregateId", min_length=1),
    aggregate_type: str | None = Query(None, alias="aggregateType", min_length=1),
    event_type: str | None = Query(None, alias="eventType", min_length=1),
    from_date: UtcDateTime | None = Query(None, alias="fromDate"),
    to_date: UtcDateTime | None = Query(None, alias="toDate"),
) -> Page[EventOut]:
    """Stored events, newest first, filtered; `eventType` is read in its one spelling
    (an upper-case name, RESERVATION_CREATED, as its routing key)."""
    _check_range(from_date, to_date)
    filters = EventFilter(aggregate_id, aggregate_type, event_type, from_date, to_date)
    items, total = await log.search(filters, paging.offset, paging.size)
    return Page[EventOut](
        items=[EventOut.of(e) for e in items], total=total, page=paging.page, size=paging.size
    )


@router.get("/events/type/{event_type}", response_model=EventsByTypeOut, dependencies=[callers.PUBLIC])
async def events_by_type(
    log: UseCases,
    event_type: str = Path(min_length=1, max_length=128),
    from_date: UtcDateTime | None = Query(None, alias="fromDate"),
    to_date: UtcDateTime | None = Query(None, alias="toDate"),
    limit: int = Query(100, ge=1, le=MAX_LIMIT, description=f"at most {MAX_LIMIT}; above is a 422"),
) -> EventsByTypeOut:
    """Events of one type within [fromDate, toDate], newest first (ES2). The type matches
    whatever its spelling: "reservation.created" or "RESERVATION_CREATED"."""
    _check_range(from_date, to_date)
    events = await log.by_type(event_type, from_date, to_date, limit)
    return EventsByTypeOut(
        event_type=event_type,
        from_date=from_date,
        to_date=to_date,
        limit=limit,
        count=len(events),
        events=[EventOut.of(e) for e in events],
    )


@router.get("/events/{event_id}", response_model=EventOut, dependencies=[callers.PUBLIC])
async def get_event(log: UseCases, event_id: str) -> EventOut:
    return EventOut.of(await log.event(event_id))


@router.get("/aggregates/{aggregate_id}/history", response_model=HistoryOut, dependencies=[callers.PUBLIC])
async def aggregate_history(
    log: UseCases,
    aggregate_id: str,
    from_version: int = Query(
        0, alias="fromVersion", ge=0, le=MAX_VERSION, description="events AFTER this version"
    ),
    limit: int = Query(MAX_LIMIT, ge=1, le=MAX_LIMIT),
) -> HistoryOut:
    """The aggregate's events with version > fromVersion, oldest first (ES1); 404 when the
    aggregate has no event at all. Page with fromVersion = the last version received."""
    aggregate_type, current, events = await log.history(aggregate_id, from_version, limit)
    return HistoryOut(
        aggregate_id=aggregate_id,
        aggregate_type=aggregate_type,
        from_version=from_version,
        current_version=current,
        count=len(events),
        events=[EventOut.of(e) for e in events],
    )


@router.get(
    "/aggregates/{aggregate_id}/reconstruct", response_model=ReconstructOut, dependencies=[callers.PUBLIC]
)
async def reconstruct(
    log: UseCases,
    aggregate_id: str,
    to_version: int | None = Query(
        None, alias="toVersion", ge=1, le=MAX_VERSION, description="default: the latest"
    ),
) -> ReconstructOut:
    """The aggregate's state folded up to toVersion (time travel); beyond the latest version it
    folds everything and `version` says where it stopped."""
    replay = await log.reconstruct(aggregate_id, to_version if to_version is not None else MAX_VERSION)
    return ReconstructOut(
        aggregate_id=replay.aggregate_id,
        aggregate_type=replay.aggregate_type,
        version=replay.version,
        latest_version=replay.latest_version,
        events_applied=replay.events_applied,
        state=replay.state,
        from_snapshot=replay.from_snapshot,
    )


@router.get("/metrics", response_model=StoreMetricsOut, dependencies=[callers.PUBLIC])
async def store_metrics(log: UseCases) -> StoreMetricsOut:
    """Counts for dashboards (JSON); /metrics is the Prometheus exposition."""
    return StoreMetricsOut(**await log.metrics())
