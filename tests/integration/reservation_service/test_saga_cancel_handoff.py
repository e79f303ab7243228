"""A live booking a saga made is cancelled by the orchestrator's cancellation saga: POST
/cancel hands it over (the orchestrator's 202 or refusal is the answer, the client's key goes
with it) and PUT /status cannot end it alone; a direct reservation keeps its own cancel; the
reinstate route confirms again only what a saga made."""

from typing import Any

import pytest
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from tests.integration.reservation_service.harness import (
    create_event,
    drop_database,
    reservation_body,
    reservation_service,
    reservation_settings,
)
from tests.support import serving, unique


def orchestrator_app(calls: list[dict[str, Any]], refuse: set[str]) -> FastAPI:
    app = FastAPI()

    @app.post("/api/saga/cancellation")
    async def cancellation(request: Request, key: str | None = Header(None, alias="Idempotency-Key")):
        body = await request.json()
        calls.append({"body": body, "key": key})
        if body["reservationId"] in refuse:
            return JSONResponse(
                {"status": 409, "detail": "booking saga s-1 is still RUNNING", "sagaId": "s-1"},
                status_code=409,
                media_type="application/problem+json",
            )
        return JSONResponse({"sagaId": "c-1", "status": "STARTED"}, status_code=202)

    return app


@pytest.fixture(scope="module")
async def handoff(tag, event_url):
    calls: list[dict[str, Any]] = []
    refuse: set[str] = set()
    async with serving(orchestrator_app(calls, refuse)) as url:
        settings = reservation_settings(f"{tag}h", event_url, saga_orchestrator_url=url)
        try:
            async with reservation_service(settings) as (_, client):
                yield client, calls, refuse
        finally:
            await drop_database(settings.mongo_database)


async def _confirmed_saga_reservation(client, event_url) -> dict[str, Any]:
    event = await create_event(event_url)
    made = await client.post("/api/reservations", json=reservation_body(event["id"], saga_id=unique("saga")))
    assert made.status_code == 201, made.text
    confirmed = await client.put(
        f"/api/reservations/{made.json()['id']}/status", json={"status": "confirmed"}
    )
    assert confirmed.status_code == 200, confirmed.text
    return dict(confirmed.json())


async def test_cancel_hands_a_saga_booking_to_the_orchestrator_with_the_key(handoff, event_url):
    client, calls, _ = handoff
    r = await _confirmed_saga_reservation(client, event_url)
    answer = await client.post(
        f"/api/reservations/{r['id']}/cancel",
        json={"reason": "cannot come"},
        headers={"Idempotency-Key": "k1"},
    )
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"sagaId": "c-1", "status": "STARTED"}
    assert calls[-1] == {
        "body": {"reservationId": r["id"], "reason": "cannot come"},
        "key": "reservation-cancel:k1",
    }
    # Nothing changed here: the saga's first step cancels it.
    assert (await client.get(f"/api/reservations/{r['id']}")).json()["status"] == "confirmed"


async def test_the_orchestrators_refusal_is_the_answer(handoff, event_url):
    client, _, refuse = handoff
    r = await _confirmed_saga_reservation(client, event_url)
    refuse.add(r["id"])
    answer = await client.post(f"/api/reservations/{r['id']}/cancel")
    assert answer.status_code == 409 and answer.json()["sagaId"] == "s-1"
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_status_change_alone_cannot_end_a_saga_booking(handoff, event_url):
    client, calls, _ = handoff
    r = await _confirmed_saga_reservation(client, event_url)
    before = len(calls)
    for status in ("cancelled", "refunded"):
        answer = await client.put(f"/api/reservations/{r['id']}/status", json={"status": status})
        assert answer.status_code == 409, answer.text
        assert "/cancel" in answer.json()["detail"]
    assert len(calls) == before
    assert (await client.get(f"/api/reservations/{r['id']}")).json()["status"] == "confirmed"


