"""Every internal and operator endpoint of the seven OpenAPI documents, tried over HTTP on an
isolated fleet without a token, with a wrong one and with the other class's token: 401, 401
and 403 problem+json, and nothing its service stores changes. The handout's public scenarios
need no token, and REST1's /book is internal (docs/security.md says why)."""

import uuid
from typing import Any

import httpx
import pytest

from fleetctl.fleet import PACKAGES as SERVICES
from fleetctl.fleet import Fleet
from tests.hostile.stores import digests


def _guarded(fleet: Fleet, package: str) -> list[tuple[str, str, str]]:
    document = httpx.get(f"{fleet.url(package)}/openapi.json").json()
    return [
        (method.upper(), path, operation["x-caller"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if operation["x-caller"] in ("internal", "operator")
    ]


def _assert_refused(answer: httpx.Response, status: int, what: str) -> None:
    assert answer.status_code == status, f"{what}: {answer.status_code} {answer.text[:200]}"
    assert answer.headers["content-type"] == "application/problem+json", what
    assert answer.json()["status"] == status
    if status == 401:
        assert answer.headers.get("www-authenticate") == "Bearer", what


@pytest.mark.parametrize("package", SERVICES)
def test_guarded_endpoints_refuse_strangers_and_the_other_class(fleet: Fleet, package: str):
    guarded = _guarded(fleet, package)
    if package == "saga_orchestrator":
        # The handout's booking API is public; only the token check and an operator's resume
        # of a COMPENSATION_FAILED saga are not.
        assert sorted(guarded) == [
            ("GET", "/auth/check", "internal"),
            ("POST", "/api/saga/{saga_id}/resume", "operator"),
        ], guarded
    assert guarded, f"{package} has internal or operator endpoints"
    tokens = {"internal": fleet.env["SERVICE_TOKEN"], "operator": fleet.env["OPERATOR_TOKEN"]}
    before = digests(fleet, (package,))
    for method, path, kind in guarded:
        url = fleet.url(package) + path.replace("{", "").replace("}", "").replace("event_id", "1")
        other = tokens["operator" if kind == "internal" else "internal"]
        body: dict[str, Any] = {"seats": 1}
        for headers, status in (
            ({}, 401),
            ({"Authorization": "Bearer not-a-token"}, 401),
            ({"Authorization": f"Basic {tokens[kind]}"}, 401),
            ({"Authorization": f"Bearer {tokens[kind]}x"}, 401),
            ({"Authorization": f"Bearer {other}"}, 403),
        ):
            headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
            answer = httpx.request(method, url, json=body, headers=headers)
            _assert_refused(answer, status, f"{method} {path} with {sorted(headers)}")
    assert digests(fleet, (package,)) == before, "a refused call changed what the service stores"


def test_rest1_book_is_internal_and_a_stranger_takes_no_seat(fleet: Fleet):
    events = f"{fleet.url('event_service')}/api/events"
    created = httpx.post(
        events,
        json={
            "name": "Door test",
            "eventDate": "2031-03-01T20:00:00Z",
            "location": "Thiès",
            "totalCapacity": 20,
            "ticketPrice": 500,
        },
    )
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    stranger = httpx.post(f"{events}/{event_id}/book", json={"seats": 5})
    _assert_refused(stranger, 401, "/book without a token")
    assert httpx.get(f"{events}/{event_id}").json()["bookedSeats"] == 0
    fleet_call = httpx.post(
        f"{events}/{event_id}/release",
        json={"seats": 1},
        headers={"Authorization": f"Bearer {fleet.env['OPERATOR_TOKEN']}"},
    )
    _assert_refused(fleet_call, 403, "/release with the operator's token")


def test_the_handout_scenarios_need_no_token(fleet: Fleet):
    """Create an event, book it through the saga, read everything the story reads."""
    event = httpx.post(
        f"{fleet.url('event_service')}/api/events",
        json={
            "name": "Concert Jazz",
            "eventDate": "2031-12-25T20:00:00",
            "location": "Dakar Arena",
            "category": "concert",
            "totalCapacity": 500,
            "ticketPrice": 15000,
        },
    )
    assert event.status_code == 201, event.text
    event_id = event.json()["id"]
    user = f"u{uuid.uuid4().hex[:8]}"
    started = httpx.post(
        f"{fleet.url('saga_orchestrator')}/api/saga/booking",
        json={
            "eventId": event_id,
            "userId": user,
            "userName": "Awa Ndiaye",
            "userEmail": "awa.ndiaye@example.sn",
            "seats": 2,
            "ticketPrice": 15000,
            "paymentMethod": "mobile_money",
        },
    )
    assert started.status_code == 202, started.text
    saga_id = started.json()["sagaId"]
    saga = httpx.get(f"{fleet.url('saga_orchestrator')}/api/saga/{saga_id}", params={"wait": 20}, timeout=30)
    assert saga.json()["status"] == "COMPLETED", saga.text
    reads = [
        f"{fleet.url('event_service')}/api/events/{event_id}",
        f"{fleet.url('reservation_service')}/api/reservations/{saga.json()['reservationId']}",
        f"{fleet.url('payment_service')}/api/payments/{saga.json()['paymentId']}",
        f"{fleet.url('notification_service')}/api/notifications/user/{user}",
        f"{fleet.url('analytics_service')}/api/analytics/search?location=Dakar",
        f"{fleet.url('event_store_service')}/api/aggregates/EVENT-{event_id}/history",
        f"{fleet.url('event_store_service')}/api/aggregates/EVENT-{event_id}/reconstruct",
    ]
    for url in reads:
        assert httpx.get(url).status_code == 200, url
    assert httpx.get(reads[0]).json()["bookedSeats"] == 2
