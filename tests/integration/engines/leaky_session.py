"""Run only as a child pytest session by test_engines_left_clean.py (its name does not match
test_*.py, so a normal run does not collect it): it makes something on every engine, leaks a
queue no harness knows about, and fails."""

import httpx

from event_store_service.app import create_app
from tests.integration.event_store_service.helpers import store_settings
from tests.support import RABBITMQ_API, create_pg_database, running, unique


async def test_makes_things_on_every_engine_leaks_one_and_fails():
    create_pg_database("events", "child")
    async with running(create_app(store_settings())) as client:
        assert (await client.get("/ready")).status_code == 200
    leaked = unique("leak")
    async with httpx.AsyncClient(auth=("guest", "guest")) as api:
        answer = await api.put(f"{RABBITMQ_API}/queues/%2F/{leaked}", json={"durable": True})
    assert answer.status_code in (201, 204)
    raise AssertionError("this test fails on purpose: its session must still clean up")
