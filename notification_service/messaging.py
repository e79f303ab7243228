"""What the Notification service consumes: booking.* and payment.* on the queue
`notification.dispatch`; each message, parsed into its contract, gives at most one
notification (keyed by messageId). One it cannot parse goes to the queue's DLQ."""

from collections.abc import Awaitable, Callable

from notification_service.domain import draft_from_message
from notification_service.sender import Notifications
from shared.contracts import Envelope, read
from shared.messaging.broker import Consumer

QUEUE = "notification.dispatch"
BINDINGS = ["booking.*", "payment.*"]


def dispatch_consumer(notifications: Notifications) -> Consumer:
    async def handle(envelope: Envelope) -> None:
        draft = draft_from_message(read(envelope))
        if draft is not None:
            await notifications.record(draft, message_id=envelope.message_id)

    handler: Callable[[Envelope], Awaitable[None]] = handle
    return Consumer(QUEUE, bindings=BINDINGS, handler=handler)
