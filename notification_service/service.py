"""Recording notifications and sending them off the request path: a background sender
claims due ones, asks the simulated provider, and moves them pending → sent | failed with
bounded retries and backoff."""

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from notification_service import domain
from notification_service.domain import CHANNEL, Delivery, Draft
from notification_service.store import Doc, NotificationStore
from shared.clock import utc_now_ms
from shared.errors import NotFound
from shared.forever import every
from shared.idempotency import Idempotency

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=30)


class Notifications:
    def __init__(
        self,
        store: NotificationStore,
        *,
        max_attempts: int = 3,
        retry_seconds: float = 1.0,
        failing_domain: str = "fail.example",
    ) -> None:
        self.store = store
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self.failing_domain = failing_domain
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def get(self, notification_id: str) -> Doc:
        doc = await self.store.get(notification_id)
        if doc is None:
            raise NotFound(f"Notification not found: {notification_id}")
        return doc

    async def of_user(self, user_id: str, *, offset: int, limit: int) -> tuple[list[Doc], int]:
        return await self.store.of_user(user_id, offset=offset, limit=limit)

    async def record_request(
        self, draft: Draft, scope: str, idem: Idempotency | None, request_fingerprint: str
    ) -> Doc:
        """A notification asked for over HTTP. The Idempotency-Key becomes its messageId: a
        retry finds the first notification by the unique index (422 if it asked otherwise)."""
        message_id = f"api:{scope}:{idem.key}" if idem else None
        doc, created = await self.record(
            draft, message_id=message_id, extra={"requestFingerprint": request_fingerprint}
        )
        if not created and idem is not None:
            idem.same_request(doc.get("requestFingerprint"))
        return doc

    async def record(
        self, draft: Draft, *, message_id: str | None = None, extra: dict[str, Any] | None = None
    ) -> tuple[Doc, bool]:
        """Store a pending notification; (it, created?). A messageId seen before gives the
        notification it made the first time."""
        at = utc_now_ms()
        recipient = draft.recipient
        if recipient:
            await self.store.remember_contact(draft.user_id, recipient, draft.facts.get("userName"), at)
        stored, created = await self.store.insert(self._pending(draft, at, message_id, extra))
        if created:
            self._wake.set()
        return stored, created

    async def record_messages(self, drafts: list[tuple[Draft, str]]) -> list[tuple[Doc, bool] | Exception]:
        """`record` of many (draft, messageId) in two writes (the contacts, the notifications);
        per draft its outcome, a failed one not stopping the others."""
        at = utc_now_ms()
        contacts = [
            (draft.user_id, draft.recipient, draft.facts.get("userName"))
            for draft, _ in drafts
            if draft.recipient
        ]
        await self.store.remember_contacts(contacts, at)
        results: list[tuple[Doc, bool] | Exception] = []
        docs: list[Doc] = []
        for draft, message_id in drafts:
            try:
                docs.append(self._pending(draft, at, message_id))
            except Exception as exc:  # this draft only
                results.append(exc)
            else:
                results.append(({}, False))  # its place, filled below
        stored = iter(await self.store.insert_many(docs) if docs else [])
        results = [r if isinstance(r, Exception) else next(stored) for r in results]
        if any(not isinstance(r, Exception) and r[1] for r in results):
            self._wake.set()
        return results

    @staticmethod
    def _pending(
        draft: Draft, at: datetime, message_id: str | None, extra: dict[str, Any] | None = None
    ) -> Doc:
        recipient = draft.recipient
        rendered = domain.render(draft.kind, draft.facts)
        doc: Doc = {
            "userId": draft.user_id,
            "channel": CHANNEL,
            "recipient": recipient,
            "type": draft.kind.value,
            "subject": rendered.subject,
            "content": rendered.content,
            "status": Delivery.PENDING.value,
            "attempts": 0,
            "lastError": None,
            "relatedIds": draft.related_ids,
            "createdAt": at,
            "sentAt": None,
            "nextAttemptAt": at,
            **(extra or {}),
        }
        if message_id is not None:
            doc["messageId"] = message_id
        return doc

    async def send_once(self) -> bool:
        """One attempt on one due notification; False when none is due."""
        claimed = await self.store.claim_due(utc_now_ms(), LEASE)
        if claimed is None:
            return False
        recipient = claimed.get("recipient") or await self.store.contact_email(claimed["userId"])
        error = domain.delivery_error(recipient, self.failing_domain)
        at = utc_now_ms()
        if error is None:
            log.info("notification %s sent to %s", claimed["id"], recipient)
            changes: Doc = {
                "status": Delivery.SENT.value,
                "sentAt": at,
                "recipient": recipient,
                "lastError": None,
            }
        else:
            status = domain.outcome_after_failure(claimed["attempts"], self.max_attempts)
            delay = domain.retry_delay(claimed["attempts"], self.retry_seconds)
            log.warning("notification %s attempt %d failed: %s", claimed["id"], claimed["attempts"], error)
            changes = {
                "status": status.value,
                "lastError": error,
                "nextAttemptAt": at + timedelta(seconds=delay),
            }
        await self.store.finish_attempt(claimed, changes)
        return True

    async def _send_due(self) -> None:
        while await self.send_once():
            pass

    def start(self, interval: float) -> None:
        self._task = asyncio.create_task(
            every(interval, self._send_due, what="notification sender pass", wake=self._wake),
            name="notification-sender",
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
