"""Payments in PostgreSQL: insertion with its idempotency key, conditional status changes,
filtered pages; every change writes its outbox message and the result kept under its
idempotency key in the same transaction. The only module that names the payments table.

Persistence only: the use case (service.py) calls the provider, applies the rules, chooses
the message and retries a lost race; every method here is a read or one conditional write,
and returns records of the domain, never REST answers."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from payment_service.domain import (
    HOLDS_RESERVATION,
    Method,
    Payment,
    Status,
)
from shared import sql
from shared.contracts import Envelope
from shared.errors import NotFound
from shared.idempotency import Idempotency, StoredAnswer
from shared.idempotency.sql import fence, find_answer, save_answer
from shared.messaging.sql_outbox import add_to_outbox
from shared.results import record_from_json, record_to_json

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


def status_scope(payment_id: int) -> str:
    return f"payments.status:{payment_id}"


def compensate_scope(payment_id: int) -> str:
    return f"payments.compensate:{payment_id}"


@dataclass(frozen=True)
class PaymentFilters:
    reservation_id: str | None = None
    user_id: str | None = None
    status: Status | None = None
    idempotency_key: str | None = None


class KeyTaken(Exception):
    """A twin request with the same Idempotency-Key committed its answer first: nothing of
    this write was kept. Reading again finds its answer."""


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
            return payment_of(StoredAnswer(row.status_code, row.response))
        return int(row.next_id)

    async def insert(self, payment: Payment, message: Envelope, idem: Idempotency | None) -> bool:
        """Record a charge the provider answered, in its final status: one statement inserts
        the payment unless the reservation already has a live charge, and `message`'s outbox
        row and the result kept under the key from its RETURNING. False, and nothing
        written, when the reservation has a live charge, or a twin with the same key (or the
        fence of the caller) committed first: concurrent twins race on the unique
        idempotency_key, two charges of one reservation on the partial unique index, and the
        loser's statement fails whole."""
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
            "p_now": payment.created_at,
            **sql.hung_values(
                message, idem, scope=SCOPE_CREATE, status_code=201, response=record_to_json(payment)
            ),
        }
        try:
            async with self.autocommit.connect() as conn:
                return bool((await conn.execute(_CHARGES[idem is not None], params)).scalar_one())
        except IntegrityError:
            return False

    async def created_under(self, idem: Idempotency | None) -> Payment | None:
        """The payment created under the caller's key (422 if its body differed, 409 once
        fenced), or None."""
        if idem is None:
            return None
        async with self.engine.connect() as conn:
            found = await find_answer(conn, SCOPE_CREATE, idem)
        return None if found is None else payment_of(found)

    async def live_charge(self, reservation_id: str) -> tuple[int, str] | None:
        """The id and status of the reservation's live charge (one that holds it), if any."""
        async with self.engine.connect() as conn:
            live = (
                await conn.execute(
                    sa.select(payments.c.id, payments.c.status)
                    .where(payments.c.reservation_id == reservation_id)
                    .where(payments.c.status.in_([s.value for s in HOLDS_RESERVATION]))
                    .limit(1)
                )
            ).first()
        return None if live is None else (int(live.id), str(live.status))

    async def fence(self, key: str) -> Payment | None:
        """Fence the key of a charge its caller gave up on: None when no charge was made under
        it and none ever will be (a late copy's write fails on the tombstone, see `insert`),
        else the payment that charge recorded."""
        async with self.engine.begin() as conn:
            found = await fence(conn, SCOPE_CREATE, key)
        return None if found is None else payment_of(found)

    async def get(self, payment_id: int) -> Payment | None:
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(sa.select(payments).where(payments.c.id == payment_id)))
                .mappings()
                .first()
            )
        return as_payment(row) if row is not None else None

    async def page(self, filters: PaymentFilters, offset: int, limit: int) -> tuple[list[Payment], int]:
        conditions: list[sa.ColumnElement[bool]] = []
        if filters.reservation_id is not None:
            conditions.append(payments.c.reservation_id == filters.reservation_id)
        if filters.user_id is not None:
            conditions.append(payments.c.user_id == filters.user_id)
        if filters.status is not None:
            conditions.append(payments.c.status == filters.status.value)
        if filters.idempotency_key is not None:
            conditions.append(payments.c.idempotency_key == filters.idempotency_key)
        order = [payments.c.created_at.desc(), payments.c.id.desc()]
        rows, total = await sql.page(self.engine, payments, conditions, order, offset, limit)
        return [as_payment(r) for r in rows], total

    async def current(self, payment_id: int, scope: str, idem: Idempotency | None) -> Payment | StoredAnswer:
        """The answer kept under the caller's key for `scope` (422 for another body) if there
        is one, else the payment (404 if none)."""
        async with self.engine.connect() as conn:
            if idem is not None:
                found = await find_answer(conn, scope, idem)
                if found is not None:
                    return found
            row = (
                (await conn.execute(sa.select(payments).where(payments.c.id == payment_id)))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"Payment {payment_id} not found.")
        return as_payment(row)

    async def write(
        self,
        after: Payment,
        read_version: int,
        message: Envelope | None,
        scope: str,
        idem: Idempotency | None,
        *,
        keep_answer: bool = True,
    ) -> bool:
        """One conditional write, in one transaction: the payment's status, failure reason
        and updatedAt as `after` has them, only if it is still at `read_version` (False, and
        nothing written, when another change came first), with `message` in the outbox and,
        with `keep_answer`, `after` kept as the answer under the caller's key. A twin's
        answer that committed first: KeyTaken (nothing written)."""
        try:
            async with self.engine.begin() as conn:
                written = (
                    await conn.execute(
                        payments.update()
                        .where(payments.c.id == after.id, payments.c.version == read_version)
                        .values(
                            status=after.status.value,
                            failure_reason=after.failure_reason,
                            version=payments.c.version + 1,
                            updated_at=after.updated_at,
                        )
                        .returning(payments.c.id)
                    )
                ).first()
                if written is None:
                    return False
                if message is not None:
                    await add_to_outbox(conn, message)
                if keep_answer:
                    await _keep(conn, scope, idem, 200, after)
        except IntegrityError as exc:
            raise KeyTaken() from exc
        return True

    async def keep_answer(self, scope: str, idem: Idempotency | None, payment: Payment) -> None:
        """Keep `payment` as the answer under the caller's key, for a request that changed
        nothing; a twin's answer that committed first: KeyTaken."""
        if idem is None:
            return
        try:
            async with self.engine.begin() as conn:
                await _keep(conn, scope, idem, 200, payment)
        except IntegrityError as exc:
            raise KeyTaken() from exc


CENT = Decimal("0.01")


def stored_amount(amount: Decimal) -> Decimal:
    """`amount` as NUMERIC(14, 2) stores it, so the message and the answer say what the row
    will hold."""
    return amount.quantize(CENT, ROUND_HALF_UP)


def _replay_or_new_id_statement() -> sa.Select[Any]:
    answer = sql.kept_answer()
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


def payment_of(found: StoredAnswer) -> Payment:
    return record_from_json(Payment, found.body)


async def _keep(
    conn: AsyncConnection, scope: str, idem: Idempotency | None, status_code: int, payment: Payment
) -> None:
    """Store the result under the caller's key, in the transaction of the change."""
    if idem is not None:
        await save_answer(conn, scope, idem, StoredAnswer(status_code, record_to_json(payment)))
