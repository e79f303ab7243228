"""The events table in PostgreSQL: reads, conditional writes under optimistic locking (DB2),
idempotent seat changes, and the outbox row of every change, all in one transaction each.

Persistence only: the rules come in as functions of the current `Event` (the use case passes
the domain's), and every method returns records of the domain, never REST answers."""

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from psycopg import errors as pg_errors
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from event_service import domain, messaging
from event_service.domain import Event, NewEvent, SeatsMoved
from shared import contracts, faults, sql
from shared.clock import utc_now
from shared.errors import Conflict, NotFound
from shared.faults import Fault
from shared.idempotency import Idempotency, StoredAnswer
from shared.idempotency.sql import fence, find_answer, save_answer
from shared.messaging.sql_outbox import add_to_outbox
from shared.metrics import Metrics
from shared.results import WriteResult, record_from_json, record_to_json

events = sa.Table(
    "events",
    sa.MetaData(),
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("name", sa.String(200)),
    sa.Column("description", sa.Text),
    sa.Column("event_date", sa.DateTime(timezone=True)),
    sa.Column("location", sa.String(200)),
    sa.Column("category", sa.String(100)),
    sa.Column("total_capacity", sa.Integer),
    sa.Column("booked_seats", sa.Integer),
    sa.Column("ticket_price", sa.Numeric(12, 2)),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
    sa.Column("version", sa.Integer),
)

# DB1's rule in SQL, for filters: the same integer formula as domain.bookable_seats.
AVAILABLE_SEATS = sa.func.greatest(
    events.c.total_capacity
    - events.c.booked_seats
    - (events.c.total_capacity * domain.SAFETY_MARGIN_PERCENT + 99) / 100,
    0,
)

SCOPE_CREATE = "events.create"
SCOPE_BOOK = "events.book"
SCOPE_RELEASE = "events.release"

R = TypeVar("R")


class EventNotFound(NotFound):
    def __init__(self, event_id: int) -> None:
        super().__init__(f"Event {event_id} not found.", extra={"success": False})


class StaleVersion(Conflict):
    def __init__(self, event_id: int, expected: int, current: int) -> None:
        super().__init__(
            f"Event {event_id} is at version {current}, not {expected}: read it again and retry.",
            extra={"currentVersion": current},
        )


class EventBusy(Conflict):
    """Optimistic locking lost every attempt (DB2): many writers on one event; retry later."""

    def __init__(self, event_id: int) -> None:
        super().__init__(
            f"Event {event_id} is busy; retry the request.", extra={"success": False, "retryable": True}
        )


class SeatLimitBroken(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "The database refused the change: booked seats must stay between 0 and the capacity.",
            extra={"success": False},
        )


@dataclass(frozen=True)
class EventFilter:
    location: str | None = None
    category: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    available_at: datetime | None = None  # only events still bookable and after this instant


