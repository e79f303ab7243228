"""One booking, one trace (docs/tracing.md): a fleet exporting to a Zipkin of its own, started
by the project's script on a free port, shows the booking from the client's POST to the
consumers reached through RabbitMQ in a single trace; with that Zipkin stopped mid-saga,
bookings still complete and the fleet still agrees."""

import concurrent.futures
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fleetctl.check import run_check
from fleetctl.fleet import SERVICES
from tests.support import IsolatedFleet
from tests.zipkin import CONSUMERS, Zipkin, services, traced_fleet, zipkin_of_its_own

# Zipkin's JVM starts in 20 to 70 s on a busy 2-core machine, before the fleet's own start.
pytestmark = pytest.mark.timeout(600)

PARTICIPANTS = {"saga-orchestrator", "event-service", "reservation-service", "payment-service"}


@pytest.fixture(scope="module")
def zipkin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zipkin]:
    with zipkin_of_its_own(tmp_path_factory.mktemp("zipkin")) as server:
        yield server


@pytest.fixture(scope="module")
def fleet(zipkin: Zipkin) -> Iterator[IsolatedFleet]:
    with traced_fleet(zipkin) as fleet:
        yield fleet


def new_event(fleet: IsolatedFleet) -> int:
    answer = httpx.post(
        f"{fleet.url('event_service')}/api/events",
        json={
            "name": "Concert Jazz",
            "description": "traced",
            "eventDate": "2031-12-25T20:00:00",
            "location": "Dakar Arena",
            "category": "concert",
            "totalCapacity": 500,
            "ticketPrice": 15000,
        },
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def book(fleet: IsolatedFleet, event_id: int, user: str = "user123") -> str:
    answer = httpx.post(
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
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["sagaId"])


def settled(fleet: IsolatedFleet, saga_id: str, deadline: float = 60.0) -> dict[str, Any]:
    url = f"{fleet.url('saga_orchestrator')}/api/saga/{saga_id}"
    until = time.monotonic() + deadline
    while True:
        saga: dict[str, Any] = httpx.get(url, params={"wait": 10}, timeout=30).json()
        if saga["status"] in ("COMPLETED", "COMPENSATED", "COMPENSATION_FAILED") or time.monotonic() > until:
            return saga
        time.sleep(0.2)


def test_one_booking_is_one_trace_across_http_and_rabbitmq(fleet: IsolatedFleet, zipkin: Zipkin):
    saga = settled(fleet, book(fleet, new_event(fleet)))
    assert saga["status"] == "COMPLETED", saga
    trace_id = saga["traceId"]
    assert trace_id and len(trace_id) == 32, saga

    # The consumers run after the saga answered, and each service exports once a second.
    until = time.monotonic() + 60
    while True:
        spans = zipkin.trace(trace_id)
        consumed = services(spans, "CONSUMER") & CONSUMERS
        if (PARTICIPANTS <= services(spans) and len(consumed) >= 3) or time.monotonic() > until:
            break
        time.sleep(1)
    assert all(s["traceId"] == trace_id for s in spans)
    assert PARTICIPANTS <= services(spans), sorted(services(spans))
    assert len(consumed) >= 2, sorted(services(spans))
    by_id = {s["id"]: s for s in spans}

    def path(span: dict[str, Any]) -> list[dict[str, Any]]:
        """The span and its ancestors up to the root."""
        chain = [span]
        while chain[-1].get("parentId") in by_id:
            chain.append(by_id[chain[-1]["parentId"]])
        return chain

    roots = [s for s in spans if "parentId" not in s]
    assert [(r["localEndpoint"]["serviceName"], r.get("kind")) for r in roots] == [
        ("saga-orchestrator", "SERVER")
    ]
    # Each consumer's batch hangs from a publish (the relay, in the trace its outbox row kept)
    # under the participant's request that wrote the row.
    for consumer in consumed:
        batch = next(
            s
            for s in spans
            if s["localEndpoint"]["serviceName"] == consumer and s["name"].endswith(" process")
        )
        kinds = [(s["localEndpoint"]["serviceName"], s.get("kind")) for s in path(batch)]
        producer = next(i for i, (_, kind) in enumerate(kinds) if kind == "PRODUCER")
        assert any(kind == "SERVER" for _, kind in kinds[producer:]), kinds
    # The participants' database statements: PostgreSQL (SQLAlchemy), MongoDB, Redis.
    statements = {
        s["localEndpoint"]["serviceName"]
        for s in spans
        if s.get("kind") == "CLIENT" and {"db.system", "db.system.name"} & set(s.get("tags") or {})
    }
    assert {"event-service", "payment-service", "reservation-service", "saga-orchestrator"} <= statements


def test_bookings_complete_and_the_fleet_agrees_with_zipkin_stopped_mid_saga(
    fleet: IsolatedFleet, zipkin: Zipkin
):
    event_id = new_event(fleet)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        before = [pool.submit(book, fleet, event_id, f"before-{i}") for i in range(4)]
        # Stopped while those sagas run (their spans queued for export), then more bookings.
        zipkin.infra("down")
        assert not zipkin.up()
        started = time.monotonic()
        after = [pool.submit(book, fleet, event_id, f"after-{i}") for i in range(4)]
        ids = [f.result() for f in before + after]
        sagas = list(pool.map(lambda saga_id: settled(fleet, saga_id), ids))
    took = time.monotonic() - started
    assert [s["status"] for s in sagas] == ["COMPLETED"] * len(ids), sagas
    assert took < 30, f"bookings took {took:.1f} s with Zipkin down"
    report = run_check({s.package: fleet.url(s.package) for s in SERVICES}, fleet.env["AMQP_QUEUE_PREFIX"])
    assert report.ok, "\n" + report.table()
    for service in SERVICES:
        answer = httpx.get(f"{fleet.url(service.package)}/ready", timeout=5)
        assert answer.status_code == 200, (service.package, answer.text)
