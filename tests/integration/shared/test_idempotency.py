"""Idempotency-Key with the SQL helpers against real PostgreSQL, in a tiny app built the way the
services build theirs: the answer is saved in the transaction of the change, a retry replays
it, a reused key with another body is refused, and two racing twins make one change."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from shared import sql
from shared.idempotency import Idempotency, StoredAnswer
from shared.idempotency.header import idempotency_key_header
from shared.idempotency.sql import find_answer, save_answer
from shared.problem import PROBLEM_JSON
from shared.schemas import ApiInput
from shared.settings import ServiceSettings
from shared.web import create_service_app
from tests.support import create_pg_database, running

SCOPE = "tickets"
test_metadata = sa.MetaData()
tickets = sa.Table(
    "tickets",
    test_metadata,
    sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
    sa.Column("holder", sa.String(100), nullable=False),
    sa.Column("seats", sa.Integer, nullable=False),
)


class TicketIn(ApiInput):
    holder: str
    seats: int


def build_app(url: str, barrier: asyncio.Barrier | None = None) -> FastAPI:
    router = APIRouter()

    @router.post("/api/tickets", status_code=201)
    async def issue(ticket: TicketIn, key: str | None = Depends(idempotency_key_header)) -> JSONResponse:
        engine = app.state.engine
        idem = Idempotency.of(key, ticket.model_dump())
        try:
            async with engine.begin() as conn:
                if idem and (found := await find_answer(conn, SCOPE, idem)):
                    return JSONResponse(found.body, status_code=found.status_code)
                if barrier is not None:
                    await barrier.wait()  # both twins have looked and found nothing
                ticket_id = (
                    await conn.execute(
                        tickets.insert()
                        .values(holder=ticket.holder, seats=ticket.seats)
                        .returning(tickets.c.id)
                    )
                ).scalar_one()
                answer = {"id": ticket_id, "holder": ticket.holder, "seats": ticket.seats}
                if idem:
                    await save_answer(conn, SCOPE, idem, StoredAnswer(201, answer))
        except IntegrityError:
            # The twin committed first: our ticket rolled back with our answer; replay its answer.
            assert idem is not None
            async with engine.connect() as conn:
                found = await find_answer(conn, SCOPE, idem)
            assert found is not None
            return JSONResponse(found.body, status_code=found.status_code)
        return JSONResponse(answer, status_code=201)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = sql.make_engine(url, pool_size=4)
        async with app.state.engine.begin() as conn:
            await conn.run_sync(sql.metadata.create_all)
            await conn.run_sync(test_metadata.create_all)
        yield
        await app.state.engine.dispose()

    settings = ServiceSettings(service_name="idempotency-probe", json_logs=False)
    app = create_service_app(
        settings, title="probe", description="probe", lifespan=lifespan, routers=[router]
    )
    return app


async def _ticket_count(url: str) -> int:
    engine = sql.make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sa.select(sa.func.count()).select_from(tickets))).scalar_one()
    finally:
        await engine.dispose()


async def test_a_retry_with_the_same_key_and_body_replays_the_first_answer_and_works_once():
    url = create_pg_database("events")
    body = {"holder": "Awa", "seats": 2}
    async with running(build_app(url)) as client:
        first = await client.post("/api/tickets", json=body, headers={"Idempotency-Key": "k-1"})
        # The same request with its keys in another order has the same fingerprint.
        again = await client.post(
            "/api/tickets", json={"seats": 2, "holder": "Awa"}, headers={"Idempotency-Key": "k-1"}
        )
        without_key = await client.post("/api/tickets", json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert without_key.json()["id"] != first.json()["id"], "no key: a new request each time"
    assert await _ticket_count(url) == 2


async def test_the_same_key_with_another_body_is_a_422_problem():
    url = create_pg_database("events")
    async with running(build_app(url)) as client:
        await client.post(
            "/api/tickets", json={"holder": "Awa", "seats": 2}, headers={"Idempotency-Key": "k-2"}
        )
        reused = await client.post(
            "/api/tickets", json={"holder": "Awa", "seats": 3}, headers={"Idempotency-Key": "k-2"}
        )
    assert reused.status_code == 422
    assert reused.headers["content-type"] == PROBLEM_JSON
    assert reused.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await _ticket_count(url) == 1


async def test_two_concurrent_requests_with_one_key_make_one_change_and_get_one_answer():
    url = create_pg_database("events")
    body = {"holder": "Moussa", "seats": 1}
    headers = {"Idempotency-Key": "k-race"}
    async with running(build_app(url, barrier=asyncio.Barrier(2))) as client:
        answers = await asyncio.gather(
            client.post("/api/tickets", json=body, headers=headers),
            client.post("/api/tickets", json=body, headers=headers),
        )
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert await _ticket_count(url) == 1


async def test_an_empty_idempotency_key_is_refused():
    url = create_pg_database("events")
    async with running(build_app(url)) as client:
        answer = await client.post(
            "/api/tickets", json={"holder": "Awa", "seats": 1}, headers={"Idempotency-Key": ""}
        )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "header.Idempotency-Key"
