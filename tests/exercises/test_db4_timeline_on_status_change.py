"""DB4: every status change appends its timeline entry {status, timestamp, reason, updatedBy}
in the same atomic write as the change itself; creation writes the first one."""

import pytest

from tests.integration.reservation_service.harness import (
    create_event,
    reservation_body,
    reservation_fleet,
)
from tests.support import unique


@pytest.fixture(scope="module")
async def fleet():
    async with reservation_fleet("db4") as (app, client, event_url):
        yield app, client, event_url


async def test_each_status_change_appends_one_entry_with_the_callers_reason(fleet):
    _, client, event_url = fleet
    event = await create_event(event_url)
    r = (
        await client.post("/api/reservations", json=reservation_body(event["id"], saga_id=unique("s")))
    ).json()
    assert [(e["status"], e["updatedBy"]) for e in r["timeline"]] == [("pending", "saga")]

    await client.put(
        f"/api/reservations/{r['id']}/status",
        json={"status": "confirmed", "reason": "payment 17 completed", "updatedBy": "saga-orchestrator"},
    )
    done = await client.post(f"/api/reservations/{r['id']}/cancel", json={"reason": "customer request"})
    timeline = done.json()["timeline"]
    assert [e["status"] for e in timeline] == ["pending", "confirmed", "cancelled"]
    assert timeline[1]["reason"] == "payment 17 completed"
    assert timeline[1]["updatedBy"] == "saga-orchestrator"
    assert timeline[2]["reason"] == "customer request" and timeline[2]["updatedBy"] == "api"
    stamps = [e["timestamp"] for e in timeline]
    assert stamps == sorted(stamps)
    assert timeline[-1]["timestamp"] == done.json()["updatedAt"]


async def test_a_refused_change_or_a_no_op_adds_no_entry(fleet):
    _, client, event_url = fleet
    event = await create_event(event_url)
    r = (
        await client.post("/api/reservations", json=reservation_body(event["id"], saga_id=unique("s")))
    ).json()
    await client.put(f"/api/reservations/{r['id']}/status", json={"status": "confirmed"})
    assert (
        await client.put(f"/api/reservations/{r['id']}/status", json={"status": "pending"})
    ).status_code == 409
    await client.put(f"/api/reservations/{r['id']}/status", json={"status": "confirmed"})
    stale = await client.put(
        f"/api/reservations/{r['id']}/status", json={"status": "cancelled", "version": 1}
    )
    assert stale.status_code == 409
    timeline = (await client.get(f"/api/reservations/{r['id']}")).json()["timeline"]
    assert [e["status"] for e in timeline] == ["pending", "confirmed"]


async def test_the_entry_and_the_status_are_one_write(fleet):
    app, client, event_url = fleet
    event = await create_event(event_url)
    r = (
        await client.post("/api/reservations", json=reservation_body(event["id"], saga_id=unique("s")))
    ).json()
    await client.put(f"/api/reservations/{r['id']}/status", json={"status": "confirmed"})
    stored = await app.state.store.get(r["id"])
    # The version counts writes: one for the creation, one for the change with its entry.
    assert stored["version"] == 2 and len(stored["timeline"]) == 2
    assert stored["timeline"][-1]["status"] == stored["status"] == "confirmed"