async def test_a_direct_reservation_keeps_its_own_cancel(handoff, event_url):
    client, calls, _ = handoff
    event = await create_event(event_url)
    made = await client.post("/api/reservations", json=reservation_body(event["id"]))
    assert made.status_code == 201, made.text
    before = len(calls)
    answer = await client.post(f"/api/reservations/{made.json()['id']}/cancel")
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    assert len(calls) == before
    refused = await client.post(f"/api/reservations/{made.json()['id']}/reinstate", json={})
    assert refused.status_code == 409


async def test_reinstate_confirms_again_a_saga_booking_its_cancellation_cancelled(handoff, event_url):
    client, _, _ = handoff
    r = await _confirmed_saga_reservation(client, event_url)
    cancelled = await client.post(
        f"/api/reservations/{r['id']}/compensate", json={"reason": "cancellation saga x"}
    )
    assert cancelled.json()["status"] == "cancelled"
    back = await client.post(f"/api/reservations/{r['id']}/reinstate", json={"reason": "refund refused"})
    again = await client.post(f"/api/reservations/{r['id']}/reinstate", json={"reason": "refund refused"})
    assert back.status_code == again.status_code == 200
    assert back.json()["status"] == "confirmed" and again.json()["version"] == back.json()["version"]
    assert [e["status"] for e in back.json()["timeline"]] == [
        "pending",
        "confirmed",
        "cancelled",
        "confirmed",
    ]


async def test_a_reinstatement_fences_the_cancel_its_saga_gave_up_on(handoff, event_url):
    """A cancel served late, after the saga gave up on it and reinstated the booking, must not
    cancel it again: the reinstatement fences the cancel's key in the same write."""
    client, _, _ = handoff
    r = await _confirmed_saga_reservation(client, event_url)
    cancel_key = f"{unique('cancel')}:CANCEL_RESERVATION"
    # The cancel never reached the reservation (or its answer was lost and it was undone).
    back = await client.post(
        f"/api/reservations/{r['id']}/reinstate", json={"reason": "undone", "fenceKey": cancel_key}
    )
    assert back.status_code == 200 and back.json()["status"] == "confirmed"
    late = await client.post(
        f"/api/reservations/{r['id']}/compensate",
        json={"reason": "cancellation saga x"},
        headers={"Idempotency-Key": cancel_key},
    )
    assert late.status_code == 409, late.text
    assert late.json()["title"] == "Idempotency key fenced"
    assert (await client.get(f"/api/reservations/{r['id']}")).json()["status"] == "confirmed"
    # Another caller's compensation is not concerned by the fence.
    other = await client.post(
        f"/api/reservations/{r['id']}/compensate",
        json={"reason": "another saga"},
        headers={"Idempotency-Key": f"{unique('saga')}:CANCEL_RESERVATION"},
    )
    assert other.status_code == 200 and other.json()["status"] == "cancelled"


async def test_a_cancel_that_landed_before_the_reinstatement_is_undone_and_then_refused(handoff, event_url):
    client, _, _ = handoff
    r = await _confirmed_saga_reservation(client, event_url)
    cancel_key = f"{unique('cancel')}:CANCEL_RESERVATION"
    url = f"/api/reservations/{r['id']}"
    first = await client.post(f"{url}/compensate", json={}, headers={"Idempotency-Key": cancel_key})
    assert first.json()["status"] == "cancelled"
    back = await client.post(f"{url}/reinstate", json={"fenceKey": cancel_key})
    again = await client.post(f"{url}/reinstate", json={"fenceKey": cancel_key})
    assert back.json()["status"] == "confirmed" and again.json()["version"] == back.json()["version"]
    late = await client.post(f"{url}/compensate", json={}, headers={"Idempotency-Key": cancel_key})
    assert late.status_code == 409
    assert (await client.get(url)).json()["status"] == "confirmed"
    bad = await client.post(f"{url}/reinstate", json={"fenceKey": "a b"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "fenceKey"
