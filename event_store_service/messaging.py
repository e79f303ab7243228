"""What the Event store consumes: every domain message, parsed into its contract and recorded
as an event of its aggregate; one it cannot parse goes to the recorder's DLQ."""

from event_store_service.domain import aggregate_type_key, stream_id
from event_store_service.service import EventLog
from event_store_service.store import NewEvent
from shared.contracts import Envelope, read
from shared.messaging.broker import Consumer, Handler

RECORDER = "event_store.recorder"


def recorder(log: EventLog) -> Handler:
    async def record(envelope: Envelope) -> None:
        message = read(envelope)
        # messageId is the eventId: a redelivered message finds its event stored and appends
        # nothing. No expected version: the broker hands one aggregate's messages to one
        # worker in order, so each lands at the next version.
        await log.append(
            NewEvent(
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
        )

    return record


def recorder_consumer(log: EventLog) -> Consumer:
    """Bound to "#": the event store keeps every message the platform publishes."""
    return Consumer(RECORDER, ["#"], recorder(log))
