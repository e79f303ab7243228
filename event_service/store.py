"""The events table in PostgreSQL: reads, and the statements of a write (the guarded UPDATE
of optimistic locking, DB2; the seat change with its outbox row and kept answer in one
statement; the outbox row and the answer of every other change in its transaction).

Persistence only: the use case (service.py) opens the transaction, applies the domain's
rules, chooses the message and retries a lost race; every method here is one statement, or
a read, and returns records of the domain, never REST answers."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from psycopg import errors as pg_errors
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from event_service import domain
from event_service.domain import Event, NewEvent, SeatsMoved
from shared import faults, sql
from shared.contracts import Envelope
from shared.errors import Conflict, NotFound
from shared.faults import Fault
from shared.idempotency import Idempotency, StoredAnswer
from shared.idempotency.sql import fence, find_answer, save_answer
from shared.messaging.sql_outbox import add_to_outbox
from shared.results import record_from_json

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


class EventNotFound(NotFound):
    def __init__(self, event_id: int) -> None:
        super().__init__(f"Event {event_id} not found.", extra={"success": False})


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


class KeyTaken(Exception):
    """A twin request with the same Idempotency-Key (or the fence of its caller) committed
    first: nothing of this write was kept. Reading again finds its answer (or the fence)."""


def _translated(exc: IntegrityError) -> Exception:
    if isinstance(exc.orig, pg_errors.CheckViolation):
        # The CHECK constraint caught what the rule should have: never oversell.
        return SeatLimitBroken()
    if isinstance(exc.orig, pg_errors.UniqueViolation):
        return KeyTaken()
    return exc


class EventRepository:
    """Reads, and the statements of a write: the use case opens the transaction (or the
    connection of a seat change), decides, and asks for each statement in turn."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Seat changes are single statements, atomic on their own: no BEGIN/COMMIT round trips.
        self.autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

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
        order = [events.c.event_date, events.c.id]
        rows, total = await sql.page(self.engine, events, conditions, order, offset, limit)
        return [as_event(row) for row in rows], total

    # -- writes ------------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator["EventWrites"]:
        """One transaction, committed when the block ends without an exception. A duplicate
        key surfaces as KeyTaken, a broken seat CHECK as SeatLimitBroken."""
        try:
            async with self.engine.begin() as conn:
                yield EventWrites(conn)
        except IntegrityError as exc:
            raise _translated(exc) from exc

    @asynccontextmanager
    async def seat_changes(self) -> AsyncIterator["SeatWrites"]:
        """One connection in autocommit for a seat change and its retries: each of its
        statements is atomic on its own."""
        async with self.autocommit.connect() as conn:
            yield SeatWrites(conn)

    async def fence_booking(self, key: str) -> SeatsMoved | None:
        """Fence the key of a booking its caller gave up on: None when no seats were booked
        under it and none ever will be (a late copy's write fails on the tombstone, see
        `SeatWrites.write`), else the booking made (only successes are stored)."""
        async with self.engine.begin() as conn:
            found = await fence(conn, SCOPE_BOOK, key)
        return None if found is None else seats_from_json(found.body)


class EventWrites:
    """The statements of one transaction (EventRepository.transaction)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def answer(self, scope: str, idem: Idempotency | None) -> StoredAnswer | None:
        """The answer kept under the caller's key (422 for another body, 409 once fenced)."""
        return None if idem is None else await find_answer(self.conn, scope, idem)

    async def read(self, event_id: int, *, lock: bool = False) -> Event:
        """The event (404 if none); `lock`: FOR UPDATE, until the transaction ends."""
        return as_event(await _row(self.conn, event_id, lock=lock))

    async def insert(self, new: NewEvent) -> Event:
        row = (
            (await self.conn.execute(events.insert().values(**asdict(new)).returning(events)))
            .mappings()
            .one()
        )
        return as_event(row)

    async def write(self, event_id: int, version: int, values: Mapping[str, Any]) -> Event | None:
        """The guarded UPDATE (DB2); None when the version moved."""
        row = (await self.conn.execute(_guarded_update(event_id, version, values))).mappings().first()
        return None if row is None else as_event(row)

    async def delete(self, event_id: int) -> None:
        await self.conn.execute(events.delete().where(events.c.id == event_id))

    async def queue(self, message: Envelope) -> None:
        """The outbox row of the change, published by the relay once committed."""
        await add_to_outbox(self.conn, message)

    async def keep(
        self, scope: str, idem: Idempotency | None, status_code: int, body: dict[str, Any]
    ) -> None:
        """The answer kept under the caller's key; a twin's that committed first: KeyTaken."""
        if idem is not None:
            await save_answer(self.conn, scope, idem, StoredAnswer(status_code, body))


