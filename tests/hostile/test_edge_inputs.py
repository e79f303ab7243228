"""Edge values for every input of every operation of the seven OpenAPI documents (see
tests/hostile/edges.py for the catalogue), one at a time in an otherwise valid request,
against an isolated fleet over HTTP: never a 5xx, and a request refused as bad input (400,
413, 422) leaves what its service stored exactly as it was (digests read from the engines).

CI runs at most HOSTILE_EDGE_CASES cases per operation (default 12, spread over its inputs
with a fixed seed; the instants UTC cannot hold always run). `HOSTILE_EDGE_CASES=0` runs the
whole catalogue (a few thousand requests, about ten minutes on the 2-core machine):
    HOSTILE_EDGE_CASES=0 .venv/bin/pytest tests/hostile/test_edge_inputs.py
"""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from fleetctl.fleet import PACKAGES as SERVICES
from fleetctl.fleet import Fleet
from tests.hostile.edges import Edge, Input, body_inputs, dumps, edges_for, kind_of, sample, with_value
from tests.hostile.stores import digests, settled
from tests.support import FleetAuth, IsolatedFleet, isolated_fleet

LIMIT = int(os.environ.get("HOSTILE_EDGE_CASES", "12"))
REFUSED = (400, 413, 422)
PROBES = ("/health", "/ready", "/metrics")


@pytest.fixture(scope="module")
def fleet() -> Iterator[IsolatedFleet]:
    """A fleet of its own: this suite writes through internal and operator endpoints (with
    their tokens), which the package's fleet, checked by `fleet check`, must not see."""
    running = isolated_fleet()
    try:
        running.start(quiet=True)
        yield running
    finally:
        running.discard()


@dataclass
class World:
    """Real records of the fleet, so a request's other inputs are valid and reach the code
    behind validation."""

    event_id: int
    user_id: str
    saga_id: str
    reservation_id: str
    payment_id: str
    stored_event_id: str
    notification_id: str


