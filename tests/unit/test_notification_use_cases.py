"""The notification use cases (notification_service/service.py) over an in-memory store: a
request's Idempotency-Key makes one notification, a retry gets it back and a different request
under the same key is refused; the sender sends a due notification once, to the address the
user was last seen with when the notification has none, and retries a failure with backoff
until it gives up. The store's own behaviour against MongoDB is
tests/integration/notification_service's."""

from datetime import datetime, timedelta
from typing import Any

import pytest

from notification_service.domain import Delivery, Draft, Kind
from notification_service.service import Notifications
from shared.clock import utc_now_ms
from shared.errors import NotFound
from shared.idempotency import Idempotency, IdempotencyKeyReused

Doc = dict[str, Any]


class MemoryStore:
    """The store's answers as the real one gives them: a messageId makes one notification;
    claim_due takes the first pending one whose time has come, counts the attempt and hides
    it for the lease; finish_attempt writes only over the attempt it was given."""

    def __init__(self) -> None:
        self.notifications: dict[str, Doc] = {}
        self.contacts: dict[str, str] = {}

    async def insert(self, doc: Doc) -> tuple[Doc, bool]:
        for existing in self.notifications.values():
            if doc.get("messageId") is not None and existing.get("messageId") == doc["messageId"]:
                return dict(existing), False
        stored = {**doc, "id": f"n{len(self.notifications) + 1}"}
        self.notifications[stored["id"]] = stored
        return dict(stored), True

    async def get(self, notification_id: str) -> Doc | None:
        found = self.notifications.get(notification_id)
        return dict(found) if found else None

    async def remember_contact(self, user_id: str, email: str, name: str | None, at: datetime) -> None:
        self.contacts[user_id] = email

    async def contact_email(self, user_id: str) -> str | None:
        return self.contacts.get(user_id)

    async def claim_due(self, now: datetime, lease: timedelta) -> Doc | None:
        due = [
            n
            for n in self.notifications.values()
            if n["status"] == Delivery.PENDING.value and n["nextAttemptAt"] <= now
        ]
        if not due:
            return None
        doc = min(due, key=lambda n: n["nextAttemptAt"])
        doc.update(attempts=doc["attempts"] + 1, nextAttemptAt=now + lease)
        return dict(doc)

    async def finish_attempt(self, claimed: Doc, changes: Doc) -> None:
        doc = self.notifications[claimed["id"]]
        if doc["attempts"] == claimed["attempts"] and doc["status"] == Delivery.PENDING.value:
            doc.update(changes)


def draft(recipient: str | None = "awa@example.com", user: str = "user-1") -> Draft:
    return Draft(Kind.PAYMENT_COMPLETED, user, recipient, {"userName": "Awa", "amount": "5000"})


def make_due(store: MemoryStore, notification_id: str) -> None:
    """The retry's backoff has passed."""
    doc = store.notifications[notification_id]
    doc["nextAttemptAt"] -= timedelta(hours=1)


async def test_a_key_makes_one_notification_and_a_different_request_under_it_is_refused():
    store = MemoryStore()
    notifications = Notifications(store)  # type: ignore[arg-type]
    first = await notifications.record_request(draft(), "notify", Idempotency("k1", "fp-a"), "fp-a")
    again = await notifications.record_request(draft(), "notify", Idempotency("k1", "fp-a"), "fp-a")
    assert again["id"] == first["id"] and len(store.notifications) == 1
    assert first["messageId"] == "api:notify:k1" and first["status"] == "pending"
    with pytest.raises(IdempotencyKeyReused):
        await notifications.record_request(draft(), "notify", Idempotency("k1", "fp-b"), "fp-b")
    assert len(store.notifications) == 1
    other = await notifications.record_request(draft(), "notify", None, "fp-a")
    assert other["id"] != first["id"] and "messageId" not in other


async def test_an_unknown_notification_is_404():
    with pytest.raises(NotFound, match="n9"):
        await Notifications(MemoryStore()).get("n9")  # type: ignore[arg-type]


async def test_a_due_notification_is_sent_once():
    store = MemoryStore()
    notifications = Notifications(store)  # type: ignore[arg-type]
    doc, created = await notifications.record(draft())
    assert created
    assert await notifications.send_once()
    sent = store.notifications[doc["id"]]
    assert (sent["status"], sent["attempts"], sent["lastError"]) == ("sent", 1, None)
    assert sent["sentAt"] is not None and sent["recipient"] == "awa@example.com"
    assert not await notifications.send_once()  # nothing left due
    assert store.notifications[doc["id"]]["attempts"] == 1


async def test_a_notification_without_an_address_goes_to_the_one_the_user_was_last_seen_with():
    store = MemoryStore()
    notifications = Notifications(store)  # type: ignore[arg-type]
    await notifications.record(draft("awa@example.com", user="user-2"))  # remembered
    store.notifications.clear()
    doc, _ = await notifications.record(draft(None, user="user-2"))
    assert await notifications.send_once()
    assert store.notifications[doc["id"]]["status"] == "sent"
    assert store.notifications[doc["id"]]["recipient"] == "awa@example.com"


async def test_a_failing_address_is_retried_with_backoff_then_given_up():
    store = MemoryStore()
    notifications = Notifications(store, max_attempts=3, retry_seconds=2.0)  # type: ignore[arg-type]
    doc, _ = await notifications.record(draft("awa@fail.example"))
    delays = []
    for attempt in (1, 2):
        before = utc_now_ms()
        assert await notifications.send_once()
        failed = store.notifications[doc["id"]]
        assert (failed["status"], failed["attempts"]) == ("pending", attempt)
        assert "rejected" in failed["lastError"]
        delays.append((failed["nextAttemptAt"] - before).total_seconds())
        assert not await notifications.send_once()  # not due before its backoff
        make_due(store, doc["id"])
    assert 1.5 < delays[0] < 3 and 3.5 < delays[1] < 5  # 2 s, then 4 s
    assert await notifications.send_once()
    assert store.notifications[doc["id"]]["status"] == "failed"
    assert store.notifications[doc["id"]]["attempts"] == 3
    assert not await notifications.send_once()


async def test_a_notification_with_no_address_known_fails_for_that_reason():
    store = MemoryStore()
    notifications = Notifications(store, max_attempts=1)  # type: ignore[arg-type]
    doc, _ = await notifications.record(draft(None, user="stranger"))
    assert await notifications.send_once()
    failed = store.notifications[doc["id"]]
    assert failed["status"] == "failed" and failed["lastError"] == "no email address known for this user"
