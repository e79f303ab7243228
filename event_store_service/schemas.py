"""Wire shapes of the Event store: the append request, stored events, history, replay."""

from datetime import datetime
from typing import Any

from pydantic import Field

from shared.schemas import ApiInput, ApiModel, UtcDateTime

NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]+$"


class EventIn(ApiInput):
    aggregate_id: str = Field(min_length=1, max_length=200, pattern=NO_CONTROL_CHARS)
    # Not a closed list: any identifier; stored upper-case (RESERVATION, EVENT, ...).
    aggregate_type: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
    event_type: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.:-]{0,127}$")
    event_data: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    # The version the caller last saw (0 for a new aggregate); absent = append at the next one.
    expected_version: int | None = Field(None, ge=0, le=2**62)
    # Given by the caller (or the AMQP messageId): the same eventId never appends twice.
    event_id: str | None = Field(None, min_length=1, max_length=200, pattern=NO_CONTROL_CHARS)
    # When it happened; defaults to the time of the append.
    occurred_at: UtcDateTime | None = None


class EventOut(ApiModel):
    event_id: str
    aggregate_id: str
    aggregate_type: str
    event_type: str
    event_data: dict[str, Any]
    metadata: dict[str, Any]
    version: int
    occurred_at: datetime
    recorded_at: datetime
    # The original event store's name for occurredAt, kept for its clients.
    timestamp: datetime

    @classmethod
    def of(cls, doc: dict[str, Any]) -> "EventOut":
        return cls(
            event_id=doc["eventId"],
            aggregate_id=doc["aggregateId"],
            aggregate_type=doc["aggregateType"],
            event_type=doc["eventType"],
            event_data=doc.get("eventData") or {},
            metadata=doc.get("metadata") or {},
            version=doc["version"],
            occurred_at=doc["occurredAt"],
            recorded_at=doc.get("recordedAt") or doc["occurredAt"],
            timestamp=doc["occurredAt"],
        )


class HistoryOut(ApiModel):
    aggregate_id: str
    aggregate_type: str
    from_version: int
    current_version: int
    count: int
    events: list[EventOut]


class EventsByTypeOut(ApiModel):
    event_type: str
    from_date: datetime | None
    to_date: datetime | None
    limit: int
    count: int
    events: list[EventOut]


class ReconstructOut(ApiModel):
    aggregate_id: str
    aggregate_type: str
    # The version the state is at: min(toVersion, latestVersion).
    version: int
    latest_version: int
    # Events replayed by this call (on top of the snapshot when one was used).
    events_applied: int
    state: dict[str, Any]
    # Version of the snapshot the replay started from, null when it started from version 1.
    from_snapshot: int | None


class StoreMetricsOut(ApiModel):
    total_events: int
    events_by_type: dict[str, int]
    events_by_aggregate_type: dict[str, int]
    aggregates: int
    snapshots: int
    last_event_at: datetime | None
