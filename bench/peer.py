"""The peer: the same four booking steps (reserve seats, create reservation, charge, confirm)
as a DBOS durable workflow in this process, each step its own READ COMMITTED transaction on a
throwaway PostgreSQL database (the DBOS system database is another throwaway one), driven at
the same concurrency and for as long as our saga. The figures our saga is compared with."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import sqlalchemy as sa

from bench.core import PG_ADMIN, Config, LoopResult, Report, closed_loop, pct, progress

NAME = "peer"
DECLINE_ABOVE = 1_000_000
PRICE = 5000

SCHEMA = [
    """CREATE TABLE bench_events (
        id serial PRIMARY KEY, capacity integer NOT NULL, booked integer NOT NULL DEFAULT 0,
        price numeric(12, 2) NOT NULL, CHECK (booked <= capacity))""",
    """CREATE TABLE bench_reservations (
        id serial PRIMARY KEY, event_id integer NOT NULL, user_id text NOT NULL,
        seats integer NOT NULL, amount numeric(14, 2) NOT NULL, status text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE bench_payments (
        id serial PRIMARY KEY, reservation_id integer NOT NULL, user_id text NOT NULL,
        amount numeric(14, 2) NOT NULL, status text NOT NULL)""",
]


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _build(ds: Any) -> Any:
    """Steps and workflow, registered with DBOS before launch."""
    from dbos import DBOS

    tx = ds.transaction(isolation_level="READ COMMITTED")

    @tx
    async def reserve_seats(event_id: int, seats: int) -> bool:
        row = await ds.sql_session().execute(
            sa.text(
                "UPDATE bench_events SET booked = booked + :n "
                "WHERE id = :id AND booked + :n <= capacity RETURNING booked"
            ),
            {"n": seats, "id": event_id},
        )
        return row.first() is not None

    @tx
    async def release_seats(event_id: int, seats: int) -> None:
        await ds.sql_session().execute(
            sa.text("UPDATE bench_events SET booked = booked - :n WHERE id = :id"),
            {"n": seats, "id": event_id},
        )

    @tx
    async def create_reservation(event_id: int, user_id: str, seats: int) -> tuple[int, int]:
        price = (
            await ds.sql_session().execute(
                sa.text("SELECT price FROM bench_events WHERE id = :id"), {"id": event_id}
            )
        ).scalar_one()
        amount = int(price) * seats
        rid = (
            await ds.sql_session().execute(
                sa.text(
                    "INSERT INTO bench_reservations (event_id, user_id, seats, amount, status) "
                    "VALUES (:e, :u, :s, :a, 'pending') RETURNING id"
                ),
                {"e": event_id, "u": user_id, "s": seats, "a": amount},
            )
        ).scalar_one()
        return int(rid), amount

    @tx
    async def charge(reservation_id: int, user_id: str, amount: int) -> bool:
        status = "failed" if amount > DECLINE_ABOVE else "completed"
        await ds.sql_session().execute(
            sa.text(
                "INSERT INTO bench_payments (reservation_id, user_id, amount, status) VALUES (:r, :u, :a, :s)"
            ),
            {"r": reservation_id, "u": user_id, "a": amount, "s": status},
        )
        return status == "completed"

    @tx
    async def set_status(reservation_id: int, status: str) -> None:
        await ds.sql_session().execute(
            sa.text("UPDATE bench_reservations SET status = :s, updated_at = now() WHERE id = :r"),
            {"s": status, "r": reservation_id},
        )

    @DBOS.workflow(name="bench_booking")
    async def booking(event_id: int, user_id: str, seats: int) -> str:
        if not await reserve_seats(event_id, seats):
            return "COMPENSATED"
        reservation_id, amount = await create_reservation(event_id, user_id, seats)
        if not await charge(reservation_id, user_id, amount):
            await set_status(reservation_id, "cancelled")
            await release_seats(event_id, seats)
            return "COMPENSATED"
        await set_status(reservation_id, "confirmed")
        return "COMPLETED"

    return booking


def destroy_dbos() -> None:
    """DBOS.destroy(), then a default executor that runs again: DBOS made its thread pool the
    event loop's default executor and destroy() shuts it down, so the scenarios that follow
    (pymongo's address lookups, to_thread) would fail."""
    from dbos import DBOS

    DBOS.destroy(destroy_registry=True)
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor())


async def run(config: Config, report: Report) -> None:
    from dbos import DBOS, AsyncSQLAlchemyDatasource

    tag = uuid.uuid4().hex[:8]
    app_db, sys_db = f"bench_dbos_app_{tag}", f"bench_dbos_sys_{tag}"
    _admin(f'CREATE DATABASE "{app_db}"')
    base = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432"
    launched = False
    try:
        c_max = max(config.concurrency)
        DBOS(
            config={
                "name": f"bench-peer-{tag}",
                "system_database_url": f"{base}/{sys_db}",
                "sys_db_pool_size": max(20, 2 * c_max),
                "log_level": "WARNING",
            }
        )
        ds = await AsyncSQLAlchemyDatasource.create(
            f"{base}/{app_db}", engine_kwargs={"pool_size": max(10, c_max + 4), "max_overflow": c_max}
        )
        async with ds.engine.begin() as conn:
            for ddl in SCHEMA:
                await conn.execute(sa.text(ddl))
        booking = _build(ds)
        DBOS.launch()
        launched = True
        await _measure(config, report, ds, booking)
    finally:
        if launched:
            destroy_dbos()
        _admin(f'DROP DATABASE IF EXISTS "{app_db}" WITH (FORCE)')
        _admin(f'DROP DATABASE IF EXISTS "{sys_db}" WITH (FORCE)')


async def _measure(config: Config, report: Report, ds: Any, booking: Any) -> None:
    size = config.size
    for c in config.concurrency:
        async with ds.engine.begin() as conn:
            event_id = (
                await conn.execute(
                    sa.text("INSERT INTO bench_events (capacity, price) VALUES (1000000, :p) RETURNING id"),
                    {"p": PRICE},
                )
            ).scalar_one()

        async def one(client: int, i: int, event_id: int = event_id) -> tuple[str, int]:
            seats = 1 + (client + i) % 4
            status = await booking(event_id, f"bench-{uuid.uuid4().hex[:12]}", seats)
            return status, seats

        progress(f"[peer c={c}] warm-up {size.warmup_seconds:.1f} s")
        sold = _sold(await closed_loop(one, c, seconds=size.warmup_seconds))
        rounds = []
        for r in range(config.rounds):
            result = await closed_loop(one, c, seconds=size.round_seconds)
            sold += _sold(result)
            rounds.append(result)
            progress(
                f"[peer c={c}] round {r + 1}/{config.rounds}: {result.rate:.1f} workflows/s, "
                f"p50 {pct(result.latencies_ms(), 50):.0f} ms, {len(result.errors)} errors"
            )
        n = sum(len(r.samples) for r in rounds)
        kw: dict[str, Any] = {"samples": n, "concurrency": c, "engine": "dbos"}
        report.figure(NAME, "throughput", "workflows/s", [_completed(r) / r.elapsed for r in rounds], **kw)
        for p in (50, 95, 99):
            report.figure(NAME, f"latency_p{p}", "ms", [pct(r.latencies_ms(), p) for r in rounds], **kw)
        async with ds.engine.connect() as conn:
            booked = (
                await conn.execute(
                    sa.text("SELECT booked FROM bench_events WHERE id = :id"), {"id": event_id}
                )
            ).scalar_one()
        report.check(
            NAME, f"seats_consistent_c{c}", {"booked": booked, "sold": sold}, booked == sold, concurrency=c
        )


def _completed(result: LoopResult) -> int:
    return sum(1 for s in result.samples if s.value[0] == "COMPLETED")


def _sold(result: LoopResult) -> int:
    return sum(s.value[1] for s in result.samples if s.value[0] == "COMPLETED")


def ratios(report: Report, concurrency: list[int], peer: str = NAME, label: str = "dbos") -> None:
    """Our saga against a peer: throughput and p99 as ratios (ours / peer), named
    `ratio_*_ours_to_<label>` under the peer's scenario."""
    for c in concurrency:
        ours, theirs = report.find("saga", "throughput", c), report.find(peer, "throughput", c)
        ours99, peer99 = report.find("saga", "server_p99", c), report.find(peer, "latency_p99", c)
        ours_client99 = report.find("saga", "client_p99", c)
        if ours and theirs and ours["median"] and theirs["median"]:
            report.figure(
                peer,
                f"ratio_throughput_ours_to_{label}",
                "x",
                [ours["median"] / theirs["median"]],
                samples=ours["samples"] + theirs["samples"],
                concurrency=c,
            )
        if ours99 and peer99 and ours99["median"] and peer99["median"]:
            report.figure(
                peer,
                f"ratio_p99_ours_to_{label}",
                "x",
                [ours99["median"] / peer99["median"]],
                samples=ours99["samples"] + peer99["samples"],
                concurrency=c,
                basis="saga log createdAt->updatedAt",
            )
        if ours_client99 and peer99 and ours_client99["median"] and peer99["median"]:
            report.figure(
                peer,
                f"ratio_client_p99_ours_to_{label}",
                "x",
                [ours_client99["median"] / peer99["median"]],
                samples=ours_client99["samples"] + peer99["samples"],
                concurrency=c,
                basis="as the client saw it",
            )
