"""Reservation workflows: creating (a direct reservation books its own seats at the event
service, a saga's does not), status changes with their seat releases, and the seat sweep.

Seats never leak: the reservation is written before its seats are booked (seatHold
"requested"), so a crash or an unreachable event service always leaves a trace the sweep
finishes. Every call to the event service carries a key derived from the reservation id
(`reservation:<id>:book`, `reservation:<id>:release`), so repeating it is harmless.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bson import ObjectId

from reservation_service import domain
from reservation_service.clients import (
    EventSeats,
    EventServiceAnswer,
    Orchestrator,
    SagaAnswer,
    Verdict,
    cancel_key,
)
from reservation_service.domain import UNSETTLED, NewReservation, SeatHold, StaleVersion, Status
from reservation_service.messaging import created_message, reservation_message
from reservation_service.store import Doc, ReservationStore, preview
from shared.clock import utc_now_ms
from shared.errors import AppError, Conflict, NotFound, RuleBroken, Unavailable, field_error
from shared.forever import every
from shared.idempotency import Idempotency, IdempotencyKeyReused, KeyFenced, StoredAnswer

log = logging.getLogger(__name__)
MAX_RACE_RETRIES = 5


class CreationInProgress(Conflict):
    def __init__(self, reservation_id: str) -> None:
        super().__init__(
            f"Reservation {reservation_id} is still booking its seats; retry shortly.",
            extra={"reservationId": reservation_id},
        )


class StoredRefusal(AppError):
    """The refusal kept under an Idempotency-Key, given again to a retry of its request."""

    def __init__(self, status: int, title: str, detail: str, extra: dict[str, Any] | None) -> None:
        super().__init__(detail, extra=extra)
        self.status = status
        self.title = title


def _refusal(answer: EventServiceAnswer, reservation_id: str) -> AppError:
    extra = {"reservationId": reservation_id}
    if answer.verdict is Verdict.NOT_FOUND:
        return NotFound(f"Event not found: {answer.detail}", extra=extra)
    if answer.verdict is Verdict.REFUSED:
        return Conflict(answer.detail, extra=extra)
    if answer.verdict is Verdict.INVALID:
        return RuleBroken(answer.detail, extra=extra)
    return Unavailable(f"The event service cannot be reached: {answer.detail}", extra=extra)


class Reservations:
    def __init__(
        self,
        store: ReservationStore,
        seats: EventSeats,
        *,
        published: Callable[[], None] = lambda: None,
        request_grace: timedelta = timedelta(seconds=30),
        orchestrator: Orchestrator | None = None,
    ) -> None:
        self.store = store
        self.seats = seats
        self.orchestrator = orchestrator
        self.published = published  # wakes the outbox relay
        self.request_grace = request_grace

    # -- reads -----------------------------------------------------------------------------

    async def page(self, *, offset: int, limit: int, **filters: Any) -> tuple[list[Doc], int]:
        return await self.store.page(offset=offset, limit=limit, **filters)

    async def stats(self, event_id: int) -> Doc:
        return await self.store.stats(event_id)

    # -- create ----------------------------------------------------------------------------

    async def create(self, new: NewReservation, idem: Idempotency | None) -> Doc:
        """Create a reservation; with an Idempotency-Key, the first result is kept: a retry gets
        the same reservation, or the same refusal when the first was refused. A 503 is not kept
        (the key stays free to retry)."""
        if idem is not None:
            stored = await self.store.find_answer(idem)
            if stored is not None:
                if stored.status_code == 201:
                    created: Doc = stored.body
                    return created
                refusal = stored.body
                raise StoredRefusal(
                    stored.status_code, refusal["title"], refusal["detail"], refusal.get("extra")
                )
        try:
            doc = await self._create(new, idem)
        except AppError as exc:
            if idem is not None and exc.status in (404, 409, 422) and "reservationId" in exc.extra:
                refused = {"title": exc.title, "detail": exc.detail, "extra": exc.extra}
                await self.store.save_answer(idem, StoredAnswer(exc.status, refused))
            raise
        if idem is not None:
            await self.store.save_answer(idem, StoredAnswer(201, doc))
        return doc

    async def fence(self, key: str) -> StoredAnswer | None:
        """For a caller that gave up on a creation: the first result under `key` (201 with the
        reservation, or the refusal kept), or None once the key is fenced (no reservation under
        it, ever). 409 while the reservation is still booking its seats."""
        # A few rounds: a direct creation the event service could not serve frees its key
        # between the tombstone's refused insert and the read of the holder.
        for _ in range(3):
            if await self.store.fence(key):
                return None
            held = await self.store.holder_of(key)
            if held is not None:
                break
        else:
            raise RuntimeError(f"key {key} kept changing hands while it was fenced")
        doc, stored = held
        if doc.get("fenced"):
            return None
        if stored is not None:
            return stored
        if doc.get("seatHold") == SeatHold.REQUESTED.value:
            raise CreationInProgress(doc["id"])
        return StoredAnswer(201, doc)

    async def _create(self, new: NewReservation, idem: Idempotency | None) -> Doc:
        at = utc_now_ms()
        doc: Doc = {
            "id": str(ObjectId()),
            "eventId": new.event_id,
            "userId": new.user_id,
            "userDetails": new.user_details,
            "bookingDetails": {
                "seats": new.seats,
                "totalAmount": None,
                "currency": new.currency,
            },
            "status": Status.PENDING.value,
            "metadata": new.metadata,
            "version": 1,
            "createdAt": at,
            "updatedAt": at,
        }
        if idem is not None:
            doc["idempotencyKey"] = idem.key
            doc["requestFingerprint"] = idem.fingerprint
        quoted = new.ticket_price
        if new.saga_id is not None:
            return await self._create_for_saga(doc, new.saga_id, at, quoted)
        if quoted is not None:
            raise RuleBroken(
                "Only a saga states the ticket price; a direct reservation is priced by the event service.",
                errors=[field_error("bookingDetails.ticketPrice", "allowed only with sagaId")],
            )
        return await self._create_direct(doc, at)

    async def _create_for_saga(self, doc: Doc, saga_id: str, at: datetime, quoted: Decimal | None) -> Doc:
        # The saga booked the seats already (its step 1). Its price, checked against the event
        # service when it began, is the one it charges: recording it keeps the reservation's
        # total equal to the payment (and saves a call). Without it the price is read here.
        if quoted is None:
            price = await self.seats.price(doc["eventId"])
            if price.verdict is not Verdict.DONE or price.ticket_price is None:
                raise _refusal(price, doc["id"])
            quoted = price.ticket_price
        doc["sagaId"] = saga_id
        doc["announced"] = True
        details = doc["bookingDetails"]
        details["totalAmount"] = domain.total_amount(details["seats"], quoted, details["currency"])
        doc["timeline"] = [
            domain.created(at=at, reason=f"created by saga {saga_id}", updated_by="saga").as_document()
        ]
        inserted = await self.store.insert(doc, created_message(doc))
        if inserted is None:
            return await self._existing(doc)
        self.published()
        return inserted

    async def _create_direct(self, doc: Doc, at: datetime) -> Doc:
        doc["seatHold"] = SeatHold.REQUESTED.value
        doc["announced"] = False  # reservation.created goes out once its seats are held
        doc["timeline"] = [domain.created(at=at, reason="seats requested at the event service").as_document()]
        inserted = await self.store.insert(doc, None)
        if inserted is None:
            return await self._existing(doc)
        rid, event_id, seats = inserted["id"], inserted["eventId"], inserted["bookingDetails"]["seats"]

        price = await self.seats.price(event_id)
        if price.verdict is not Verdict.DONE or price.ticket_price is None:
            # Nothing was booked yet: no hold to settle.
            raise await self._abandon(inserted, price, SeatHold.REFUSED)
        total = domain.total_amount(seats, price.ticket_price, inserted["bookingDetails"]["currency"])

        booked = await self.seats.book(event_id, rid, seats)
        if booked.verdict is Verdict.UNREACHABLE:
            # The book may have landed with its answer lost: the sweep replays it by key, then releases.
            raise await self._abandon(inserted, booked, SeatHold.RESOLVING, total)
        if booked.verdict is not Verdict.DONE:
            raise await self._abandon(inserted, booked, SeatHold.REFUSED, total)

        changes = {
            "seatHold": SeatHold.HELD.value,
            "bookingDetails.totalAmount": total,
            "announced": True,
            "updatedAt": utc_now_ms(),
        }
        message = created_message(preview(inserted, changes))
        held = await self.store.change(
            inserted, changes, message=message, require={"seatHold": SeatHold.REQUESTED.value}
        )
        if held is None:
            # Cancelled while its seats were being booked; that cancel settles the seats.
            raise Conflict(
                f"Reservation {rid} was cancelled while its seats were being booked.",
                extra={"reservationId": rid},
            )
        self.published()
        return held

    async def _abandon(
        self, doc: Doc, answer: EventServiceAnswer, hold: SeatHold, total: Any = None
    ) -> AppError:
        """Cancel a direct reservation whose seats could not be booked; the error to answer."""
        error = _refusal(answer, doc["id"])
        entry = domain.transition(
            Status.PENDING,
            Status.CANCELLED,
            at=utc_now_ms(),
            reason=f"seats not booked: {error.detail}",
            updated_by="system",
        )
        changes: Doc = {
            "status": Status.CANCELLED.value,
            "seatHold": hold.value,
            "updatedAt": entry.timestamp,
        }
        if total is not None:
            changes["bookingDetails.totalAmount"] = total
        # A 503 is not a final answer: the key is freed so a retry with it starts afresh.
        unset = ("idempotencyKey",) if isinstance(error, Unavailable) else ()
        saved = await self.store.change(
            doc, changes, entry=entry, unset=unset, require={"seatHold": SeatHold.REQUESTED.value}
        )
        if saved is not None and hold in UNSETTLED:
            await self.settle(saved)
        return error

    async def _existing(self, doc: Doc) -> Doc:
        """The reservation a racing twin (same Idempotency-Key or sagaId) created."""
        key = doc.get("idempotencyKey")
        found = await self.store.find_by(idempotency_key=key) if key else None
        if found is None and doc.get("sagaId"):
            found = await self.store.find_by(saga_id=doc["sagaId"])
        if found is None:
            raise Conflict("A concurrent request with the same key is being handled; retry.")
        if key and found.get("fenced"):
            raise KeyFenced(key)  # its caller gave up on it: this late copy creates nothing
        if key and found.get("requestFingerprint") != doc.get("requestFingerprint"):
            raise IdempotencyKeyReused(key)
        if found.get("seatHold") == SeatHold.REQUESTED.value:
            raise CreationInProgress(found["id"])
        return found

    # -- status changes ----------------------------------------------------------------------

    async def get(self, reservation_id: str) -> Doc:
        doc = await self.store.get(reservation_id)
        if doc is None:
            raise NotFound(f"Reservation not found: {reservation_id}")
        return doc

    async def change_status(
        self,
        reservation_id: str,
        wanted: Status,
        *,
        reason: str = "",
        updated_by: str = "api",
        expected_version: int | None = None,
        already_done: frozenset[Status] = frozenset(),
        key: str | None = None,
    ) -> Doc:
        # exercise DB4, level 2: begin
        """Move to `wanted` if legal (409 otherwise), conditional on the version read (or the
        caller's). Asking for the current status, or one of `already_done`, is a no-op. `key`:
        the caller's Idempotency-Key, refused (KeyFenced) once a reinstatement fenced it."""
        for _ in range(MAX_RACE_RETRIES):
            doc = await self.get(reservation_id)
            if key is not None and key in doc.get("fencedKeys", ()):
                # Its caller gave up on it and undid it: this late copy must not cancel again.
                # A reinstatement racing this change moved the version: the write below fails
                # and the next pass sees the fence.
                raise KeyFenced(key)
            current = Status(doc["status"])
            if current is wanted or current in already_done:
                return doc
            if expected_version is not None and doc["version"] != expected_version:
                raise StaleVersion(reservation_id, expected_version, doc["version"])
            entry = domain.transition(current, wanted, at=utc_now_ms(), reason=reason, updated_by=updated_by)
            old_hold = SeatHold(doc["seatHold"]) if doc.get("seatHold") else None
            new_hold = domain.hold_after(wanted, old_hold)
            changes: Doc = {"status": wanted.value, "updatedAt": entry.timestamp}
            if new_hold is not old_hold and new_hold is not None:
                changes["seatHold"] = new_hold.value
            message = None
            if doc.get("announced", True):
                message = reservation_message(domain.message_type(wanted), preview(doc, changes, entry))
            saved = await self.store.change(doc, changes, entry=entry, message=message)
            if saved is None:
                if expected_version is not None:
                    raise StaleVersion(reservation_id, expected_version)
                continue  # someone wrote in between: judge the transition again on fresh state
            if message is not None:
                self.published()
            if new_hold in UNSETTLED:
                saved = await self.settle(saved)
            return saved
        raise Conflict(f"Reservation {reservation_id} keeps changing under concurrent writers; retry.")
        # exercise DB4, level 2: end

    async def cancel(
        self,
        reservation_id: str,
        *,
        reason: str,
        updated_by: str,
        expected_version: int | None,
        key: str | None,
    ) -> Doc | SagaAnswer:
        """A customer's cancel. A live booking a saga made is handed to the orchestrator's
        cancellation saga (its answer is returned: 202, or its refusal); any other reservation
        changes status here, as it always did (its own seats are released once)."""
        doc = await self.get(reservation_id)
        if self.orchestrator is not None and domain.cancelled_by_saga(
            Status(doc["status"]), doc.get("sagaId")
        ):
            if expected_version is not None and doc["version"] != expected_version:
                raise StaleVersion(reservation_id, expected_version, doc["version"])
            return await self.orchestrator.cancel(
                reservation_id, reason, cancel_key(reservation_id, doc["version"], key)
            )
        return await self.change_status(
            reservation_id,
            Status.CANCELLED,
            reason=reason,
            updated_by=updated_by,
            expected_version=expected_version,
        )

    async def set_status(
        self,
        reservation_id: str,
        wanted: Status,
        *,
        reason: str,
        updated_by: str,
        expected_version: int | None,
    ) -> Doc:
        """A client's status change (PUT /status). With an orchestrator to hand it to, a live
        booking a saga made is never ended this way (409 pointing at POST /cancel): its seats
        and its payment would stay taken."""
        if self.orchestrator is not None and wanted in domain.ENDED:
            doc = await self.get(reservation_id)
            domain.check_client_status_change(
                reservation_id, Status(doc["status"]), doc.get("sagaId"), wanted
            )
        return await self.change_status(
            reservation_id, wanted, reason=reason, updated_by=updated_by, expected_version=expected_version
        )

    async def reinstate(self, reservation_id: str, *, reason: str, fence: str | None = None) -> Doc:
        """The compensation of a cancellation saga's first step: confirmed again (idempotent).
        `fence`: the Idempotency-Key of the cancel the saga gave up on, refused from now on (in
        the same write), so a late copy of it cannot cancel the booking the saga reinstated."""
        for _ in range(MAX_RACE_RETRIES):
            doc = await self.get(reservation_id)
            if not doc.get("sagaId"):
                raise Conflict(
                    f"Reservation {reservation_id} was not made by a saga: it is never reinstated.",
                    extra={"reservationId": reservation_id},
                )
            fenced = list(doc.get("fencedKeys", []))
            new_fence = fence is not None and fence not in fenced
            entry = domain.reinstate(Status(doc["status"]), at=utc_now_ms(), reason=reason)
            if entry is None and not new_fence:
                return doc
            changes: Doc = {"fencedKeys": [*fenced, fence]} if new_fence else {}
            message = None
            if entry is not None:
                changes.update(status=Status.CONFIRMED.value, updatedAt=entry.timestamp)
                message = reservation_message(
                    domain.message_type(Status.CONFIRMED), preview(doc, changes, entry)
                )
            saved = await self.store.change(doc, changes, entry=entry, message=message)
            if saved is not None:
                if message is not None:
                    self.published()
                return saved
        raise Conflict(f"Reservation {reservation_id} keeps changing under concurrent writers; retry.")

    # -- seats ---------------------------------------------------------------------------------

    async def settle(self, doc: Doc) -> Doc:
        """Give back the seats of an ended direct reservation, exactly once. Leaves the hold
        as it is when the event service cannot be reached: the sweep comes back."""
        hold = SeatHold(doc["seatHold"])
        rid, event_id, seats = doc["id"], doc["eventId"], doc["bookingDetails"]["seats"]
        if hold is SeatHold.RESOLVING:
            # Replaying the book by its key learns whether it landed, and makes sure it did
            # exactly once, so the release below can never give back seats never taken.
            booked = await self.seats.book(event_id, rid, seats)
            if booked.verdict is Verdict.UNREACHABLE:
                return doc
            if booked.verdict is not Verdict.DONE:
                return await self._mark(doc, hold, SeatHold.REFUSED)
        elif hold is not SeatHold.RELEASING:
            return doc
        released = await self.seats.release(event_id, rid, seats)
        if released.verdict in (Verdict.DONE, Verdict.NOT_FOUND):
            return await self._mark(doc, hold, SeatHold.RELEASED)
        if released.verdict is not Verdict.UNREACHABLE:
            log.error(
                "event service refused to release the seats of reservation %s: %s", rid, released.detail
            )
        return doc

    async def _mark(self, doc: Doc, old: SeatHold, new: SeatHold) -> Doc:
        saved = await self.store.change(
            doc, {"seatHold": new.value, "updatedAt": utc_now_ms()}, require={"seatHold": old.value}
        )
        return saved or await self.get(doc["id"])

    async def sweep_once(self) -> int:
        """Finish every unsettled hold; a booking stuck in "requested" (its request died with
        a process) is cancelled and its seats resolved. Returns how many were looked at."""
        docs = await self.store.unsettled(requested_before=utc_now_ms() - self.request_grace)
        for doc in docs:
            try:
                if doc.get("seatHold") == SeatHold.REQUESTED.value:
                    await self._abandon(
                        doc,
                        EventServiceAnswer(Verdict.UNREACHABLE, "the booking request did not finish"),
                        SeatHold.RESOLVING,
                    )
                else:
                    await self.settle(doc)
            except Exception:
                log.exception("seat sweep failed on reservation %s", doc["id"])
        return len(docs)

    async def run_sweep(self, interval: float) -> None:
        await every(interval, self.sweep_once, what="seat sweep pass")