class EventRepository:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_attempts: int = 10,
        backoff_seconds: float = 0.005,
        max_backoff_seconds: float = 0.2,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine = engine
        # What a seat change writes as updatedAt, and its message announces.
        self.clock = clock
        # Seat changes are single statements, atomic on their own: no BEGIN/COMMIT round trips.
        self.autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._statements: dict[tuple[bool, bool], sa.Select[Any]] = {}
        # Where this process's requests that lost a race on an event queue (striped by id).
        self._turns = [asyncio.Lock() for _ in range(64)]
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._conflicts = (
            metrics.counter(
                "event_version_conflicts_total", "Optimistic-lock conflicts (DB2)", ("operation",)
            )
            if metrics
            else None
        )

    # -- reads -------------------------------------------------------------------------------

    async def get(self, event_id: int) -> Event:
        async with self.engine.connect() as conn:
            return as_event(await _row(conn, event_id))

    async def list(self, where: EventFilter, *, offset: int, limit: int) -> tuple[list[Event], int]:
        conditions: list[sa.ColumnElement[bool]] = []
        if where.location:
            conditions.append(events.c.location.icontains(where.location, autoescape=True))
        if where.category:
            conditions.append(sa.func.lower(events.c.category) == where.category.lower())
        if where.date_from is not None:
            conditions.append(events.c.event_date >= where.date_from)
        if where.date_to is not None:
            conditions.append(events.c.event_date <= where.date_to)
        if where.available_at is not None:
            conditions.append(AVAILABLE_SEATS > 0)
            conditions.append(events.c.event_date > where.available_at)
        async with self.engine.connect() as conn:
            total = (
                await conn.execute(sa.select(sa.func.count()).select_from(events).where(*conditions))
            ).scalar_one()
            rows = (
                await conn.execute(
                    sa.select(events)
                    .where(*conditions)
                    .order_by(events.c.event_date, events.c.id)
                    .offset(offset)
                    .limit(limit)
                )
            ).mappings()
            return [as_event(row) for row in rows], total

    # -- writes ------------------------------------------------------------------------------

    async def create(self, new: NewEvent, idem: Idempotency | None) -> WriteResult[Event]:
        async def work(conn: AsyncConnection) -> Event:
            row = (
                (await conn.execute(events.insert().values(**asdict(new)).returning(events))).mappings().one()
            )
            event = as_event(row)
            await add_to_outbox(conn, messaging.event_message(contracts.EventCreated, event))
            return event

        return await self._idempotent(SCOPE_CREATE, idem, 201, work, record_to_json, _event_from_json)

    async def update(
        self,
        event_id: int,
        changes: Mapping[str, Any],
        expected_version: int | None,
        now: datetime,
        check: Callable[[Event], None],
    ) -> Event:
        """Apply `changes` if `check` accepts them against the current event, conditional on
        `expected_version` (409 when stale); without one, on whatever version is current."""
        # Without an expected version the client accepts any current one, so a race with a
        # booking is retried rather than answered 409.
        attempts = 1 if expected_version is not None else self.max_attempts
        for attempt in range(1, attempts + 1):
            async with self.engine.begin() as conn:
                current = as_event(await _row(conn, event_id))
                version = current.version if expected_version is None else expected_version
                if current.version != version:
                    raise StaleVersion(event_id, version, current.version)
                check(current)
                updated = await _write(conn, event_id, version, {**changes, "updated_at": now})
                if updated is not None:
                    event = as_event(updated)
                    await add_to_outbox(conn, messaging.event_message(contracts.EventUpdated, event))
                    return event
            self._count_conflict("update")
            if expected_version is not None:
                current_version = await self._current_version(event_id)
                raise StaleVersion(event_id, expected_version, current_version)
            await self._pause(attempt)
        raise EventBusy(event_id)

    async def delete(self, event_id: int, check: Callable[[Event], None]) -> None:
        async with self.engine.begin() as conn:
            # FOR UPDATE: a booking racing this delete waits, then finds no row (404).
            event = as_event(await _row(conn, event_id, lock=True))
            check(event)
            await conn.execute(events.delete().where(events.c.id == event_id))
            await add_to_outbox(conn, messaging.event_message(contracts.EventDeleted, event))

    async def book(
        self,
        event_id: int,
        seats: int,
        rule: Callable[[Event], int],
        idem: Idempotency | None,
    ) -> WriteResult[SeatsMoved]:
        """Book atomically (DB2): read, let `rule` give the new bookedSeats, write only if the
        version did not move."""
        return await self._change_seats(SCOPE_BOOK, contracts.EventSeatsBooked, event_id, seats, rule, idem)

    async def release(
        self,
        event_id: int,
        seats: int,
        rule: Callable[[Event], int],
        idem: Idempotency | None,
    ) -> WriteResult[SeatsMoved]:
        """Give back seats; with an Idempotency-Key a retried release is applied once."""
        return await self._change_seats(
            SCOPE_RELEASE, contracts.EventSeatsReleased, event_id, seats, rule, idem
        )

    async def fence_booking(self, key: str) -> SeatsMoved | None:
        """Fence the key of a booking its caller gave up on: None when no seats were booked
        under it and none ever will be (a late copy's write fails on the tombstone, see
        `_change_seats`), else the booking made (only successes are stored)."""
        async with self.engine.begin() as conn:
            found = await fence(conn, SCOPE_BOOK, key)
        return None if found is None else _seats_from_json(found.body)

    # -- helpers -----------------------------------------------------------------------------

    async def _change_seats(
        self,
        scope: str,
        message_type: type[contracts.SeatsMoved],
        event_id: int,
        seats: int,
        rule: Callable[[Event], int],
        idem: Idempotency | None,
    ) -> WriteResult[SeatsMoved]:
        """Two statements in autocommit, each atomic on its own: one reads the event with the
        answer stored under the key, the other writes the guarded UPDATE (DB2) with the outbox
        row and the answer hanging on its RETURNING, so nothing is written when the version
        moved. The message announces the row as the write leaves it (its version, bookedSeats
        and the repository's clock as updatedAt), known before it is sent.

        A moved version is retried: under READ COMMITTED each read sees the newest committed
        row, and the failed UPDATE matched no row, so it holds no lock. A twin with the same
        key (or the fence of its caller) that committed first makes the answer's insert fail,
        and the whole statement with it: the next read replays the twin's answer (or refuses
        the fenced key)."""
        moved = SeatsMoved(event_id, seats)
        statement = self._seats_statement(keep_answer=idem is not None)

        async def attempt(conn: AsyncConnection) -> WriteResult[SeatsMoved] | None:
            current = await _row_or_answer(conn, event_id, scope, idem)
            if isinstance(current, StoredAnswer):
                return WriteResult(_seats_from_json(current.body), replayed=True)
            now = self.clock()
            after = replace(current, booked_seats=rule(current), version=current.version + 1, updated_at=now)
            message = messaging.seats_message(message_type, after, seats)
            params: dict[str, Any] = {
                "p_event": event_id,
                "p_version": current.version,
                "p_booked": after.booked_seats,
                "p_now": now,
                **sql.hung_values(
                    message, idem, scope=scope, status_code=200, response=record_to_json(moved)
                ),
            }
            try:
                written = (await conn.execute(statement, params)).first()
            except IntegrityError as exc:
                if isinstance(exc.orig, pg_errors.CheckViolation):
                    # The CHECK constraint caught what the rule should have: never oversell.
                    raise SeatLimitBroken() from exc
                if idem is None or not isinstance(exc.orig, pg_errors.UniqueViolation):
                    raise
                # A twin with the same key (or its caller's fence) committed first: nothing of
                # ours was written; its answer replays (or the fenced key is refused).
                found = await _row_or_answer(conn, event_id, scope, idem)
                if isinstance(found, StoredAnswer):
                    return WriteResult(_seats_from_json(found.body), replayed=True)
                raise
            return WriteResult(moved) if written is not None else None

        async with self.autocommit.connect() as conn:
            result = await attempt(conn)
            tried = 1
            while result is None:
                self._count_conflict(scope)
                if tried >= self.max_attempts:
                    raise EventBusy(event_id)
                await self._pause(tried)
                tried += 1
                # A request that lost the race waits for the other losers of this process on
                # the same event before it reads again, instead of racing them once more. The
                # version guard alone decides; this only stops the process's own requests from
                # colliding with each other again and again.
                async with self._turns[event_id % len(self._turns)]:
                    result = await attempt(conn)
            return result

    def _seats_statement(self, *, keep_answer: bool) -> sa.Select[Any]:
        """The guarded seat UPDATE with its outbox row (and the answer kept under the key),
        built once per shape with bind parameters: building a CTE statement costs more CPU
        than sending it."""
        shape = (keep_answer, faults.on(Fault.LOST_UPDATE))
        statement = self._statements.get(shape)
        if statement is None:
            statement = self._statements[shape] = _seats_statement(keep_answer=keep_answer)
        return statement

    async def _idempotent(
        self,
        scope: str,
        idem: Idempotency | None,
        status_code: int,
        work: Callable[[AsyncConnection], Awaitable[R]],
        encode: Callable[[R], dict[str, Any]],
        decode: Callable[[dict[str, Any]], R],
    ) -> WriteResult[R]:
        """Run `work` in one transaction that also stores its result under the key; a key seen
        before replays the stored result (or 422 when the body differs)."""
        for _ in range(2):
            try:
                async with self.engine.begin() as conn:
                    if idem is not None:
                        found = await find_answer(conn, scope, idem)
                        if found is not None:
                            return WriteResult(decode(found.body), replayed=True)
                    result = await work(conn)
                    if idem is not None:
                        await save_answer(conn, scope, idem, StoredAnswer(status_code, encode(result)))
                    return WriteResult(result)
            except IntegrityError as exc:
                if isinstance(exc.orig, pg_errors.CheckViolation):
                    # The CHECK constraint caught what the code above should have: never oversell.
                    raise SeatLimitBroken() from exc
                if idem is None or not isinstance(exc.orig, pg_errors.UniqueViolation):
                    raise
                # A concurrent twin with the same key committed first: ours rolled back
                # whole; the next pass replays the twin's answer.
        key = idem.key if idem is not None else ""
        raise Conflict(f"Idempotency-Key '{key}' is in use by a concurrent request; retry.")

    async def _current_version(self, event_id: int) -> int:
        async with self.engine.connect() as conn:
            return int((await _row(conn, event_id))["version"])

    async def _pause(self, attempt: int) -> None:
        # Full jitter: writers that collided spread out instead of colliding again in step.
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2**attempt)
        await asyncio.sleep(random.uniform(0, ceiling))

    def _count_conflict(self, operation: str) -> None:
        if self._conflicts is not None:
            self._conflicts.labels(operation).inc()