class SeatWrites:
    """The two statements of a seat change (EventRepository.seat_changes), each atomic."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def read(self, event_id: int, scope: str, idem: Idempotency | None) -> Event | StoredAnswer:
        """The answer stored under the key if there is one, else the event, in one read: the
        answer is judged first (422 for another body, 409 once fenced), then the event (404).
        Under READ COMMITTED it sees the newest committed row."""
        conn = self.conn
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

    async def write(
        self,
        after: Event,
        read_version: int,
        message: Envelope,
        idem: Idempotency | None,
        *,
        scope: str,
        response: dict[str, Any],
    ) -> bool:
        # exercise DB2, level 2: begin
        """One statement: the guarded UPDATE to `after`'s bookedSeats and updatedAt if the
        event is still at `read_version` (DB2), with the outbox row and the answer kept
        under the key hanging on its RETURNING, so nothing is written when the version
        moved (False; the failed UPDATE matched no row, so it holds no lock). A twin's
        answer (or the caller's fence) that committed first fails the whole statement:
        KeyTaken. The CHECK on bookedSeats: SeatLimitBroken."""
        params: dict[str, Any] = {
            "p_event": after.id,
            "p_version": read_version,
            "p_booked": after.booked_seats,
            "p_now": after.updated_at,
            **sql.hung_values(message, idem, scope=scope, status_code=200, response=response),
        }
        try:
            written = (await self.conn.execute(_seat_statement(keep_answer=idem is not None), params)).first()
        except IntegrityError as exc:
            raise _translated(exc) from exc
        return written is not None
        # exercise DB2, level 2: end


def as_event(row: Mapping[Any, Any]) -> Event:
    # The events table's columns bear the record's field names.
    return Event(**{field.name: row[field.name] for field in fields(Event)})


def event_from_json(doc: dict[str, Any]) -> Event:
    return record_from_json(Event, doc)


def seats_from_json(doc: dict[str, Any]) -> SeatsMoved:
    return SeatsMoved(doc["eventId"], int(doc["seats"]))


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
    """The seat write of DB2, RETURNING the row it wrote; it must write (and return) nothing
    when another writer moved the event since `version` was read."""
    if faults.on(Fault.LOST_UPDATE):
        return _unguarded_update(event_id, values)
    # exercise DB2, level 2: begin
    # exercise DB2: begin
    values = {"updated_at": sa.func.now(), **values}
    guard = events.c.version == version
    return (
        events.update()
        .where(events.c.id == event_id, guard)
        .values(**values, version=events.c.version + 1)
        .returning(events)
    )
    # exercise DB2: end
    # exercise DB2, level 2: end


def _unguarded_update(event_id: sa.ColumnElement[int] | int, values: Mapping[str, Any]) -> sa.Update:
    """Teaching fault lost-update: no version guard, the last writer wins over what it never
    read (two bookings read 0 booked seats, both write 1). Kept out of DB2's region, so the
    lab runs in a student edition whose DB2 is written."""
    return (
        events.update()
        .where(events.c.id == event_id)
        .values(**{"updated_at": sa.func.now(), **values}, version=events.c.version + 1)
        .returning(events)
    )


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


def _row_and_answer_statement() -> sa.Select[Any]:
    # A full join on true: one row whether the event, the answer, both or neither exist.
    event = sa.select(events).where(events.c.id == sa.bindparam("p_event", type_=sa.BigInteger)).subquery()
    answer = sql.kept_answer()
    return sa.select(event, answer).select_from(event.join(answer, sa.true(), full=True))


_ROW_AND_ANSWER = _row_and_answer_statement()


# The seat statement per shape (an answer kept or not, the lost-update fault on or not), built
# once with bind parameters: building a CTE statement costs more CPU than sending it.
_SEAT_STATEMENTS: dict[tuple[bool, bool], sa.Select[Any]] = {}


def _seat_statement(*, keep_answer: bool) -> sa.Select[Any]:
    shape = (keep_answer, faults.on(Fault.LOST_UPDATE))
    statement = _SEAT_STATEMENTS.get(shape)
    if statement is None:
        statement = _SEAT_STATEMENTS[shape] = _seats_statement(keep_answer=keep_answer)
    return statement
