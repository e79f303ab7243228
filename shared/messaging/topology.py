"""The fleet's consumer queues and their bindings on the topic exchange: the one definition.

The consumers take their queue and bindings from here, and every service's broker declares
them all (each queue with its dead-letter queue) before it publishes anything: RabbitMQ drops a
message that no queue is bound to and still confirms it, so a producer that connected before a
consumer had ever declared its queue would see its outbox rows marked sent for messages lost.
The retry queue is left to its consumer: its TTL is that service's setting, and a declaration
with other arguments would fail (PRECONDITION_FAILED)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class QueueSpec:
    """A consumer's durable queue (named without the fleet's prefix) and its binding patterns."""

    name: str
    bindings: tuple[str, ...]


ANALYTICS_PROJECTION = QueueSpec("analytics.projection", ("event.*", "reservation.*", "booking.*"))
NOTIFICATION_DISPATCH = QueueSpec("notification.dispatch", ("booking.*", "payment.*"))
EVENT_STORE_RECORDER = QueueSpec("event_store.recorder", ("#",))

FLEET_QUEUES: tuple[QueueSpec, ...] = (ANALYTICS_PROJECTION, NOTIFICATION_DISPATCH, EVENT_STORE_RECORDER)


def main_queue_arguments(name: str) -> dict[str, str]:
    """The arguments of a consumer's main queue `name` (prefixed): rejected messages go to its DLQ.
    The consumer and every publisher declare it with exactly these."""
    return {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": f"{name}.dlq"}
