"""What the Notification service consumes: booking.* and payment.* on the queue
`notification.dispatch`; each message, parsed into its contract, gives at most one
notification (keyed by messageId). One it cannot parse goes to the queue's DLQ.

The broker hands over what arrived together: their notifications are stored in one write,
each message keeping its own outcome."""

from collections.abc import Sequence

from notification_service.domain import Draft, draft_from_message
from notification_service.service import Notifications
from shared.contracts import Envelope, read
from shared.messaging.broker import Consumer, Outcomes
from shared.messaging.topology import NOTIFICATION_DISPATCH

QUEUE = NOTIFICATION_DISPATCH.name
BINDINGS = list(NOTIFICATION_DISPATCH.bindings)


def dispatch_consumer(notifications: Notifications) -> Consumer:
    async def handle_batch(envelopes: Sequence[Envelope]) -> Outcomes:
        outcomes: list[BaseException | None] = [None] * len(envelopes)
        drafts: list[tuple[int, Draft, str]] = []
        for index, envelope in enumerate(envelopes):
            try:
                draft = draft_from_message(read(envelope))
            except Exception as exc:  # this message only: unreadable, or a draft it cannot make
                outcomes[index] = exc
                continue
            if draft is not None:
                drafts.append((index, draft, envelope.message_id))
        if drafts:
            stored = await notifications.record_messages([(draft, mid) for _, draft, mid in drafts])
            for (index, _, _), result in zip(drafts, stored, strict=True):
                outcomes[index] = result if isinstance(result, Exception) else None
        return outcomes

    return Consumer(QUEUE, bindings=BINDINGS, batch=handle_batch)
