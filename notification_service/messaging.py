"""What the Notification service consumes: booking.* and payment.* on the queue
`notification.dispatch`; each message gives at most one notification (keyed by messageId)."""

from collections.abc import Awaitable, Callable

from notification_service.domain import draft_from_message
from notification_service.sender import Notifications
from shared.messaging.broker import Consumer
from shared.messaging.envelope import Envelope

QUEUE = "notification.dispatch"
BINDINGS = ["booking.*", "payment.*"]


def dispatch_consumer(notifications: Notifications) -> Consumer:
    async def handle(envelope: Envelope) -> None:
        draft = draft_from_message(envelope.type, envelope.data)
        if draft is not None:
            await notifications.record(draft, message_id=envelope.message_id)

    handler: Callable[[Envelope], Awaitable[None]] = handle
    return Consumer(QUEUE, bindings=BINDINGS, handler=handler)
