"""The payment service's use cases: charge, read, change a status, refund (the saga's
compensation).

They call the payment provider, hand the domain's rules to the store (which applies them to
the current payment under its row lock), and wake the outbox relay once a change has
committed. They return records of the domain; the api renders them."""

import logging
from collections.abc import Callable
from datetime import datetime

from payment_service import domain
from payment_service.domain import NewPayment, Payment, RefundPlan, Status, StatusChange
from payment_service.provider import SimulatedProvider
from payment_service.store import PaymentFilters, PaymentStore
from shared import faults
from shared.clock import utc_now
from shared.errors import NotFound
from shared.faults import Fault
from shared.idempotency import Idempotency
from shared.results import WriteResult

log = logging.getLogger(__name__)


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
        result = await self.store.insert(earlier, new, status, charge.failure_reason, idem, self.clock())
        if not result.replayed:
            self.published()
        return result

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

        async def decide(current: Payment) -> StatusChange:
            if expected_version is not None and expected_version != current.version:
                raise domain.VersionConflict(payment_id, expected_version, current.version)
            return domain.status_change(current.status, wanted, reason)

        result = await self.store.change_status(payment_id, idem, decide)
        if not result.replayed:
            self.published()
        return result

    async def compensate(
        self, payment_id: int, reason: str | None, idem: Idempotency | None
    ) -> WriteResult[Payment]:
        """Refund a completed payment (completed -> refunding -> refunded in one transaction);
        a refunded or failed one is answered unchanged."""

        async def decide(current: Payment) -> StatusChange | None:
            if domain.refund_plan(payment_id, current.status) is not RefundPlan.REFUND:
                return None
            # Called under the payment's row lock: two compensations take turns, and only the
            # first finds money to give back.
            refunded = self.provider.refund(current.amount, current.currency)
            return domain.refund_result(current.status, refunded)

        result, changed = await self.store.refund(payment_id, idem, decide)
        if changed:
            log.info("payment %s refunded: %s", payment_id, reason or "no reason given")
            self.published()
        return result
