"""Notifications and known contacts in MongoDB: one notification per messageId (unique
index), pages per user, and the claims of the background sender."""

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from notification_service.domain import Delivery

Doc = dict[str, Any]
DUPLICATE_KEY = 11000


def _public(doc: Doc) -> Doc:
    out = {k: v for k, v in doc.items() if k != "_id"}
    out["id"] = str(doc["_id"])
    return out


class NotificationStore:
    def __init__(self, database: AsyncDatabase[Doc]) -> None:
        self.notifications: AsyncCollection[Doc] = database["notifications"]
        self.contacts: AsyncCollection[Doc] = database["contacts"]

    async def ensure_indexes(self) -> None:
        n = self.notifications
        # A message delivered twice hits this index: one notification per messageId.
        await n.create_index([("messageId", ASCENDING)], name="message_unique", unique=True, sparse=True)
        await n.create_index([("userId", ASCENDING), ("createdAt", DESCENDING)], name="user_created")
        await n.create_index([("status", ASCENDING), ("nextAttemptAt", ASCENDING)], name="due")

    async def insert(self, doc: Doc) -> tuple[Doc, bool]:
        """(stored notification, True) or, when its messageId exists, (that one, False)."""
        stored = {k: v for k, v in doc.items() if k != "id"}
        stored["_id"] = ObjectId()
        try:
            await self.notifications.insert_one(stored)
        except DuplicateKeyError:
            existing = await self.notifications.find_one({"messageId": doc["messageId"]})
            if existing is None:  # the index said yes, then it vanished: let the caller retry
                raise
            return _public(existing), False
        return _public(stored), True

    async def insert_many(self, docs: list[Doc]) -> list[tuple[Doc, bool] | Exception]:
        """`insert` of many in one write: per document (stored, True), (the one holding its
        messageId, False), or why it could not be written (the others are written anyway)."""
        stored = [{**{k: v for k, v in doc.items() if k != "id"}, "_id": ObjectId()} for doc in docs]
        errors: dict[int, Doc] = {}
        try:
            await self.notifications.insert_many(stored, ordered=False)
        except BulkWriteError as exc:
            errors = {int(e["index"]): e for e in exc.details.get("writeErrors", [])}
            if not errors:
                raise
        taken = [
            stored[i]["messageId"]
            for i, e in errors.items()
            if e.get("code") == DUPLICATE_KEY and "messageId" in stored[i]
        ]
        existing: dict[str, Doc] = {}
        if taken:
            async for doc in self.notifications.find({"messageId": {"$in": taken}}):
                existing[doc["messageId"]] = doc
        results: list[tuple[Doc, bool] | Exception] = []
        for i, doc in enumerate(stored):
            error = errors.get(i)
            if error is None:
                results.append((_public(doc), True))
            elif doc.get("messageId") in existing:
                results.append((_public(existing[doc["messageId"]]), False))
            else:
                results.append(WriteError(str(error.get("errmsg")), error.get("code"), error))
        return results

    async def get(self, notification_id: str) -> Doc | None:
        try:
            oid = ObjectId(notification_id)
        except (InvalidId, TypeError):
            return None
        doc = await self.notifications.find_one({"_id": oid})
        return _public(doc) if doc else None

    async def of_user(self, user_id: str, *, offset: int, limit: int) -> tuple[list[Doc], int]:
        query = {"userId": user_id}
        total = await self.notifications.count_documents(query)
        cursor = (
            self.notifications.find(query)
            .sort([("createdAt", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [_public(d) async for d in cursor], total

    async def remember_contact(self, user_id: str, email: str, name: str | None, at: datetime) -> None:
        fields: Doc = {"email": email, "updatedAt": at}
        if name:
            fields["name"] = name
        await self.contacts.update_one({"_id": user_id}, {"$set": fields}, upsert=True)

    async def remember_contacts(self, contacts: list[tuple[str, str, str | None]], at: datetime) -> None:
        """`remember_contact` of many (user, email, name) in one ordered write: the last wins."""
        updates = []
        for user_id, email, name in contacts:
            fields: Doc = {"email": email, "updatedAt": at}
            if name:
                fields["name"] = name
            updates.append(UpdateOne({"_id": user_id}, {"$set": fields}, upsert=True))
        if updates:
            await self.contacts.bulk_write(updates, ordered=True)

    async def contact_email(self, user_id: str) -> str | None:
        doc = await self.contacts.find_one({"_id": user_id})
        return str(doc["email"]) if doc and doc.get("email") else None

    async def claim_due(self, now: datetime, lease: timedelta) -> Doc | None:
        """Take one due notification for an attempt; the lease hides it from other senders
        until the attempt ends (or its sender died and the lease ran out)."""
        doc = await self.notifications.find_one_and_update(
            {"status": Delivery.PENDING.value, "nextAttemptAt": {"$lte": now}},
            {"$inc": {"attempts": 1}, "$set": {"nextAttemptAt": now + lease}},
            sort=[("nextAttemptAt", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        return _public(doc) if doc else None

    async def finish_attempt(self, claimed: Doc, changes: Doc) -> None:
        await self.notifications.update_one(
            {
                "_id": ObjectId(claimed["id"]),
                "attempts": claimed["attempts"],
                "status": Delivery.PENDING.value,
            },
            {"$set": changes},
        )
