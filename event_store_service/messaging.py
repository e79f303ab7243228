"""What the Event store consumes: every domain message, parsed into its contract and recorded
as an event of its aggregate; one it cannot parse goes to the recorder's DLQ.

The broker hands over what arrived together, in delivery order: the events are appended in
one insert where their streams allow it (`EventLog.append_many`), each message keeping its
own outcome."""

from collections.abc import Sequence

from event_store_service.domain import aggregate_type_key, stream_id
from event_store_service.service import EventLog
from event_store_service.store import NewEvent
from shared.contracts import Envelope, read
from shared.messaging.broker import BatchHandler, Consumer, Outcomes
from shared.messaging.topology import EVENT_STORE_RECORDER

RECORDER = EVENT_STORE_RECORDER.name


def recorded(envelope: Envelope) -> NewEvent:
    """The event a domain message is recorded as.

    messageId is the eventId: a redelivered message finds its event stored and appends
    nothing. No expected version: the broker hands one aggregate's messages over in order, so
    each lands at the next version."""
    message = read(envelope)
    return NewEvent(
        aggregate_id=stream_id(envelope.aggregate_type, envelope.aggregate_id),
        aggregate_type=aggregate_type_key(envelope.aggregate_type),
        event_type=message.routing_key.value,
        # As the current contract writes it, whichever accepted version was received.
        event_data=message.model_dump(mode="json"),
        metadata={
            "correlationId": envelope.correlation_id,
            "causationId": envelope.causation_id,
            "messageId": envelope.message_id,
            "occurredAt": envelope.occurred_at.isoformat(),
            "source": "rabbitmq",
        },
        event_id=envelope.message_id,
        occurred_at=envelope.occurred_at,
    )


def batch_recorder(log: EventLog) -> BatchHandler:
    async def record_all(envelopes: Sequence[Envelope]) -> Outcomes:
        outcomes: list[BaseException | None] = [None] * len(envelopes)
        events: list[tuple[int, NewEvent]] = []
        for index, envelope in enumerate(envelopes):
            try:
                events.append((index, recorded(envelope)))
            except Exception as exc:  # this message only (unreadable)
                outcomes[index] = exc
        if events:
            stored = await log.append_many([event for _, event in events])
            for (index, _), result in zip(events, stored, strict=True):
                outcomes[index] = result if isinstance(result, Exception) else None
        return outcomes

    return record_all


def recorder_consumer(log: EventLog) -> Consumer:
    """Bound to "#": the event store keeps every message the platform publishes."""
    return Consumer(RECORDER, list(EVENT_STORE_RECORDER.bindings), batch=batch_recorder(log))
