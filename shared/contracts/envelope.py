"""The envelope every domain message travels in: who sent what about which aggregate, when,
in which correlation, under which version of the contract; `data` is the message itself
(one model per routing key, in shared.contracts.messages)."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from shared.logging import current_correlation_id

# Version 2: money is {"amount": "<decimal text>", "currency": "<ISO 4217>"}. Version 1 (no
# schemaVersion field) carried the REST answers, money as bare JSON numbers. A consumer reads
# both, so producers and consumers can be upgraded in any order.
SCHEMA_VERSION = 2
ACCEPTED_VERSIONS = frozenset({SCHEMA_VERSION - 1, SCHEMA_VERSION})


class UnreadableMessage(ValueError):
    """A message no consumer can make sense of (unknown version, invalid data): it ends in
    the consumer's dead-letter queue with this reason in its `x-unreadable-reason` header."""


class Envelope(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        json_schema_serialization_defaults_required=True,  # always on the wire
    )

    schema_version: int = Field(default=SCHEMA_VERSION, ge=1)
    message_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    type: str = Field(description='the routing key, "<aggregate>.<event>"')
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
        """The envelope of a received message; UnreadableMessage when it is not one, or one of
        a contract version this code does not read."""
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise UnreadableMessage(f"not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise UnreadableMessage("not a JSON object")
        doc.setdefault("schemaVersion", 1)  # written before the contract had versions
        try:
            envelope = cls.model_validate(doc)
        except ValidationError as exc:
            raise UnreadableMessage(f"invalid envelope: {_errors(exc)}") from None
        if envelope.schema_version not in ACCEPTED_VERSIONS:
            raise UnreadableMessage(
                f"schemaVersion {envelope.schema_version} not read here "
                f"(accepted: {', '.join(map(str, sorted(ACCEPTED_VERSIONS)))})"
            )
        return envelope


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in exc.errors())


def new_envelope(
    type: str,
    aggregate_type: str,
    aggregate_id: object,
    data: dict[str, Any],
    *,
    causation_id: str | None = None,
    occurred_at: datetime | None = None,
) -> Envelope:
    """An envelope for a change made now, in the current correlation. Domain messages are
    built with Message.envelope(); this frame alone carries messages outside the contract
    (the broker's own tests)."""
    return Envelope(
        type=type,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        correlation_id=current_correlation_id(),
        causation_id=causation_id,
        data=data,
        occurred_at=occurred_at or datetime.now(UTC),
    )
