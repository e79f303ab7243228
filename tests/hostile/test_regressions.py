"""What the property-based runs found, kept as plain requests; and the limits users expect:
body size, page size, string lengths, escaped notification content, CORS from settings."""

import uuid
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from fleetctl.fleet import Fleet
from shared.settings import ServiceSettings
from shared.web import create_service_app
from tests.support import FleetAuth, running


def _problem(answer: httpx.Response, status: int, field: str) -> None:
    """The answer is the problem+json `status`, naming `field` among its bad fields."""
    assert answer.status_code == status, f"{answer.request.method} {answer.request.url}: {answer.text[:300]}"
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in answer.json()["errors"]], answer.text[:300]


def test_analytics_search_far_beyond_the_last_page_is_a_422_naming_the_page(fleet: Fleet):
    # Found by schemathesis: from + size beyond the search engine's result window (a 500 then).
    analytics = f"{fleet.url('analytics_service')}/api/analytics"
    answer = httpx.get(f"{analytics}/search", params={"page": 1214, "location": "TÖ¬MÃó|"})
    _problem(answer, 422, "query.page")
    last = httpx.get(f"{analytics}/search", params={"page": 100, "size": 100, "location": "TÖ¬MÃó|"})
    assert last.status_code == 200 and last.json()["items"] == []


def test_event_store_append_with_odd_metadata_keys_stores_them_as_given_once(fleet: Fleet):
    # Found by schemathesis: metadata is stored as given (empty keys, nested lists, tiny floats).
    tag = uuid.uuid4().hex[:8]
    metadata = {
        "": {"ûXÉY\u0091M": -1.175494351e-38, "~Ð:WÜ£": "K{ov¹¦j©", "\u0016\u00a8\u00b8\u00b0": False}
    }
    body = {
        "eventId": f"\U0009e15a\u011d{tag}",
        "eventData": {},
        "aggregateId": f"^{tag}",
        "metadata": metadata,
        "eventType": "Z6",
        "aggregateType": "wctX0ropiH",
    }
    store = fleet.url("event_store_service")
    auth = FleetAuth(fleet)
    first = httpx.post(f"{store}/api/events", json=body, auth=auth)
    assert first.status_code == 201, first.text[:300]
    assert (first.json()["version"], first.json()["metadata"][""]) == (1, metadata[""])
    again = httpx.post(f"{store}/api/events", json=body, auth=auth)
    assert again.status_code == 200 and again.json()["eventId"] == body["eventId"]
    history = httpx.get(f"{store}/api/aggregates/{quote(body['aggregateId'], safe='')}/history").json()
    assert [(e["eventId"], e["version"]) for e in history["events"]] == [(body["eventId"], 1)]


@pytest.mark.parametrize(
    ("package", "path"),
    [
        ("event_service", "/api/events"),
        ("reservation_service", "/api/reservations"),
        ("payment_service", "/api/payments"),
        ("event_store_service", "/api/events"),
        ("saga_orchestrator", "/api/saga"),
    ],
)
def test_page_size_is_capped(fleet: Fleet, package: str, path: str):
    _problem(httpx.get(f"{fleet.url(package)}{path}", params={"size": 101}), 422, "query.size")
    page = httpx.get(f"{fleet.url(package)}{path}", params={"size": 100})
    assert page.status_code == 200
    assert page.json()["size"] == 100 and len(page.json()["items"]) <= 100


def test_oversized_bodies_and_strings_are_refused_and_change_nothing(fleet: Fleet):
    events = f"{fleet.url('event_service')}/api/events"
    auth = FleetAuth(fleet)
    before = httpx.get(events, params={"size": 100}).json()
    huge = httpx.post(
        events,
        content=b'{"name": "' + b"x" * 1_100_000 + b'"}',
        headers={"Content-Type": "application/json"},
        auth=auth,
    )
    assert huge.status_code == 413
    assert huge.headers["content-type"].startswith("application/problem+json")
    assert huge.json()["status"] == 413
    long_name = httpx.post(
        events,
        json={
            "name": "x" * 10_000,
            "eventDate": "2099-01-01T20:00:00Z",
            "location": "Dakar",
            "totalCapacity": 10,
            "ticketPrice": 1000,
        },
        auth=auth,
    )
    _problem(long_name, 422, "name")
    assert httpx.get(events, params={"size": 100}).json() == before


def test_notification_content_is_escaped(fleet: Fleet):
    user = f"u{uuid.uuid4().hex[:8]}"
    answer = httpx.post(
        f"{fleet.url('notification_service')}/api/notifications/booking",
        auth=FleetAuth(fleet),
        json={
            "userId": user,
            "userEmail": "awa@example.sn",
            "userName": "<script>alert(1)</script>",
            "eventName": "<img src=x onerror=alert(1)>",
            "status": "confirmed",
        },
    )
    assert answer.status_code == 201, answer.text
    content = answer.json()["content"]  # the HTML body; the subject is plain text
    assert "<script>" not in content and "<img" not in content


async def _preflight(app: FastAPI, origin: str) -> httpx.Response:
    async with running(app) as client:
        return await client.options(
            "/health", headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
        )


def _app(origins: list[str]) -> FastAPI:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield

    settings = ServiceSettings(service_name="cors-test", cors_origins=origins)
    return create_service_app(settings, title="t", description="t", lifespan=lifespan, routers=[])


async def test_cors_allows_only_the_configured_origins():
    allowed = await _preflight(_app(["https://tickets.example.sn"]), "https://tickets.example.sn")
    assert allowed.headers.get("access-control-allow-origin") == "https://tickets.example.sn"
    assert allowed.headers.get("access-control-allow-credentials") == "true"
    other = await _preflight(_app(["https://tickets.example.sn"]), "https://evil.example")
    assert (
        "access-control-allow-origin" not in other.headers
        or other.headers["access-control-allow-origin"] != "https://evil.example"
    )


async def test_cors_wildcard_never_comes_with_credentials():
    answer = await _preflight(_app(["*"]), "https://anyone.example")
    assert answer.headers.get("access-control-allow-credentials") != "true"


async def test_no_cors_headers_without_configured_origins():
    answer = await _preflight(_app([]), "https://anyone.example")
    assert "access-control-allow-origin" not in answer.headers
