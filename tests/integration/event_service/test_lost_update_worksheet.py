"""The lost-update worksheet (docs/lost-update-worksheet.md, docs/fr/fiche-mise-a-jour-perdue.md)
played as its steps say, with two real connections to the event service's PostgreSQL database
standing for the two psql sessions: the read-then-write interleaving loses a booking, and each
of the three fixes (the guarded UPDATE, SELECT ... FOR UPDATE, SERIALIZABLE) keeps both."""

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.integration.event_service.helpers import create_event, event_app

READ = "SELECT booked_seats, version FROM events WHERE id = :id"
READ_LOCKED = READ + " FOR UPDATE"
# Step 3 and 4 of the worksheet: each session writes "the value it read + 2".
BLIND_WRITE = "UPDATE events SET booked_seats = :read + 2 WHERE id = :id"
GUARDED_WRITE = (
    "UPDATE events SET booked_seats = :read + 2, version = version + 1 WHERE id = :id AND version = :version"
)


async def booked(engine: AsyncEngine, event_id: int) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text(READ), {"id": event_id})).one()[0])


async def read(conn: AsyncConnection, event_id: int, query: str = READ) -> tuple[int, int]:
    seats, version = (await conn.execute(sa.text(query), {"id": event_id})).one()
    return int(seats), int(version)


@pytest.fixture
async def event():
    async with event_app() as svc:
        created = await create_event(svc.client, totalCapacity=100)
        yield svc.app.state.engine, created["id"]


async def test_the_worksheet_s_interleaving_loses_a_booking(event):
    engine, event_id = event
    async with engine.connect() as a, engine.connect() as b:
        await a.begin()  # 1. A: BEGIN; SELECT -> 0
        seen_a, _ = await read(a, event_id)
        await b.begin()  # 2. B: BEGIN; SELECT -> 0 (A has not written yet)
        seen_b, _ = await read(b, event_id)
        assert seen_a == seen_b == 0
        await a.execute(sa.text(BLIND_WRITE), {"read": seen_a, "id": event_id})  # 3. A: 0 + 2
        await a.commit()
        await b.execute(sa.text(BLIND_WRITE), {"read": seen_b, "id": event_id})  # 4. B: 0 + 2
        await b.commit()
    # Two bookings of two seats each, both told "UPDATE 1": the event shows 2, not 4.
    assert await booked(engine, event_id) == 2


async def test_the_guarded_update_refuses_the_stale_write_and_the_retry_keeps_both(event):
    engine, event_id = event
    async with engine.connect() as a, engine.connect() as b:
        await a.begin()
        seen_a, version_a = await read(a, event_id)
        await b.begin()
        seen_b, version_b = await read(b, event_id)
        first = await a.execute(
            sa.text(GUARDED_WRITE), {"read": seen_a, "version": version_a, "id": event_id}
        )
        await a.commit()
        stale = await b.execute(
            sa.text(GUARDED_WRITE), {"read": seen_b, "version": version_b, "id": event_id}
        )
        assert (first.rowcount, stale.rowcount) == (1, 0)  # B: UPDATE 0, nothing written
        await b.rollback()
        # B reads again and retries: now it reads 2 and the new version.
        await b.begin()
        seen_b, version_b = await read(b, event_id)
        retried = await b.execute(
            sa.text(GUARDED_WRITE), {"read": seen_b, "version": version_b, "id": event_id}
        )
        await b.commit()
        assert (seen_b, retried.rowcount) == (2, 1)
    assert await booked(engine, event_id) == 4


async def test_select_for_update_makes_the_second_reader_wait_for_the_first_writer(event):
    engine, event_id = event
    async with engine.connect() as a, engine.connect() as b:
        await a.begin()
        seen_a, _ = await read(a, event_id, READ_LOCKED)
        await b.begin()
        waiting = asyncio.ensure_future(read(b, event_id, READ_LOCKED))
        await asyncio.sleep(0.5)
        assert not waiting.done(), "B's SELECT ... FOR UPDATE must wait for A's lock"
        await a.execute(sa.text(BLIND_WRITE), {"read": seen_a, "id": event_id})
        await a.commit()
        seen_b, _ = await asyncio.wait_for(waiting, 10)
        assert seen_b == 2  # B read after A's commit
        await b.execute(sa.text(BLIND_WRITE), {"read": seen_b, "id": event_id})
        await b.commit()
    assert await booked(engine, event_id) == 4


async def test_serializable_fails_the_second_writer_and_its_retry_keeps_both(event):
    engine, event_id = event
    async with engine.connect() as plain_a, engine.connect() as plain_b:
        a = await plain_a.execution_options(isolation_level="SERIALIZABLE")
        b = await plain_b.execution_options(isolation_level="SERIALIZABLE")
        await a.begin()
        seen_a, _ = await read(a, event_id)
        await b.begin()
        seen_b, _ = await read(b, event_id)
        await a.execute(sa.text(BLIND_WRITE), {"read": seen_a, "id": event_id})
        await a.commit()
        with pytest.raises(DBAPIError) as failure:
            await b.execute(sa.text(BLIND_WRITE), {"read": seen_b, "id": event_id})
        assert "could not serialize access" in str(failure.value)
        assert getattr(failure.value.orig, "sqlstate", None) == "40001"
        await b.rollback()
        await b.begin()  # the retry the error asks for: read again, write again
        seen_b, _ = await read(b, event_id)
        await b.execute(sa.text(BLIND_WRITE), {"read": seen_b, "id": event_id})
        await b.commit()
    assert await booked(engine, event_id) == 4


def test_the_pages_give_the_statements_this_test_plays():
    """The worksheet's tables (both languages) type the statements played above, in the
    order A reads, B reads, A writes and commits, B writes and commits."""
    from tests.support import ROOT

    for page in ("docs/lost-update-worksheet.md", "docs/fr/fiche-mise-a-jour-perdue.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        part_1 = text[text.index("| 1 |") : text.index("| 5 |")]
        read = "`SELECT booked_seats FROM events WHERE id = :id;`"
        write = "`" + BLIND_WRITE.replace(":read", "0") + ";`"
        # (step, session A's cell, session B's cell) of each row
        rows = [[cell.strip() for cell in row.split("|")[1:-1]] for row in part_1.splitlines()]
        assert [row[0] for row in rows] == ["1", "2", "3", "4"], page
        assert read in rows[0][1] and not rows[0][2], page
        assert read in rows[1][2] and not rows[1][1], page
        assert write in rows[2][1] and "`COMMIT;`" in rows[2][1] and not rows[2][2], page
        assert write in rows[3][2] and "`COMMIT;`" in rows[3][2] and not rows[3][1], page
        assert "FOR UPDATE;`" in text and "BEGIN ISOLATION LEVEL SERIALIZABLE;" in text, page
        assert "40001" in text and "UPDATE 0" in text, page
