"""A read model is written by its projection: the hand-feeding endpoints are for an operator
only, and a document written by hand, whatever version it claims, can never hold back the
projection of the event's real messages."""

import httpx

from tests.integration.analytics_service.messages import event_data, event_message
from tests.support import OPERATOR_TOKEN, SERVICE_TOKEN, eventually

EVENT_ID = 77


def _by_hand(**fields):
    return {
        "eventId": EVENT_ID,
        "name": "Written by hand",
        "location": "Nowhere",
        "eventDate": "2030-12-25T20:00:00Z",
        "totalCapacity": 4_683_775,
        "bookedSeats": 3,
        "ticketPrice": 1,
        "version": 1_000_000,
        **fields,
    }


async def test_a_hand_written_document_never_blocks_the_projection(analytics, publisher):
    _, app, client = analytics
    await publisher.publish(event_message("created", event_data(EVENT_ID, 1, totalCapacity=100)))

    async def projected(version):
        await app.state.store.refresh()
        answer = await client.get(f"/api/analytics/events/{EVENT_ID}")
        return (
            answer.json() if answer.status_code == 200 and answer.json()["eventVersion"] >= version else None
        )

    await eventually(lambda: projected(1), timeout=20)
    written = await client.post(
        "/api/analytics/events",
        json=_by_hand(),
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
    )
    assert written.status_code == 200, written.text
    assert written.json()["totalCapacity"] == 4_683_775
    assert written.json()["eventVersion"] == 1, "the claimed version is not the projection's"

    await publisher.publish(
        event_message("updated", event_data(EVENT_ID, 2, totalCapacity=120, bookedSeats=6))
    )
    doc = await eventually(lambda: projected(2), timeout=20)
    assert (doc["totalCapacity"], doc["bookedSeats"], doc["name"]) == (120, 6, "Concert Youssou N'Dour")


async def test_a_hand_written_document_for_an_unseen_event_yields_to_its_first_message(analytics, publisher):
    _, app, client = analytics
    other = EVENT_ID + 1
    written = await client.post("/api/analytics/events", json=_by_hand(eventId=other))
    assert written.status_code == 201 and written.json()["eventVersion"] == 0
    await publisher.publish(event_message("created", event_data(other, 1, totalCapacity=50)))

    async def projected():
        await app.state.store.refresh()
        doc = (await client.get(f"/api/analytics/events/{other}")).json()
        return doc if doc["eventVersion"] == 1 else None

    assert (await eventually(projected, timeout=20))["totalCapacity"] == 50


async def test_only_an_operator_writes_a_read_model_by_hand(analytics):
    _, app, _ = analytics
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as stranger:
        for path, body in (
            ("/api/analytics/events", _by_hand(eventId=EVENT_ID + 2)),
            (f"/api/analytics/events/{EVENT_ID + 2}/update", {"bookedSeats": 1}),
        ):
            assert (await stranger.post(path, json=body)).status_code == 401
            wrong = await stranger.post(path, json=body, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            fleet = await stranger.post(path, json=body, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
            assert fleet.status_code == 403
            assert fleet.headers["content-type"] == "application/problem+json"
        assert (await stranger.get(f"/api/analytics/events/{EVENT_ID + 2}")).status_code == 404
