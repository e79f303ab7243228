"""The conventions every service app gets from shared.web.create_service_app: problem+json
errors naming each bad field, body size limit, correlation ids, Server-Timing, readiness, CORS."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from pydantic import Field

from shared.problem import PROBLEM_JSON
from shared.schemas import ApiInput
from shared.settings import ServiceSettings
from shared.web import create_service_app
from tests.support import running

ALLOWED_ORIGIN = "http://tickets.example"


class ItemIn(ApiInput):
    name: str = Field(min_length=1)
    seats: int = Field(ge=1)


class Switch:
    """A readiness check the test turns off and on."""

    def __init__(self) -> None:
        self.up = True

    async def __call__(self) -> None:
        if not self.up:
            raise ConnectionError("engine is down")


def build_app(database: Switch, broker: Switch) -> FastAPI:
    router = APIRouter()

    @router.post("/api/items", status_code=201)
    async def create_item(item: ItemIn) -> dict:
        return {"name": item.name, "seats": item.seats}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.readiness["database"] = database
        app.state.optional_checks["broker"] = broker
        yield

    settings = ServiceSettings(
        service_name="conventions-probe", max_body_bytes=1000, cors_origins=[ALLOWED_ORIGIN], json_logs=False
    )
    return create_service_app(
        settings, title="probe", description="probe", lifespan=lifespan, routers=[router]
    )


async def test_bad_input_is_a_422_problem_naming_each_field():
    async with running(build_app(Switch(), Switch())) as client:
        answer = await client.post("/api/items", json={"name": "", "seats": 0, "unknown": 1})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM_JSON
    body = answer.json()
    assert body["status"] == 422 and body["correlationId"] == answer.headers["x-correlation-id"]
    assert {e["field"] for e in body["errors"]} == {"name", "seats", "unknown"}


async def test_a_body_that_is_not_json_is_a_422_problem_not_a_500():
    async with running(build_app(Switch(), Switch())) as client:
        answer = await client.post(
            "/api/items", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM_JSON


async def test_an_unknown_route_is_a_404_problem():
    async with running(build_app(Switch(), Switch())) as client:
        answer = await client.get("/api/nothing-here")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["title"] == "Not found"


async def test_a_body_above_the_limit_is_refused_with_413():
    big = {"name": "x" * 2000, "seats": 1}
    async with running(build_app(Switch(), Switch())) as client:
        declared = await client.post("/api/items", json=big)

        async def chunks():  # no Content-Length: the limit is enforced while reading
            yield b'{"name": "'
            for _ in range(20):
                yield b"x" * 100
            yield b'", "seats": 1}'

        streamed = await client.post(
            "/api/items", content=chunks(), headers={"content-type": "application/json"}
        )
    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"] == PROBLEM_JSON


async def test_the_correlation_id_is_echoed_or_created():
    async with running(build_app(Switch(), Switch())) as client:
        given = await client.get("/health", headers={"X-Correlation-ID": "abc-123"})
        created = await client.get("/health")
        failed = await client.get("/api/nothing", headers={"X-Correlation-ID": "abc-456"})
    assert given.headers["x-correlation-id"] == "abc-123"
    assert len(created.headers["x-correlation-id"]) >= 16
    assert failed.headers["x-correlation-id"] == "abc-456"
    assert failed.json()["correlationId"] == "abc-456"


async def test_ready_is_503_when_a_required_check_fails_and_degraded_when_an_optional_one_does():
    database, broker = Switch(), Switch()
    async with running(build_app(database, broker)) as client:
        ready = await client.get("/ready")
        broker.up = False
        degraded = await client.get("/ready")
        database.up = False
        unavailable = await client.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert degraded.status_code == 200 and degraded.json()["status"] == "degraded"
    assert degraded.json()["checks"]["broker"].startswith("down: ConnectionError")
    assert unavailable.status_code == 503 and unavailable.json()["status"] == "unavailable"
    assert unavailable.json()["checks"]["database"].startswith("down")


async def test_cors_answers_the_configured_origin_only():
    preflight = {"Access-Control-Request-Method": "POST"}
    async with running(build_app(Switch(), Switch())) as client:
        allowed = await client.options("/api/items", headers={"Origin": ALLOWED_ORIGIN, **preflight})
        other = await client.options("/api/items", headers={"Origin": "http://evil.example", **preflight})
        simple = await client.get("/health", headers={"Origin": "http://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-origin" not in simple.headers


async def test_every_answer_tells_its_server_time():
    async with running(build_app(Switch(), Switch())) as client:
        answers = [await client.get("/health"), await client.get("/api/nothing")]
    for answer in answers:
        name, _, duration = answer.headers["server-timing"].partition(";dur=")
        assert name == "app" and float(duration) >= 0


async def test_docs_load_their_assets_from_the_service_itself():
    """Swagger UI and ReDoc pages name no other host: their files are served by the app."""
    async with running(build_app(Switch(), Switch())) as client:
        pages = [await client.get(path) for path in ("/docs", "/redoc")]
        for page in pages:
            assert page.status_code == 200
            assert "http://" not in page.text and "https://" not in page.text
        assets = re.findall(r'(?:src|href)="(/[^"]+)"', pages[0].text + pages[1].text)
        assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
        for asset in assets:
            served = await client.get(asset)
            assert served.status_code == 200, asset
            assert len(served.content) > 1000


async def test_metrics_are_documented_and_served_as_the_prometheus_text_format():
    async with running(build_app(Switch(), Switch())) as client:
        await client.get("/health")
        answer = await client.get("/metrics")
        documented = (await client.get("/openapi.json")).json()["paths"]["/metrics"]["get"]["responses"]
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert 'http_requests_total{method="GET",route="/health",status="200"} 1.0' in answer.text
    assert list(documented["200"]["content"]) == ["text/plain; version=0.0.4"]
