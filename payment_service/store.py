"""Payments in PostgreSQL: creation with its idempotency key, conditional status changes,
refunds, filtered pages; every change writes its outbox message and stored answer in the
same transaction. The only module that names the payments table."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from payment_service import domain
from payment_service.domain import HOLDS_RESERVATION, RefundPlan, ReservationAlreadyCharged, Status
from payment_service.messaging import payment_message
from payment_service.provider import ChargeOutcome, SimulatedProvider
from payment_service.schemas import PaymentIn, PaymentOut
from shared.errors import NotFound
from shared.idempotency import Idempotency, StoredAnswer
from shared.idempotency.sql import find_answer, save_answer
from shared.messaging.outbox import add_to_outbox

metadata = sa.MetaData()

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("reservation_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("amount", sa.Numeric(14, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("payment_method", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("failure_reason", sa.Text),
    sa.Column("idempotency_key", sa.String(255)),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


SCOPE_CREATE = "payments.create"


def _status_scope(payment_id: int) -> str:
    return f"payments.status:{payment_id}"


def _compensate_scope(payment_id: int) -> str:
    return f"payments.compensate:{payment_id}"


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


@dataclass(frozen=True)
class PaymentFilters:
    reservation_id: str | None = None
    user_id: str | None = None
    status: Status | None = None
    idempotency_key: str | None = None


def as_document(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A row as its GET answers it (camelCase JSON); also the cache value and message data."""
    return PaymentOut.model_validate(dict(row)).model_dump(mode="json", by_alias=True)


