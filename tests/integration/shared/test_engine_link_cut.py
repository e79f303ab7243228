"""A request whose database connection is cut mid-request (Toxiproxy resets the link between the
service and its engine, as `fleet nemesis --faults reset` does) is answered 503 problem+json
with Retry-After, naming the engine, not 500 with a traceback: the request was sound, the
callers retry a 503. Once the link heals, the same request succeeds again. And a client that
leaves before its request body is read is logged as gone (499), not as an unhandled error."""

import logging
from collections.abc import Iterator

import pytest

from fleetctl.toxiproxy import Toxiproxy, ensure_server, through
from shared.problem import PROBLEM_JSON
from shared.web import create_service_app
from tests.integration.event_service.helpers import create_event, event_app, event_settings
from tests.integration.event_store_service.helpers import event_store, store_settings
from tests.support import create_pg_database, unique

CUT = {
    "name": "cut",
    "type": "reset_peer",
    "stream": "upstream",
    "toxicity": 1.0,
    "attributes": {"timeout": 0},
}


@pytest.fixture
def link() -> Iterator[tuple[Toxiproxy, str]]:
    api = Toxiproxy()
    ensure_server(api)
    name = unique("e2e")  # the proxy of this test alone, removed afterwards
    try:
        yield api, name
    finally:
        api.delete(name)
        api.close()


def assert_unavailable(answer, engine: str) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    assert answer.headers["retry-after"] == "1"
    body = answer.json()
    assert body["title"] == "Service unavailable" and engine in body["detail"]


async def test_a_postgres_link_cut_mid_request_is_a_503_then_heals(link):
    api, name = link
    listen = api.put(name, "127.0.0.1:5432")
    settings = event_settings(through(create_pg_database("events", "test_events"), listen))
    async with event_app(settings) as svc:
        event = await create_event(svc.client)
        api.add_toxic(name, CUT)
        assert_unavailable(await svc.client.get(f"/api/events/{event['id']}"), "PostgreSQL")
        assert_unavailable(await svc.client.get("/api/events"), "PostgreSQL")
        api.remove_toxic(name, "cut")
        healed = await svc.client.get(f"/api/events/{event['id']}")
        assert healed.status_code == 200 and healed.json()["id"] == event["id"]


async def test_a_mongo_link_cut_mid_request_is_a_503_then_heals(link):
    api, name = link
    listen = api.put(name, "127.0.0.1:27017")
    settings = store_settings(mongo_url=f"mongodb://{listen}/?directConnection=true")
    async with event_store(settings) as (_, client):
        assert (await client.get("/api/events")).status_code == 200
        api.add_toxic(name, CUT)
        assert_unavailable(await client.get("/api/events"), "MongoDB")
        api.remove_toxic(name, "cut")
        assert (await client.get("/api/events")).status_code == 200


async def test_a_client_gone_before_its_body_is_read_is_no_server_error(caplog):
    from fastapi import APIRouter, Request

    from event_service.settings import EventSettings

    router = APIRouter()

    @router.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    async def lifespan(_app):
        yield

    from contextlib import asynccontextmanager

    app = create_service_app(
        EventSettings(), title="t", description="t", lifespan=asynccontextmanager(lifespan), routers=[router]
    )
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.disconnect"}  # the caller hung up before sending its body

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/echo",
        "raw_path": b"/echo",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"10")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "app": app,
    }
    with caplog.at_level(logging.INFO):
        await app(scope, receive, send)
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [499]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
