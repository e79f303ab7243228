"""The message envelope every domain message travels in (docs/design.md §7)."""

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from shared.logging import current_correlation_id


class Envelope(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    message_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    type: str  # also the routing key, "<aggregate>.<event>"
    aggregate_type: str
    aggregate_id: str
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None
    causation_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def as_document(self) -> dict[str, Any]:
        """camelCase JSON-ready dict, as stored in an outbox and sent on the wire."""
        return self.model_dump(mode="json", by_alias=True)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> "Envelope":
        return cls.model_validate_json(body)


def new_envelope(
    type: str,
    aggregate_type: str,
    aggregate_id: object,
    data: dict[str, Any],
    *,
    causation_id: str | None = None,
    occurred_at: datetime | None = None,
) -> Envelope:
    """An envelope for a change made now, in the current correlation."""
    return Envelope(
        type=type,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        correlation_id=current_correlation_id(),
        causation_id=causation_id,
        data=data,
        occurred_at=occurred_at or datetime.now(UTC),
    )