class PaymentStore:
    def __init__(self, engine: AsyncEngine, provider: SimulatedProvider) -> None:
        self.engine = engine
        self.provider = provider

    async def replay(self, idem: Idempotency | None) -> Outcome | None:
        """The stored answer of an earlier creation with this key (422 if its body differed)."""
        if idem is None:
            return None
        async with self.engine.connect() as conn:
            found = await find_answer(conn, SCOPE_CREATE, idem)
        return _replayed(found)

    async def create(self, payment: PaymentIn, idem: Idempotency | None) -> Outcome:
        """Charge through the provider and record the payment, completed or failed (declined).

        Concurrent twins with one key race on the unique idempotency_key: the loser rolls
        back and replays the winner's answer. Two charges of one reservation race on the
        partial unique index: the loser gets 409 naming the winner."""
        outcome = self.provider.charge(payment.amount, payment.currency)
        try:
            async with self.engine.begin() as conn:
                replay = await _replay_in(conn, SCOPE_CREATE, idem)  # a twin committed since the api looked
                if replay is not None:
                    return replay
                await self._refuse_second_charge(conn, payment.reservation_id)
                return await self._insert(conn, payment, outcome, idem)
        except (IntegrityError, ReservationAlreadyCharged):
            # Either may be a twin with our key that committed since we looked: its payment
            # and stored answer committed together, so a fresh read finds the answer.
            pass
        async with self.engine.connect() as conn:
            if idem is not None:
                found = await find_answer(conn, SCOPE_CREATE, idem)
                if found is not None:
                    return _replayed(found)  # type: ignore[return-value]
            await self._refuse_second_charge(conn, payment.reservation_id)
        raise RuntimeError("payment insert conflicted with neither its key nor its reservation")

    async def _refuse_second_charge(self, conn: AsyncConnection, reservation_id: str) -> None:
        live = (
            await conn.execute(
                sa.select(payments.c.id, payments.c.status)
                .where(payments.c.reservation_id == reservation_id)
                .where(payments.c.status.in_([s.value for s in HOLDS_RESERVATION]))
                .limit(1)
            )
        ).first()
        if live is not None:
            raise ReservationAlreadyCharged(reservation_id, live.id, live.status)

    async def _insert(
        self, conn: AsyncConnection, payment: PaymentIn, outcome: ChargeOutcome, idem: Idempotency | None
    ) -> Outcome:
        # The provider answered synchronously, so the row is born in its final status; the
        # machine still has to allow pending -> that status.
        status = domain.transition(Status.PENDING, outcome.status)
        row = (
            (
                await conn.execute(
                    payments.insert()
                    .values(
                        reservation_id=payment.reservation_id,
                        user_id=payment.user_id,
                        amount=payment.amount,
                        currency=payment.currency,
                        payment_method=payment.payment_method.value,
                        status=status.value,
                        failure_reason=outcome.failure_reason,
                        idempotency_key=idem.key if idem else None,
                        version=1,
                        created_at=sa.func.now(),
                        updated_at=sa.func.now(),
                    )
                    .returning(*payments.c)
                )
            )
            .mappings()
            .one()
        )
        doc = as_document(row)
        await add_to_outbox(conn, payment_message(domain.ANNOUNCED[status], doc))
        if idem is not None:
            await save_answer(conn, SCOPE_CREATE, idem, StoredAnswer(201, doc))
        return Outcome(201, doc)

    async def get(self, payment_id: int) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(sa.select(payments).where(payments.c.id == payment_id)))
                .mappings()
                .first()
            )
        return as_document(row) if row is not None else None

    async def page(
        self, filters: PaymentFilters, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        conditions = []
        if filters.reservation_id is not None:
            conditions.append(payments.c.reservation_id == filters.reservation_id)
        if filters.user_id is not None:
            conditions.append(payments.c.user_id == filters.user_id)
        if filters.status is not None:
            conditions.append(payments.c.status == filters.status.value)
        if filters.idempotency_key is not None:
            conditions.append(payments.c.idempotency_key == filters.idempotency_key)
        async with self.engine.connect() as conn:
            total = (
                await conn.execute(sa.select(sa.func.count()).select_from(payments).where(*conditions))
            ).scalar_one()
            rows = (
                (
                    await conn.execute(
                        sa.select(payments)
                        .where(*conditions)
                        .order_by(payments.c.created_at.desc(), payments.c.id.desc())
                        .offset(offset)
                        .limit(limit)
                    )
                )
                .mappings()
                .all()
            )
        return [as_document(r) for r in rows], total

    async def change_status(
        self,
        payment_id: int,
        wanted: Status,
        reason: str | None,
        expected_version: int | None,
        idem: Idempotency | None,
    ) -> Outcome:
        """A legal status change, conditional on the version the caller read (if given)."""
        async with self.engine.begin() as conn:
            row = await self._lock(conn, payment_id)
            replay = await _replay_in(conn, _status_scope(payment_id), idem)
            if replay is not None:
                return replay
            if expected_version is not None and expected_version != row["version"]:
                raise domain.VersionConflict(payment_id, expected_version, row["version"])
            change = domain.status_change(Status(row["status"]), wanted, reason)
            doc = await self._update(conn, payment_id, change.status, change.failure_reason)
            if change.routing_key is not None:
                await add_to_outbox(conn, payment_message(change.routing_key, doc))
            if idem is not None:
                await save_answer(conn, _status_scope(payment_id), idem, StoredAnswer(200, doc))
            return Outcome(200, doc)

    async def compensate(self, payment_id: int, idem: Idempotency | None) -> tuple[Outcome, bool]:
        """Refund a completed payment (completed -> refunding -> refunded in one transaction);
        a refunded or failed one is answered unchanged. Second value: whether it changed."""
        async with self.engine.begin() as conn:
            row = await self._lock(conn, payment_id)
            replay = await _replay_in(conn, _compensate_scope(payment_id), idem)
            if replay is not None:
                return replay, False
            current = Status(row["status"])
            plan = domain.refund_plan(payment_id, current)
            changed = plan is RefundPlan.REFUND
            doc = as_document(row)
            if changed:
                refunded = self.provider.refund(row["amount"], row["currency"])
                path = domain.refund_path(current)
                final = path[-1] if refunded else domain.transition(Status.REFUNDING, Status.REFUND_FAILED)
                reason = None if refunded else "Refund refused by the provider"
                doc = await self._update(conn, payment_id, final, reason)
                if final in domain.ANNOUNCED:
                    await add_to_outbox(conn, payment_message(domain.ANNOUNCED[final], doc))
            if idem is not None:
                await save_answer(conn, _compensate_scope(payment_id), idem, StoredAnswer(200, doc))
            return Outcome(200, doc), changed

    async def _lock(self, conn: AsyncConnection, payment_id: int) -> Mapping[Any, Any]:
        # Row lock: changes of one payment take turns, so each sees the status it changes.
        row = (
            (await conn.execute(sa.select(payments).where(payments.c.id == payment_id).with_for_update()))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"Payment {payment_id} not found.")
        return row

    async def _update(
        self, conn: AsyncConnection, payment_id: int, status: Status, failure_reason: str | None
    ) -> dict[str, Any]:
        row = (
            (
                await conn.execute(
                    payments.update()
                    .where(payments.c.id == payment_id)
                    .values(
                        status=status.value,
                        failure_reason=failure_reason,
                        version=payments.c.version + 1,
                        updated_at=sa.func.now(),
                    )
                    .returning(*payments.c)
                )
            )
            .mappings()
            .one()
        )
        return as_document(row)


def _replayed(found: StoredAnswer | None) -> Outcome | None:
    if found is None:
        return None
    return Outcome(found.status_code, found.body, replayed=True)


async def _replay_in(conn: AsyncConnection, scope: str, idem: Idempotency | None) -> Outcome | None:
    if idem is None:
        return None
    return _replayed(await find_answer(conn, scope, idem))