def as_event(row: Mapping[Any, Any]) -> Event:
    return Event(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        event_date=row["event_date"],
        location=row["location"],
        category=row["category"],
        total_capacity=row["total_capacity"],
        booked_seats=row["booked_seats"],
        ticket_price=row["ticket_price"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


# The result kept under an Idempotency-Key is stored with the field names of the answer it
# produced, so a result stored before records were kept (the answer itself) still replays.


def _event_from_json(doc: dict[str, Any]) -> Event:
    return record_from_json(Event, doc)


def _seats_from_json(doc: dict[str, Any]) -> SeatsMoved:
    # An answer stored before records were kept names the seats seatsBooked or seatsReleased.
    seats = doc["seats"] if "seats" in doc else doc.get("seatsBooked") or doc["seatsReleased"]
    return SeatsMoved(doc["eventId"], int(seats))


async def _row(conn: AsyncConnection, event_id: int, *, lock: bool = False) -> Mapping[Any, Any]:
    query = sa.select(events).where(events.c.id == event_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise EventNotFound(event_id)
    return row


def _guarded_update(
    event_id: sa.ColumnElement[int] | int,
    version: sa.ColumnElement[int] | int,
    values: Mapping[str, Any],
) -> sa.Update:
    """UPDATE ... WHERE id = :id AND version = :v (DB2), bumping the version, RETURNING the row:
    it updates (and returns) nothing when the version moved."""
    # exercise DB2: begin
    values = {"updated_at": sa.func.now(), **values}
    guard = events.c.version == version
    if faults.on(Fault.LOST_UPDATE):
        # Teaching fault lost-update: no version guard, the last writer wins over what it
        # never read (two bookings read 0 booked seats, both write 1).
        guard = sa.true()
    return (
        events.update()
        .where(events.c.id == event_id, guard)
        .values(**values, version=events.c.version + 1)
        .returning(events)
    )
    # exercise DB2: end


async def _write(
    conn: AsyncConnection, event_id: int, version: int, values: Mapping[str, Any]
) -> Mapping[Any, Any] | None:
    """The guarded UPDATE (DB2) run in the caller's transaction; None when the version moved."""
    return (await conn.execute(_guarded_update(event_id, version, values))).mappings().first()


def _seats_statement(*, keep_answer: bool) -> sa.Select[Any]:
    """One statement: the guarded seat UPDATE as a CTE, and the outbox row (and the answer
    kept under the key) inserted from its RETURNING, so they exist exactly when it wrote.
    PostgreSQL runs every data-modifying CTE to completion, read or not."""
    moved = _guarded_update(
        sa.bindparam("p_event", type_=sa.BigInteger),
        sa.bindparam("p_version", type_=sa.Integer),
        {
            "booked_seats": sa.bindparam("p_booked", type_=sa.Integer),
            "updated_at": sa.bindparam("p_now", type_=sa.DateTime(timezone=True)),
        },
    ).cte("moved")
    writes = sql.writes_hung_on(moved, keep_answer=keep_answer)
    return sa.select(moved.c.version).add_cte(*writes)


async def _row_or_answer(
    conn: AsyncConnection, event_id: int, scope: str, idem: Idempotency | None
) -> Event | StoredAnswer:
    """The answer stored under the key if there is one, else the event, in one read; the
    answer is judged first (422 for another body, 409 once fenced), then the event (404)."""
    if idem is None:
        return as_event(await _row(conn, event_id))
    params = {"p_event": event_id, "p_scope": scope, "p_key": idem.key}
    row = (await conn.execute(_ROW_AND_ANSWER, params)).first()
    if row is not None and row.fingerprint is not None:
        idem.same_request(row.fingerprint)
        return StoredAnswer(row.status_code, row.response)
    if row is None or row.id is None:
        raise EventNotFound(event_id)
    return as_event(row._mapping)


def _row_and_answer_statement() -> sa.Select[Any]:
    # A full join on true: one row whether the event, the answer, both or neither exist.
    event = sa.select(events).where(events.c.id == sa.bindparam("p_event", type_=sa.BigInteger)).subquery()
    keys = sql.idempotency_keys
    answer = (
        sa.select(keys.c.fingerprint, keys.c.status_code, keys.c.response)
        .where(
            keys.c.scope == sa.bindparam("p_scope", type_=sa.String),
            keys.c.key == sa.bindparam("p_key", type_=sa.String),
        )
        .subquery()
    )
    return sa.select(event, answer).select_from(event.join(answer, sa.true(), full=True))


_ROW_AND_ANSWER = _row_and_answer_statement()
