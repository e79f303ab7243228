"""Reservation documents in MongoDB: inserts, reads, conditional changes carrying their
timeline entry and outgoing message in the same write, statistics (DB3), idempotent answers."""

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bson import Decimal128, ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from reservation_service.domain import LIVE, SeatHold, Status, TimelineEntry
from shared.contracts import Envelope
from shared.idempotency import Idempotency, StoredAnswer
from shared.idempotency import mongo as idempotency_store
from shared.messaging.mongo_outbox import MONGO_PENDING, ensure_mongo_outbox, mongo_outbox, outbox_entry

Doc = dict[str, Any]
IDEMPOTENCY_SCOPE = "reservations.create"
# Tombstones (see `fence`) share the collection with the reservations but are never one.
NOT_FENCED: Doc = {"fenced": {"$exists": False}}


def object_id(reservation_id: str) -> ObjectId | None:
    try:
        return ObjectId(reservation_id)
    except (InvalidId, TypeError):
        return None


def _to_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal128):
        return value.to_decimal()
    return Decimal(str(value))


def _public(doc: Doc) -> Doc:
    """The stored document as code sees it: `id` as hex, money as Decimal, no outbox (nor its
    flag)."""
    out = {k: v for k, v in doc.items() if k not in ("_id", "outbox", MONGO_PENDING)}
    out["id"] = str(doc["_id"])
    details = dict(out.get("bookingDetails") or {})
    details["totalAmount"] = _to_decimal(details.get("totalAmount"))
    out["bookingDetails"] = details
    return out


def _stored(value: Any) -> Any:
    return Decimal128(str(value)) if isinstance(value, Decimal) else value


