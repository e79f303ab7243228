"""Payments in PostgreSQL: insertion with its idempotency key, status changes under the row
lock, filtered pages; every change writes its outbox message and the result kept under its
idempotency key in the same transaction. The only module that names the payments table.

Persistence only: the provider is called by the use case, the rules come in as a function of
the current `Payment`, and every method returns records of the domain, never REST answers."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from payment_service.domain import (
    ANNOUNCED,
    HOLDS_RESERVATION,
    Method,
    NewPayment,
    Payment,
    ReservationAlreadyCharged,
    Status,
    StatusChange,
)
from payment_service.messaging import payment_message
from shared import sql
from shared.errors import NotFound
from shared.idempotency import Idempotency, StoredAnswer
from shared.idempotency.sql import fence, find_answer, save_answer
from shared.messaging.sql_outbox import add_to_outbox
from shared.results import WriteResult, record_from_json, record_to_json

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
class PaymentFilters:
    reservation_id: str | None = None
    user_id: str | None = None
    status: Status | None = None
    idempotency_key: str | None = None


# Decides the change of a payment from its current state, under its row lock; None: unchanged.
Decide = Callable[[Payment], Awaitable[StatusChange | None]]


class PaymentStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # A charge's read and its write are single statements, atomic on their own: no
        # BEGIN/COMMIT round trips.
        self.autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def replay_or_new_id(self, idem: Idempotency | None) -> Payment | int:
        """The stored result of an earlier creation with this key (422 if its body differed,
        409 once fenced), or else the id the new payment will have, in one read: the message
        announcing the payment is written with it, so it is known before the write."""
        params = {"p_scope": SCOPE_CREATE, "p_key": idem.key if idem is not None else None}
        async with self.autocommit.connect() as conn:
            row = (await conn.execute(_REPLAY_OR_NEW_ID, params)).one()
        if idem is not None and row.fingerprint is not None:
            idem.same_request(row.fingerprint)
            payment = _payment_of(StoredAnswer(row.status_code, row.response))
            assert payment is not None
            return payment
        return int(row.next_id)

    async def insert(
        self,
        payment_id: int,
        new: NewPayment,
        status: Status,
        failure_reason: str | None,
        idem: Idempotency | None,
        now: datetime,
    ) -> WriteResult[Payment]:
        """Record a charge the provider answered, in its final status, as `payment_id`: one
        statement inserts the payment unless the reservation already has a live charge, and
        its outbox row and the result kept under the key from its RETURNING.

        Concurrent twins with one key race on the unique idempotency_key: the loser's
        statement fails whole and replays the winner's result. Two charges of one
        reservation race on the partial unique index: the loser gets 409 naming the winner."""
        payment = Payment(
            id=payment_id,
            reservation_id=new.reservation_id,
            user_id=new.user_id,
            # As NUMERIC(14, 2) stores it, so the message and the answer say what the row holds.
            amount=new.amount.quantize(CENT, ROUND_HALF_UP),
            currency=new.currency,
            payment_method=new.payment_method,
            status=status,
            failure_reason=failure_reason,
            created_at=now,
            updated_at=now,
            version=1,
        )
        message = payment_message(ANNOUNCED[status], payment)
        params: dict[str, Any] = {
            "p_id": payment.id,
            "p_reservation_id": payment.reservation_id,
            "p_user_id": payment.user_id,
            "p_amount": payment.amount,
            "p_currency": payment.currency,
            "p_payment_method": payment.payment_method.value,
            "p_status": payment.status.value,
            "p_failure_reason": payment.failure_reason,
            "p_idempotency_key": idem.key if idem is not None else None,
            "p_now": now,
            **sql.hung_values(
                message, idem, scope=SCOPE_CREATE, status_code=201, response=record_to_json(payment)
            ),
        }
        try:
            async with self.autocommit.connect() as conn:
                made = (await conn.execute(_CHARGES[idem is not None], params)).scalar_one()
            if made:
                return WriteResult(payment)
        except IntegrityError:
            pass
        # Not written: a live charge of the reservation, a twin with our key (its payment
        # and stored result committed together) or the fence of our caller. A fresh read
        # tells which.
        async with self.engine.connect() as conn:
            replay = await _replay_in(conn, SCOPE_CREATE, idem)
            if replay is not None:
                return WriteResult(replay, replayed=True)
            await self._refuse_second_charge(conn, new.reservation_id)
        raise RuntimeError("payment insert conflicted with neither its key nor its reservation")

    async def fence(self, key: str) -> Payment | None:
        """Fence the key of a charge its caller gave up on: None when no charge was made under
        it and none ever will be (a late copy's write fails on the tombstone, see `insert`),
        else the payment that charge recorded."""
        async with self.engine.begin() as conn:
            return _payment_of(await fence(conn, SCOPE_CREATE, key))

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

    async def get(self, payment_id: int) -> Payment | None:
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(sa.select(payments).where(payments.c.id == payment_id)))
                .mappings()
                .first()
            )
        return as_payment(row) if row is not None else None

    async def page(self, filters: PaymentFilters, offset: int, limit: int) -> tuple[list[Payment], int]:
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
        return [as_payment(r) for r in rows], total

    async def change_status(
        self, payment_id: int, idem: Idempotency | None, decide: Decide
    ) -> WriteResult[Payment]:
        """A status change as `decide` says (see `_change`)."""
        result, _ = await self._change(_status_scope(payment_id), payment_id, idem, decide)
        return result

    async def refund(
        self, payment_id: int, idem: Idempotency | None, decide: Decide
    ) -> tuple[WriteResult[Payment], bool]:
        """A refund as `decide` says (see `_change`). Second value: whether the payment changed."""
        return await self._change(_compensate_scope(payment_id), payment_id, idem, decide)

    async def _change(
        self, scope: str, payment_id: int, idem: Idempotency | None, decide: Decide
    ) -> tuple[WriteResult[Payment], bool]:
        """Change a payment as `decide` says, under its row lock, so changes of one payment
        take turns and each is decided on the status it changes. A key seen before replays
        its result first. Second value: whether the payment changed."""
        async with self.engine.begin() as conn:
            current = as_payment(await self._lock(conn, payment_id))
            replay = await _replay_in(conn, scope, idem)
            if replay is not None:
                return WriteResult(replay, replayed=True), False
            change = await decide(current)
            payment = current
            if change is not None:
                payment = await self._update(conn, payment_id, change.status, change.failure_reason)
                if change.routing_key is not None:
                    await add_to_outbox(conn, payment_message(change.routing_key, payment))
            await _keep(conn, scope, idem, 200, payment)
            return WriteResult(payment), change is not None

    async def _lock(self, conn: AsyncConnection, payment_id: int) -> Mapping[Any, Any]:
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
    ) -> Payment:
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
        return as_payment(row)


CENT = Decimal("0.01")


def _replay_or_new_id_statement() -> sa.Select[Any]:
    keys = sql.idempotency_keys
    answer = (
        sa.select(keys.c.fingerprint, keys.c.status_code, keys.c.response)
        .where(
            keys.c.scope == sa.bindparam("p_scope", type_=sa.String),
            keys.c.key == sa.bindparam("p_key", type_=sa.String),
        )
        .subquery()
    )
    next_id = sa.func.nextval(sa.func.pg_get_serial_sequence("payments", "id"))
    one = sa.select(next_id.label("next_id")).subquery()
    # A left join on true: one row whether an answer is stored or not.
    return sa.select(one.c.next_id, answer).select_from(one.outerjoin(answer, sa.true()))


def _charge_statement(*, keep_answer: bool) -> sa.Select[Any]:
    """The payment inserted unless the reservation holds a live charge, and its outbox row
    (and the result kept under the key) inserted from its RETURNING: they exist exactly when
    it does. PostgreSQL runs every data-modifying CTE to completion, read or not."""
    live = (
        sa.select(payments.c.id)
        .where(
            payments.c.reservation_id == sa.bindparam("p_reservation_id", type_=sa.String),
            payments.c.status.in_([s.value for s in HOLDS_RESERVATION]),
        )
        .limit(1)
    )
    values = sa.select(
        sa.bindparam("p_id", type_=sa.BigInteger),
        sa.bindparam("p_reservation_id", type_=sa.String),
        sa.bindparam("p_user_id", type_=sa.String),
        sa.bindparam("p_amount", type_=sa.Numeric(14, 2)),
        sa.bindparam("p_currency", type_=sa.String),
        sa.bindparam("p_payment_method", type_=sa.String),
        sa.bindparam("p_status", type_=sa.String),
        sa.bindparam("p_failure_reason", type_=sa.Text),
        sa.bindparam("p_idempotency_key", type_=sa.String),
        sa.literal(1, sa.Integer),
        sa.bindparam("p_now", type_=sa.DateTime(timezone=True)),
        sa.bindparam("p_now", type_=sa.DateTime(timezone=True)),
    ).where(~sa.exists(live))
    made = (
        payments.insert()
        .from_select(
            [
                "id",
                "reservation_id",
                "user_id",
                "amount",
                "currency",
                "payment_method",
                "status",
                "failure_reason",
                "idempotency_key",
                "version",
                "created_at",
                "updated_at",
            ],
            values,
        )
        .returning(payments.c.id)
        .cte("made")
    )
    writes = sql.writes_hung_on(made, keep_answer=keep_answer)
    return sa.select(sa.exists(sa.select(made.c.id)).label("made")).add_cte(*writes)


# Built once: building a CTE statement costs more CPU than sending it.
_REPLAY_OR_NEW_ID = _replay_or_new_id_statement()
_CHARGES = {keep: _charge_statement(keep_answer=keep) for keep in (False, True)}


def as_payment(row: Mapping[Any, Any]) -> Payment:
    return Payment(
        id=row["id"],
        reservation_id=row["reservation_id"],
        user_id=row["user_id"],
        amount=row["amount"],
        currency=row["currency"],
        payment_method=Method(row["payment_method"]),
        status=Status(row["status"]),
        failure_reason=row["failure_reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


# The result kept under an Idempotency-Key is stored with the field names of the answer it
# produced, so a result stored before records were kept (the answer itself) still replays.


def _payment_of(found: StoredAnswer | None) -> Payment | None:
    return record_from_json(Payment, found.body) if found is not None else None


async def _keep(
    conn: AsyncConnection, scope: str, idem: Idempotency | None, status_code: int, payment: Payment
) -> None:
    """Store the result under the caller's key, in the transaction of the change."""
    if idem is not None:
        await save_answer(conn, scope, idem, StoredAnswer(status_code, record_to_json(payment)))


async def _replay_in(conn: AsyncConnection, scope: str, idem: Idempotency | None) -> Payment | None:
    if idem is None:
        return None
    return _payment_of(await find_answer(conn, scope, idem))
