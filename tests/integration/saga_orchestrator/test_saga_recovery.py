"""The saga log in PostgreSQL outlives the orchestrator: a saga interrupted mid-step is
resumed by the next orchestrator on the same database, a crashed owner's saga is taken over
once its lease runs out, and two orchestrators at once drive every saga exactly once."""

import asyncio

import psycopg

from saga_orchestrator.app import create_app
from tests.integration.saga_orchestrator.fakes import serve_fakes
from tests.integration.saga_orchestrator.helpers import booking, saga_settings, start, wait_for
from tests.support import running


async def _until(condition, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - the fakes change plain fields
            await asyncio.sleep(0.02)


def _sql(database_url: str, statement: str, *params) -> list[tuple]:
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


async def test_an_orchestrator_stopped_while_a_participant_hangs_is_resumed_by_the_next_one():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=1000, capacity=10)
        fakes.modes["pay"] = "hang"
        settings = saga_settings(fakes.url, http_timeout_seconds=30)
        async with running(create_app(settings)) as client:
            saga_id = await start(client, booking(1, seats=2, ticketPrice=1000))
            await _until(lambda: "pay" in fakes.routes())
        # Stopped mid-call: the log says PROCESS_PAYMENT started, and nobody holds the saga.
        [(status, step, owner)] = _sql(
            settings.database_url, "SELECT status, current_step, owner FROM sagas WHERE id = %s", saga_id
        )
        assert (status, step, owner) == ("RUNNING", "PROCESS_PAYMENT", None)
        # The hung call completes on the payment side: only its answer was lost.
        fakes.modes.clear()
        fakes.unhang.set()
        await _until(lambda: len(fakes.payments) == 1)

        async with running(create_app(settings)) as client:
            saga = await wait_for(client, saga_id)
        assert saga["status"] == "COMPLETED", saga
        payment = next(s for s in saga["steps"] if s["name"] == "PROCESS_PAYMENT")
        assert payment["attempts"] == 2
        assert len(fakes.payments) == 1  # the retry replayed the first charge
        assert fakes.events[1]["bookedSeats"] == 2


async def test_a_crashed_owners_saga_is_taken_over_when_its_lease_runs_out():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=1000, capacity=10)
        fakes.modes["create_reservation"] = "hang"
        settings = saga_settings(fakes.url, http_timeout_seconds=30)
        async with running(create_app(settings)) as client:
            saga_id = await start(client, booking(1, ticketPrice=1000))
            await _until(lambda: "create_reservation" in fakes.routes())
        # As if the owner had been killed: its lease is still running, no clean hand-over.
        _sql(
            settings.database_url,
            "UPDATE sagas SET owner = 'killed', lease_until = now() + interval '1 second' WHERE id = %s",
            saga_id,
        )
        fakes.modes.clear()
        fakes.unhang.set()
        await _until(lambda: len(fakes.reservations) == 1)
        async with running(create_app(settings)) as client:
            saga = await wait_for(client, saga_id)
        assert saga["status"] == "COMPLETED"
        assert len(fakes.reservations) == 1


async def test_two_orchestrators_on_one_database_drive_every_saga_once():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=1000, capacity=100)
        settings = saga_settings(fakes.url)
        async with running(create_app(settings)) as a, running(create_app(settings)) as b:
            ids = await asyncio.gather(
                *[start(client, booking(1, seats=1, ticketPrice=1000)) for client in (a, b) * 6]
            )
            sagas = [await wait_for(a, saga_id) for saga_id in ids]
        assert {s["status"] for s in sagas} == {"COMPLETED"}
        assert fakes.events[1]["bookedSeats"] == 12
        assert len(fakes.payments) == 12 and len(fakes.reservations) == 12
        booked_keys = [c.key for c in fakes.calls if c.route == "book"]
        assert len(booked_keys) == len(set(booked_keys)) == 12