class ReservationStore:
    def __init__(self, database: AsyncDatabase[Doc]) -> None:
        self.reservations: AsyncCollection[Doc] = database["reservations"]
        self.answers: AsyncCollection[Doc] = database["idempotency_keys"]

    async def ensure_indexes(self) -> None:
        r = self.reservations
        await r.create_index([("eventId", ASCENDING), ("status", ASCENDING)], name="event_status")
        await r.create_index([("userId", ASCENDING), ("createdAt", DESCENDING)], name="user_created")
        await r.create_index([("createdAt", DESCENDING)], name="created")
        # One reservation per saga and per Idempotency-Key: a racing twin gets error 11000.
        await r.create_index([("sagaId", ASCENDING)], name="saga_unique", unique=True, sparse=True)
        await r.create_index(
            [("idempotencyKey", ASCENDING)], name="idempotency_key_unique", unique=True, sparse=True
        )
        await r.create_index([("seatHold", ASCENDING), ("updatedAt", ASCENDING)], name="seat_hold")
        await ensure_mongo_outbox(r)

    # -- reads ---------------------------------------------------------------------------

    async def get(self, reservation_id: str) -> Doc | None:
        oid = object_id(reservation_id)
        if oid is None:
            return None
        doc = await self.reservations.find_one({"_id": oid, **NOT_FENCED}, {"outbox": 0})
        return _public(doc) if doc else None

    async def find_by(self, *, idempotency_key: str | None = None, saga_id: str | None = None) -> Doc | None:
        """The reservation holding this key (or made by this saga); a tombstone holding the
        key is returned too, with `fenced` true."""
        query = {"idempotencyKey": idempotency_key} if idempotency_key else {"sagaId": saga_id}
        doc = await self.reservations.find_one(query, {"outbox": 0})
        return _public(doc) if doc else None

    async def page(
        self,
        *,
        event_id: int | None = None,
        user_id: str | None = None,
        status: Status | None = None,
        offset: int,
        limit: int,
    ) -> tuple[list[Doc], int]:
        query: Doc = dict(NOT_FENCED)
        if event_id is not None:
            query["eventId"] = event_id
        if user_id is not None:
            query["userId"] = user_id
        if status is not None:
            query["status"] = status.value
        total = await self.reservations.count_documents(query)
        cursor = (
            self.reservations.find(query, {"outbox": 0})
            .sort([("createdAt", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [_public(d) async for d in cursor], total

    async def unsettled(self, *, requested_before: datetime, limit: int = 100) -> list[Doc]:
        """Reservations whose seats at the event service are not settled yet."""
        query = {
            "$or": [
                {"seatHold": {"$in": [SeatHold.RESOLVING.value, SeatHold.RELEASING.value]}},
                {"seatHold": SeatHold.REQUESTED.value, "updatedAt": {"$lt": requested_before}},
            ]
        }
        cursor = self.reservations.find(query, {"outbox": 0}).sort("updatedAt", ASCENDING).limit(limit)
        return [_public(d) async for d in cursor]

    async def stats(self, event_id: int) -> Doc:
        # exercise DB3, level 2: begin
        """DB3: one pass of $match + $group; live = pending + confirmed, ended apart. A direct
        reservation the event service refused never held a seat: it is left out."""

        # exercise DB3: begin
        def seats_when(*statuses: Status) -> Doc:
            return {
                "$sum": {
                    "$cond": [{"$in": ["$status", [s.value for s in statuses]]}, "$bookingDetails.seats", 0]
                }
            }

        def count_when(*statuses: Status) -> Doc:
            return {"$sum": {"$cond": [{"$in": ["$status", [s.value for s in statuses]]}, 1, 0]}}

        pipeline: list[Doc] = [
            {"$match": {"eventId": event_id, "seatHold": {"$ne": SeatHold.REFUSED.value}}},
            {
                "$group": {
                    "_id": None,
                    "totalReservations": count_when(*LIVE),
                    "totalSeats": seats_when(*LIVE),
                    "confirmedSeats": seats_when(Status.CONFIRMED),
                    "pendingSeats": seats_when(Status.PENDING),
                    "cancelledReservations": count_when(Status.CANCELLED),
                    "cancelledSeats": seats_when(Status.CANCELLED),
                    "refundedReservations": count_when(Status.REFUNDED),
                    "refundedSeats": seats_when(Status.REFUNDED),
                    "revenue": {
                        "$sum": {
                            "$cond": [
                                {"$eq": ["$status", Status.CONFIRMED.value]},
                                {"$ifNull": ["$bookingDetails.totalAmount", 0]},
                                0,
                            ]
                        }
                    },
                }
            },
        ]
        found: Doc = {}
        async for row in await self.reservations.aggregate(pipeline):
            found = row
        # exercise DB3: end
        zero = {
            "totalReservations": 0,
            "totalSeats": 0,
            "confirmedSeats": 0,
            "pendingSeats": 0,
            "cancelledReservations": 0,
            "cancelledSeats": 0,
            "refundedReservations": 0,
            "refundedSeats": 0,
        }
        result: Doc = {k: int(found.get(k, 0)) for k in zero}
        result["revenue"] = _to_decimal(found.get("revenue", 0)) or Decimal(0)
        result["eventId"] = event_id
        return result
        # exercise DB3, level 2: end

    # -- writes --------------------------------------------------------------------------

    async def insert(self, doc: Doc, message: Envelope | None) -> Doc | None:
        """Insert a new reservation (and its message); None when its sagaId or
        Idempotency-Key already names one."""
        stored = copy.deepcopy(doc)
        stored["_id"] = object_id(doc["id"])
        del stored["id"]
        stored["bookingDetails"] = {k: _stored(v) for k, v in stored["bookingDetails"].items()}
        stored.update(mongo_outbox(message) if message else mongo_outbox())
        try:
            await self.reservations.insert_one(stored)
        except DuplicateKeyError:
            return None
        return _public(stored)

    async def change(
        self,
        before: Doc,
        changes: Doc,
        *,
        entry: TimelineEntry | None = None,
        message: Envelope | None = None,
        unset: tuple[str, ...] = (),
        require: Doc | None = None,
    ) -> Doc | None:
        # exercise DB4, level 2: begin
        """Apply `changes` (dotted paths) if nobody wrote since `before` was read: the new
        version, the timeline entry (DB4) and the outgoing message land in the same write.
        None when the version (or `require`) no longer matches."""
        update: Doc = {
            "$set": {k: _stored(v) for k, v in changes.items()} | {"version": before["version"] + 1}
        }
        push: Doc = {}
        # exercise DB4: begin
        if entry is not None:
            push["timeline"] = entry.as_document()
        # exercise DB4: end
        if message is not None:
            push["outbox"] = outbox_entry(message)
            update["$set"][MONGO_PENDING] = True
        if push:
            update["$push"] = push
        if unset:
            update["$unset"] = dict.fromkeys(unset, "")
        query = {"_id": object_id(before["id"]), "version": before["version"], **(require or {})}
        doc = await self.reservations.find_one_and_update(
            query, update, projection={"outbox": 0}, return_document=ReturnDocument.AFTER
        )
        return _public(doc) if doc else None
        # exercise DB4, level 2: end

    async def fence(self, key: str) -> bool:
        """Write the tombstone that fences `key`; False when a document holds the key already
        (a reservation made under it, or an earlier tombstone).

        MongoDB-wire writes one document atomically, so the tombstone is a document of this
        collection holding the key: it and a creation's insert meet on the unique
        `idempotencyKey` index, and whichever comes second fails (a late creation then finds
        the tombstone, see `Reservations._existing`)."""
        tombstone = {"_id": ObjectId(), "idempotencyKey": key, "fenced": True, "createdAt": datetime.now(UTC)}
        try:
            await self.reservations.insert_one(tombstone)
        except DuplicateKeyError:
            return False
        return True

    async def holder_of(self, key: str) -> tuple[Doc, StoredAnswer | None] | None:
        """The document holding `key` (a reservation, or a tombstone: `fenced`) with the answer
        stored under the key (None while it is not stored yet); None when nothing holds it."""
        doc = await self.reservations.find_one({"idempotencyKey": key}, {"outbox": 0})
        if doc is None:
            return None
        stored = await self.answers.find_one({"_id": f"{IDEMPOTENCY_SCOPE}:{key}"})
        answer = _read_answer(StoredAnswer(stored["statusCode"], stored["response"])) if stored else None
        return _public(doc), answer

    # -- idempotent answers ---------------------------------------------------------------

    async def find_answer(self, idem: Idempotency) -> StoredAnswer | None:
        """The first result under the key: the reservation created (201), or the refusal."""
        found = await idempotency_store.find_answer(self.answers, IDEMPOTENCY_SCOPE, idem)
        return _read_answer(found) if found is not None else None

    async def save_answer(self, idem: Idempotency, answer: StoredAnswer) -> None:
        body = _with_amount(answer.body, _stored) if answer.status_code == 201 else answer.body
        try:
            await idempotency_store.save_answer(
                self.answers, IDEMPOTENCY_SCOPE, idem, StoredAnswer(answer.status_code, body)
            )
        except DuplicateKeyError:
            pass  # a twin stored the same outcome first


def _read_answer(found: StoredAnswer) -> StoredAnswer:
    if found.status_code != 201:
        return found
    # The amount was kept as Decimal128; the code reads a Decimal.
    return StoredAnswer(201, _with_amount(found.body, _to_decimal))


def _with_amount(doc: Doc, convert: Any) -> Doc:
    """`doc` with its bookingDetails.totalAmount converted (Decimal128 in MongoDB, Decimal in code)."""
    details = dict(doc.get("bookingDetails") or {})
    details["totalAmount"] = convert(details.get("totalAmount"))
    return {**doc, "bookingDetails": details}


def preview(before: Doc, changes: Doc, entry: TimelineEntry | None = None) -> Doc:
    """`before` with `changes` applied, as `ReservationStore.change` will store it: the
    message announcing a change carries the state it produces."""
    after = copy.deepcopy(before)
    for path, value in changes.items():
        target = after
        *parents, leaf = path.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    if entry is not None:
        after["timeline"] = [*after.get("timeline", []), entry.as_document()]
    after["version"] = before["version"] + 1
    return after