@pytest.fixture(scope="module")
def world(fleet: Fleet) -> World:
    user = f"edge-{uuid.uuid4().hex[:8]}"
    event = httpx.post(
        f"{fleet.url('event_service')}/api/events",
        json={
            "name": "Edge night",
            "eventDate": "2031-06-01T20:00:00Z",
            "location": "Saint-Louis",
            "totalCapacity": 1000,
            "ticketPrice": 1000,
        },
    )
    assert event.status_code == 201, event.text
    event_id = int(event.json()["id"])
    started = httpx.post(
        f"{fleet.url('saga_orchestrator')}/api/saga/booking",
        json={
            "eventId": event_id,
            "userId": user,
            "userName": "Edge Case",
            "userEmail": "edge@example.sn",
            "seats": 1,
            "ticketPrice": 1000,
            "paymentMethod": "card",
        },
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert started.status_code == 202, started.text
    saga_id = started.json()["sagaId"]
    saga = httpx.get(f"{fleet.url('saga_orchestrator')}/api/saga/{saga_id}", params={"wait": 20}, timeout=30)
    assert saga.json()["status"] == "COMPLETED", saga.text
    settled(fleet)
    stored = httpx.get(f"{fleet.url('event_store_service')}/api/events", params={"size": 1}).json()
    notes = httpx.get(f"{fleet.url('notification_service')}/api/notifications/user/{user}").json()
    return World(
        event_id=event_id,
        user_id=user,
        saga_id=saga_id,
        reservation_id=str(saga.json()["reservationId"]),
        payment_id=str(saga.json()["paymentId"]),
        stored_event_id=str(stored["items"][0]["eventId"]),
        notification_id=str(notes["items"][0]["id"]),
    )


def _path_value(package: str, name: str, world: World) -> str:
    values = {
        "event_id": world.stored_event_id if package == "event_store_service" else str(world.event_id),
        "eventId": str(world.event_id),
        "reservation_id": world.reservation_id,
        "payment_id": world.payment_id,
        "saga_id": world.saga_id,
        "user_id": world.user_id,
        "notification_id": world.notification_id,
        "aggregate_id": f"EVENT-{world.event_id}",
        "event_type": "event.created",
    }
    return quote(values.get(name, "1"), safe="")


def _body(package: str, method: str, path: str, world: World) -> dict[str, Any]:
    """A valid body for each operation that takes one; its fields are then edged one by one."""
    event = {
        "name": "Edge night",
        "eventDate": "2031-06-01T20:00:00Z",
        "location": "Saint-Louis",
        "totalCapacity": 1000,
        "ticketPrice": 1000,
    }
    bodies: dict[tuple[str, str, str], dict[str, Any]] = {
        ("event_service", "post", "/api/events"): event,
        ("event_service", "put", "/api/events/{event_id}"): {"name": "Edge night, moved"},
        ("event_service", "post", "/api/events/{event_id}/book"): {"seats": 1},
        ("event_service", "post", "/api/events/{event_id}/release"): {"seats": 1},
        ("reservation_service", "post", "/api/reservations"): {
            "eventId": world.event_id,
            "userId": world.user_id,
            "userDetails": {"name": "Edge Case", "email": "edge@example.sn"},
            "bookingDetails": {"seats": 1, "totalAmount": 1000, "currency": "XOF"},
        },
        ("reservation_service", "put", "/api/reservations/{reservation_id}/status"): {
            "status": "confirmed",
            "reason": "edge",
        },
        ("payment_service", "post", "/api/payments"): {
            "reservationId": f"edge-{uuid.uuid4().hex[:12]}",
            "userId": world.user_id,
            "amount": 1000,
            "paymentMethod": "card",
        },
        ("payment_service", "put", "/api/payments/{payment_id}/status"): {"status": "completed"},
        ("analytics_service", "post", "/api/analytics/events"): {
            "eventId": world.event_id + 1_000_000,
            **event,
        },
        ("analytics_service", "post", "/api/analytics/events/{eventId}/update"): {"bookedSeats": 1},
        ("event_store_service", "post", "/api/events"): {
            "aggregateId": f"EDGE-{uuid.uuid4().hex[:8]}",
            "aggregateType": "EDGE",
            "eventType": "edge.tried",
            "eventData": {"n": 1},
        },
        ("saga_orchestrator", "post", "/api/saga/booking"): {
            "eventId": world.event_id,
            "userId": world.user_id,
            "userName": "Edge Case",
            "userEmail": "edge@example.sn",
            "seats": 1,
            "ticketPrice": 1000,
            "paymentMethod": "card",
        },
        ("notification_service", "post", "/api/notifications/booking"): {
            "userId": world.user_id,
            "userEmail": "edge@example.sn",
            "status": "confirmed",
        },
        ("notification_service", "post", "/api/notifications/payment"): {
            "userId": world.user_id,
            "userEmail": "edge@example.sn",
            "amount": 1000,
        },
    }
    return bodies.get((package, method, path), {})


def _inputs(operation: dict[str, Any], components: dict[str, Any]) -> list[Input]:
    found = []
    for param in operation.get("parameters", []):
        if param["in"] in ("path", "query"):
            found.append(Input(param["in"], param["name"], kind_of(param.get("schema", {}), components)))
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if schema:
        found += body_inputs(schema, components)
    return found


def _request(
    fleet: Fleet,
    package: str,
    method: str,
    path: str,
    operation: dict[str, Any],
    world: World,
    item: Input,
    edge: Edge,
) -> httpx.Request:
    url_path = path
    query = []
    for param in operation.get("parameters", []):
        name = param["name"]
        edged = item.where == param["in"] and item.name == name
        if param["in"] == "path":
            value = str(edge.value) if edged else _path_value(package, name, world)
            url_path = url_path.replace("{" + name + "}", value)
        elif param["in"] == "query" and edged:
            query.append(f"{quote(name)}={edge.value}")
        elif param["in"] == "query" and param.get("required"):
            query.append(f"{quote(name)}=1")
    url = fleet.url(package) + url_path + ("?" + "&".join(query) if query else "")
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    content = None
    if "requestBody" in operation:
        body = _body(package, method, path, world)
        if item.where == "body":
            body = with_value(body, item.name, edge.value)
        content = dumps(body).encode()
        headers["Content-Type"] = "application/json"
    return httpx.Request(method.upper(), url, content=content, headers=headers)


@pytest.mark.parametrize("package", SERVICES)
def test_edge_values_never_get_a_5xx_and_a_refusal_changes_nothing(
    fleet: IsolatedFleet, world: World, package: str
):
    document = httpx.get(f"{fleet.url(package)}/openapi.json").json()
    components = document.get("components", {}).get("schemas", {})
    failures: list[str] = []
    before = settled(fleet)
    sent = 0
    # With the tokens each route's class requires: the values must reach validation.
    with httpx.Client(timeout=60, auth=FleetAuth(fleet)) as client:
        for path, item in document["paths"].items():
            if path in PROBES:
                continue
            for method, operation in item.items():
                inputs = _inputs(operation, components)
                cases = [(i, e) for i in inputs for e in edges_for(i)]
                for target, edge in sample(cases, LIMIT, f"{package} {method} {path}"):
                    request = _request(fleet, package, method, path, operation, world, target, edge)
                    what = f"{method.upper()} {path} {target.where} {target.name} = {edge.label}"
                    try:
                        answer = client.send(request)
                    except httpx.TransportError as exc:
                        failures.append(f"{what}: no answer ({exc!r})")
                        continue
                    sent += 1
                    if answer.status_code >= 500:
                        failures.append(f"{what}: {answer.status_code} {answer.text[:300]}")
                    if method == "get":
                        continue
                    if answer.status_code in REFUSED:
                        after = digests(fleet, (package,))
                        changed = sorted(k for k in after if after[k] != before.get(k))
                        if changed:
                            failures.append(f"{what}: refused {answer.status_code} but changed {changed}")
                            before = settled(fleet)
                    else:
                        before = settled(fleet)
    assert sent > 0
    assert not failures, "\n".join(failures)
