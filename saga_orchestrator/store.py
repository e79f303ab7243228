"""The durable saga log in PostgreSQL: saga instances, their step rows, leases and the outbox.

Every write that moves a saga is guarded by its lease (`owner`): a process whose lease was
taken over by another orchestrator gets LeaseLost and stops driving that saga.

Each write that moves a saga is ONE statement sent in autocommit: the saga row's UPDATE is
a common table expression, and the step rows and the outbox row are written only from its
RETURNING (so nothing is written when the lease was lost). PostgreSQL runs one statement
atomically, so this is a transaction without the BEGIN, COMMIT and extra round trips (what
it saves: docs/performance.md).
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from psycopg import errors as pg_errors
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from saga_orchestrator.domain import TERMINAL, Kind, Saga, SagaStatus, SagaType, StepRecord, StepStatus
from shared import sql, tracing
from shared.contracts import Envelope

metadata = sa.MetaData()

sagas = sa.Table(
    "sagas",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("current_step", sa.String(32)),
    sa.Column("request", JSONB, nullable=False),
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("seats", sa.Integer, nullable=False),
    sa.Column("amount", sa.Numeric(14, 2), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("reservation_id", sa.String(64)),
    sa.Column("payment_id", sa.String(64)),
    sa.Column("error", sa.Text),
    sa.Column("idempotency_key", sa.String(255), unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("owner", sa.String(128)),
    sa.Column("type", sa.String(16), nullable=False, server_default="booking"),
    sa.Column("context", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    # The start request's trace context (shared/tracing.py); NULL outside a trace.
    sa.Column("trace_context", JSONB(none_as_null=True)),
)

saga_steps = sa.Table(
    "saga_steps",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("saga_id", UUID(as_uuid=True), nullable=False),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    sa.Column("response", JSONB),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)

UNFINISHED = sagas.c.status.not_in([s.value for s in TERMINAL])


class LeaseLost(Exception):
    """Another orchestrator holds this saga now; this process must stop driving it."""


class SagaTaken(Exception):
    """A unique index refused the new saga, and nothing was written: a saga under the same
    Idempotency-Key was committed first, or (`live_cancellation`) a running cancellation of
    the same reservation."""

    def __init__(self, *, live_cancellation: bool) -> None:
        super().__init__("a live cancellation of the reservation" if live_cancellation else "its key")
        self.live_cancellation = live_cancellation


def _record(row: Mapping[str, Any]) -> StepRecord:
    response = row["response"] if isinstance(row["response"], dict) else {}
    return StepRecord(
        name=row["name"],
        kind=Kind(row["kind"]),
        status=StepStatus(row["status"]),
        attempts=row["attempts"],
        uncertain=bool(response.get("uncertain")),
        error=row["error"],
        irreversible=bool(response.get("irreversible")),
    )


class SagaStore:
    def __init__(self, engine: AsyncEngine, owner: str, lease_seconds: float) -> None:
        self.engine = engine
        # For single statements (atomic on their own) and reads: no BEGIN/COMMIT round trips.
        self.autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.owner = owner
        self.lease = timedelta(seconds=lease_seconds)
        self._statements: dict[tuple[Any, ...], sa.Select[Any]] = {}

    def _lease_end(self) -> sa.ColumnElement[datetime]:
        return sa.func.now() + sa.bindparam("lease", self.lease, type_=sa.Interval)

    # --- instances -------------------------------------------------------------------------

    async def create(self, values: dict[str, Any]) -> Saga:
        """Insert a saga leased to this process; SagaTaken when a twin (or a running
        cancellation of the same reservation) was committed first."""
        try:
            async with self.autocommit.connect() as conn:
                row = (
                    await conn.execute(
                        sagas.insert()
                        .values(
                            **values,
                            status=SagaStatus.STARTED.value,
                            owner=self.owner,
                            lease_until=self._lease_end(),
                            # Its drive, by whichever orchestrator, joins the start's trace.
                            trace_context=tracing.carrier(),
                        )
                        .returning(*sagas.c)
                    )
                ).one()
        except IntegrityError as exc:
            if not isinstance(exc.orig, pg_errors.UniqueViolation):
                raise
            raise SagaTaken(live_cancellation="uq_sagas_live_cancellation" in str(exc.orig)) from exc
        return Saga.of(row._mapping)

    async def find_by_key(self, key: str) -> Saga | None:
        async with self.autocommit.connect() as conn:
            row = (await conn.execute(sa.select(sagas).where(sagas.c.idempotency_key == key))).first()
        return Saga.of(row._mapping) if row else None

    async def live_cancellation(self, reservation_id: str) -> Saga | None:
        """The reservation's cancellation saga, unless it was refused (COMPENSATED)."""
        async with self.autocommit.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(sagas).where(
                        sagas.c.reservation_id == reservation_id,
                        sagas.c.type == SagaType.CANCELLATION.value,
                        sagas.c.status != SagaStatus.COMPENSATED.value,
                    )
                )
            ).first()
        return Saga.of(row._mapping) if row else None

    async def read(self, saga_id: uuid.UUID) -> tuple[Saga, list[dict[str, Any]]] | None:
        """The saga and its step rows through one connection (what `GET /api/saga/{id}` shows);
        None when there is no such saga."""
        async with self.autocommit.connect() as conn:
            saga = (await conn.execute(sa.select(sagas).where(sagas.c.id == saga_id))).first()
            if saga is None:
                return None
            rows = await conn.execute(
                sa.select(saga_steps).where(saga_steps.c.saga_id == saga_id).order_by(saga_steps.c.id)
            )
            return Saga.of(saga._mapping), [dict(r._mapping) for r in rows]

    async def load(self, saga_id: uuid.UUID) -> tuple[Saga, list[StepRecord]]:
        """The saga and its step log, as the driver decides from them."""
        found = await self.find(saga_id)
        if found is None:
            raise sa.exc.NoResultFound(f"saga {saga_id}")
        return found

    async def find(self, saga_id: uuid.UUID) -> tuple[Saga, list[StepRecord]] | None:
        """As `load`, None when there is no such saga."""
        found = await self.read(saga_id)
        if found is None:
            return None
        saga, rows = found
        return saga, [_record(r) for r in rows]

    async def page(
        self, *, status: str | None, older_than: datetime | None, offset: int, limit: int
    ) -> tuple[list[Saga], int]:
        where = []
        if status:
            where.append(sagas.c.status == status)
        if older_than is not None:
            where.append(sagas.c.created_at < older_than)
        order = [sagas.c.created_at.desc(), sagas.c.id]
        rows, total = await sql.page(self.engine, sagas, where, order, offset, limit)
        return [Saga.of(row) for row in rows], total

    # --- leases ----------------------------------------------------------------------------

    async def claim_expired(self, limit: int) -> list[uuid.UUID]:
        """Take unfinished sagas nobody holds (their lease ran out: a crashed or stopped
        orchestrator). SKIP LOCKED lets several orchestrators claim at once without sharing."""
        candidates = (
            sa.select(sagas.c.id)
            .where(UNFINISHED, sa.or_(sagas.c.lease_until.is_(None), sagas.c.lease_until < sa.func.now()))
            .order_by(sagas.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        async with self.engine.begin() as conn:
            rows = await conn.execute(
                sagas.update()
                .where(sagas.c.id.in_(candidates))
                .values(owner=self.owner, lease_until=self._lease_end())
                .returning(sagas.c.id)
            )
            return [r.id for r in rows]

    async def renew(self, ids: Sequence[uuid.UUID]) -> None:
        if not ids:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                sagas.update()
                .where(sagas.c.id.in_(list(ids)), sagas.c.owner == self.owner)
                .values(lease_until=self._lease_end())
            )

    async def release_all(self) -> None:
        """On a clean stop: hand this process's unfinished sagas to the next orchestrator now,
        without waiting for the leases to run out."""
        async with self.engine.begin() as conn:
            await conn.execute(
                sagas.update()
                .where(sagas.c.owner == self.owner, UNFINISHED)
                .values(owner=None, lease_until=None)
            )

    # --- writes: one statement each, built once per shape --------------------------------
    # Building a CTE statement (column proxies, bind parameters, its cache key) cost the
    # orchestrator more CPU than sending it: each shape (which saga columns it sets, whether a
    # step begins, whether a message is queued) is built once with bind parameters and reused.
    # Parameters are named p_* and set_*: SQLAlchemy reserves the column names in SET clauses.

    @staticmethod
    def _touched(columns: Sequence[str]) -> sa.CTE:
        """The saga row's guarded update (p_saga held by p_owner), as a CTE the statement's
        other writes select from; `columns` are set from set_<column>."""
        values: dict[str, Any] = {
            "version": sagas.c.version + 1,
            "updated_at": sa.func.now(),
            "lease_until": sa.func.now() + sa.bindparam("p_lease", type_=sa.Interval),
        }
        values.update({c: sa.bindparam(f"set_{c}") for c in columns})
        return (
            sagas.update()
            .where(sagas.c.id == sa.bindparam("p_saga"), sagas.c.owner == sa.bindparam("p_owner"))
            .values(values)
            .returning(*sagas.c)
            .cte("touched")
        )

    def _params(self, saga_id: uuid.UUID, values: Mapping[str, Any], **more: Any) -> dict[str, Any]:
        return {
            "p_saga": saga_id,
            "p_owner": self.owner,
            "p_lease": self.lease,
            **{f"set_{c}": v for c, v in values.items()},
            **more,
        }

    async def _write(self, saga_id: uuid.UUID, statement: sa.Select[Any], params: dict[str, Any]) -> Saga:
        """Run the saga update and the writes that hang on it as one statement; the saga row
        as committed, or LeaseLost (then nothing was written)."""
        async with self.autocommit.connect() as conn:
            row = (await conn.execute(statement, params)).first()
        if row is None:
            raise LeaseLost(str(saga_id))
        return Saga.of(row._mapping)

    # --- the step log ----------------------------------------------------------------------

    @staticmethod
    def _step_updated(touched: sa.CTE, step: str, **values: Any) -> sa.CTE:
        """The step row named by the bind parameter `step` set to `values`, if the saga update
        happened."""
        return (
            saga_steps.update()
            .where(
                saga_steps.c.saga_id == sa.bindparam("p_saga"),
                saga_steps.c.name == sa.bindparam(step),
                sa.exists(sa.select(touched.c.id)),
            )
            .values(**values)
            .cte(f"step_{step}")
        )

    @staticmethod
    def _started(touched: sa.CTE) -> sa.CTE:
        """The step row p_step of kind p_kind begun (started, one more attempt), if the saga
        update happened."""
        row = sa.select(
            touched.c.id,
            sa.bindparam("p_step", type_=sa.String),
            sa.bindparam("p_kind", type_=sa.String),
            sa.literal(StepStatus.STARTED.value, sa.String),
            sa.literal(1, sa.Integer),
        )
        upsert = insert(saga_steps).from_select(["saga_id", "name", "kind", "status", "attempts"], row)
        return upsert.on_conflict_do_update(
            constraint="uq_saga_steps_saga_name",
            set_={
                "status": StepStatus.STARTED.value,
                "attempts": saga_steps.c.attempts + 1,
                "started_at": sa.func.now(),
                "finished_at": None,
            },
        ).cte("started")

    async def begin(
        self, saga_id: uuid.UUID, name: str, kind: Kind, *, status: SagaStatus | None = None
    ) -> Saga:
        """Commit the step row (started, one more attempt) BEFORE the participant is called,
        so a crash during the call leaves a trace the next orchestrator resumes from.
        Returns the saga row as committed."""
        values: dict[str, Any] = {"current_step": name}
        if status is not None:
            values["status"] = status.value

        def build() -> sa.Select[Any]:
            touched = self._touched(list(values))
            return sa.select(touched).add_cte(self._started(touched))

        shape = ("begin", *values)
        statement = self._statements.get(shape)
        if statement is None:
            statement = self._statements[shape] = build()
        params = self._params(saga_id, values, p_step=name, p_kind=kind.value)
        return await self._write(saga_id, statement, params)

    async def finish(
        self,
        saga_id: uuid.UUID,
        name: str,
        *,
        ok: bool,
        error: str | None,
        response: dict[str, Any] | None,
        fields: dict[str, Any],
        then_begin: tuple[str, Kind] | None = None,
        message: Envelope | None = None,
    ) -> Saga:
        """Record a step's outcome and what it taught the saga (reservation or payment id).
        `then_begin` also begins the next step (as `begin` does) in the SAME statement: one
        commit between two steps, and the next step's row is still committed before its call.
        Returns the saga row as committed."""
        if then_begin is not None and then_begin[0] == name:
            # One statement must not write a row twice (PostgreSQL keeps only one of them).
            raise ValueError(f"{name} cannot finish and begin again in one write")
        values = dict(sorted(fields.items()))
        if then_begin is not None:
            values["current_step"] = then_begin[0]

        def build() -> sa.Select[Any]:
            touched = self._touched(list(values))
            finished = self._step_updated(
                touched,
                "p_finished",
                status=sa.bindparam("set_step_status"),
                error=sa.bindparam("set_step_error"),
                response=sa.bindparam("set_step_response"),
                finished_at=sa.func.now(),
            )
            writes = [finished, self._started(touched)] if then_begin is not None else [finished]
            if message is not None:
                writes.extend(sql.writes_hung_on(touched, keep_answer=False))
            return sa.select(touched).add_cte(*writes)

        shape = ("finish", then_begin is not None, message is not None, *values)
        statement = self._statements.get(shape)
        if statement is None:
            statement = self._statements[shape] = build()
        params = self._params(
            saga_id,
            values,
            p_finished=name,
            set_step_status=(StepStatus.SUCCEEDED if ok else StepStatus.FAILED).value,
            set_step_error=error,
            set_step_response=response,
        )
        if then_begin is not None:
            params.update(p_step=then_begin[0], p_kind=then_begin[1].value)
        if message is not None:
            params.update(sql.message_values(message))
        return await self._write(saga_id, statement, params)

    async def wait_for_token(self, saga_id: uuid.UUID, name: str, error: str) -> Saga:
        """A participant refused our token on the call `name` (shared/peers.py): the call stays
        started (nothing was done; it runs again under its key), shows `error`, and this pass
        is not counted; the saga is handed back (no owner, no lease) to whichever orchestrator
        can call its participants. LeaseLost when this process no longer held it."""
        values: dict[str, Any] = {"owner": None, "lease_until": None}

        def build() -> sa.Select[Any]:
            touched = self._touched(list(values))
            waiting = self._step_updated(
                touched,
                "p_step",
                error=sa.bindparam("set_step_error"),
                attempts=sa.func.greatest(saga_steps.c.attempts - 1, 0),
            )
            return sa.select(touched).add_cte(waiting)

        shape = ("wait_for_token",)
        statement = self._statements.get(shape)
        if statement is None:
            statement = self._statements[shape] = build()
        params = self._params(saga_id, values, p_step=name, set_step_error=error)
        return await self._write(saga_id, statement, params)

    async def resume(self, saga_id: uuid.UUID, status: SagaStatus, error: str | None) -> Saga | None:
        """An operator's resume of a COMPENSATION_FAILED saga (domain.resume_status): moved to
        `status` and leased to this process, every failed call of its log given a new round
        of passes (attempts back to 0; status and error kept, so the log still shows what
        happened). None when the saga was not COMPENSATION_FAILED any more."""
        touched = (
            sagas.update()
            .where(sagas.c.id == saga_id, sagas.c.status == SagaStatus.COMPENSATION_FAILED.value)
            .values(
                status=status.value,
                error=error,
                owner=self.owner,
                lease_until=self._lease_end(),
                version=sagas.c.version + 1,
                updated_at=sa.func.now(),
            )
            .returning(*sagas.c)
            .cte("touched")
        )
        new_round = (
            saga_steps.update()
            .where(
                saga_steps.c.saga_id == saga_id,
                saga_steps.c.status == StepStatus.FAILED.value,
                sa.exists(sa.select(touched.c.id)),
            )
            .values(attempts=0)
            .cte("new_round")
        )
        async with self.autocommit.connect() as conn:
            row = (await conn.execute(sa.select(touched).add_cte(new_round))).first()
        return Saga.of(row._mapping) if row else None

    async def change_status(
        self,
        saga_id: uuid.UUID,
        status: SagaStatus,
        *,
        error: str | None = None,
        message: Envelope | None = None,
    ) -> Saga:
        """Move the saga; a terminal status and its message commit together (outbox), and a
        terminal saga is held by nobody."""
        values: dict[str, Any] = {"status": status.value}
        if error is not None:
            values["error"] = error
        if status in TERMINAL:
            values.update(owner=None, lease_until=None)

        def build() -> sa.Select[Any]:
            touched = self._touched(list(values))
            if message is None:
                return sa.select(touched)
            return sa.select(touched).add_cte(*sql.writes_hung_on(touched, keep_answer=False))

        shape = ("status", message is not None, *values)
        statement = self._statements.get(shape)
        if statement is None:
            statement = self._statements[shape] = build()
        params = self._params(saga_id, values)
        if message is not None:
            params.update(sql.message_values(message))
        return await self._write(saga_id, statement, params)
