"""The payment service's use cases: charge, read, change a status, refund (the saga's
compensation).

They call the payment provider (never while a row is locked), apply the domain's rules to
the payment they read, choose the message, and ask the store for one conditional write,
read again and retried when another change came first; they wake the outbox relay once a
change has committed. They return records of the domain; the api renders them."""

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from payment_service import domain
from payment_service.domain import (
    ANNOUNCED,
    NewPayment,
    Payment,
    RefundPlan,
    ReservationAlreadyCharged,
    Status,
    StatusChange,
)
from payment_service.messaging import payment_message
from payment_service.provider import SimulatedProvider
from payment_service.store import (
    KeyTaken,
    PaymentFilters,
    PaymentStore,
    compensate_scope,
    payment_of,
    status_scope,
    stored_amount,
)
from shared import faults
from shared.clock import utc_now
from shared.errors import Conflict, NotFound
from shared.faults import Fault
from shared.idempotency import Idempotency, StoredAnswer
from shared.results import WriteResult

log = logging.getLogger(__name__)

# Changes of one payment lost to another change before this one is refused as busy.
MAX_ATTEMPTS = 10


class PaymentBusy(Conflict):
    def __init__(self, payment_id: int) -> None:
        super().__init__(
            f"Payment {payment_id} is changing under other requests; retry.", extra={"retryable": True}
        )


class Payments:
    def __init__(
        self,
        store: PaymentStore,
        provider: SimulatedProvider,
        *,
        published: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.provider = provider
        self.published = published  # wakes the outbox relay
        self.clock = clock

    async def create(self, new: NewPayment, idem: Idempotency | None) -> WriteResult[Payment]:
        """Charge through the provider and record the payment, completed or failed (declined).
        The same Idempotency-Key and body replays the first result, without a second charge."""
        if faults.on(Fault.NO_IDEMPOTENCY):
            # Teaching fault no-idempotency: the key is ignored, so a retried charge (the saga's
            # step after a lost answer) charges the customer again.
            idem = None
        earlier = await self.store.replay_or_new_id(idem)
        if isinstance(earlier, Payment):
            return WriteResult(earlier, replayed=True)
        charge = self.provider.charge(new.amount, new.currency)
        # The provider answered synchronously, so the payment is born in its final status; the
        # machine still has to allow pending -> that status.
        status = domain.transition(Status.PENDING, charge.status)
        now = self.clock()
        payment = Payment(
            id=earlier,
            reservation_id=new.reservation_id,
            user_id=new.user_id,
            amount=stored_amount(new.amount),
            currency=new.currency,
            payment_method=new.payment_method,
            status=status,
            failure_reason=charge.failure_reason,
            created_at=now,
            updated_at=now,
            version=1,
        )
        if await self.store.insert(payment, payment_message(ANNOUNCED[status], payment), idem):
            self.published()
            return WriteResult(payment)
        # Not written: a twin with our key (its payment and stored result committed together),
        # the fence of our caller, or a live charge of the reservation. A fresh read tells which.
        replay = await self.store.created_under(idem)
        if replay is not None:
            return WriteResult(replay, replayed=True)
        live = await self.store.live_charge(new.reservation_id)
        if live is not None:
            raise ReservationAlreadyCharged(new.reservation_id, *live)
        raise RuntimeError("payment insert conflicted with neither its key nor its reservation")

    async def fence(self, key: str) -> Payment | None:
        """For a caller that gave up on a charge: the payment made under `key`, or None once the
        key is fenced (no charge under it, ever)."""
        return await self.store.fence(key)

    async def get(self, payment_id: int) -> Payment:
        payment = await self.store.get(payment_id)
        if payment is None:
            raise NotFound(f"Payment {payment_id} not found.")
        return payment

    async def page(self, filters: PaymentFilters, offset: int, limit: int) -> tuple[list[Payment], int]:
        return await self.store.page(filters, offset, limit)

    async def change_status(
        self,
        payment_id: int,
        wanted: Status,
        reason: str | None,
        expected_version: int | None,
        idem: Idempotency | None,
    ) -> WriteResult[Payment]:
        """A legal status change, conditional on the version the caller read (if given)."""
        scope = status_scope(payment_id)
        for _ in range(MAX_ATTEMPTS):
            current = await self.store.current(payment_id, scope, idem)
            if isinstance(current, StoredAnswer):
                return WriteResult(payment_of(current), replayed=True)
            if expected_version is not None and expected_version != current.version:
                raise domain.VersionConflict(payment_id, expected_version, current.version)
            written = await self._record(
                current, domain.status_change(current.status, wanted, reason), idem, scope
            )
            if written is not None:
                return WriteResult(written)
            # Another change came first, or a twin with our key: read again.
        raise PaymentBusy(payment_id)

    async def compensate(
        self, payment_id: int, reason: str | None, idem: Idempotency | None
    ) -> WriteResult[Payment]:
        """Refund a completed payment; a refunded or failed one is answered unchanged.

        Three steps, no lock held across the provider's call: record `refunding`, ask the
        provider for the refund under a key derived from the payment, record the outcome.
        Each write is conditional on the version read, so of two compensations racing only
        one moves each step. A crash between the steps leaves the payment `refunding`: the
        next compensation (the saga retries its step) calls the provider again under the same
        key, which the provider answers without refunding twice, and records the outcome."""
        scope = compensate_scope(payment_id)
        for _ in range(MAX_ATTEMPTS):
            current = await self.store.current(payment_id, scope, idem)
            if isinstance(current, StoredAnswer):
                return WriteResult(payment_of(current), replayed=True)
            if domain.refund_plan(payment_id, current.status) is not RefundPlan.REFUND:
                try:
                    await self.store.keep_answer(scope, idem, current)
                except KeyTaken:
                    continue
                return WriteResult(current)
            if current.status is Status.COMPLETED:
                refunding = self._after(current, StatusChange(Status.REFUNDING, None, None))
                if not await self.store.write(
                    refunding, current.version, None, scope, idem, keep_answer=False
                ):
                    continue
                current = refunding
            refunded = self.provider.refund(current.amount, current.currency, key=refund_key(payment_id))
            written = await self._record(current, domain.refund_result(current.status, refunded), idem, scope)
            if written is not None:
                log.info("payment %s refunded: %s", payment_id, reason or "no reason given")
                return WriteResult(written)
            # Another compensation recorded the outcome first: the next read answers it.
        raise PaymentBusy(payment_id)

    async def _record(
        self, current: Payment, change: StatusChange, idem: Idempotency | None, scope: str
    ) -> Payment | None:
        """Write `change` on the version of `current` with its message and the answer under
        the key; None when another change (or a twin's answer) came first."""
        after = self._after(current, change)
        message = payment_message(change.routing_key, after) if change.routing_key is not None else None
        try:
            if not await self.store.write(after, current.version, message, scope, idem):
                return None
        except KeyTaken:
            return None
        self.published()
        return after

    def _after(self, current: Payment, change: StatusChange) -> Payment:
        # The payment as the write leaves it, so its message is known before it is sent.
        return replace(
            current,
            status=change.status,
            failure_reason=change.failure_reason,
            version=current.version + 1,
            updated_at=self.clock(),
        )


def refund_key(payment_id: int) -> str:
    """The key of a payment's refund at the provider: one refund per payment, however often
    the call is repeated."""
    return f"payment:{payment_id}:refund"
