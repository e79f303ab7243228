"""The Event store's HTTP API against MongoDB: appends, idempotency, queries, validation."""

import asyncio

import pytest

from shared import mongo
from tests.integration.event_store_service.helpers import event_body, event_store, store_settings
from tests.support import unique


@pytest.fixture(scope="module")
async def client():
    async with event_store() as (_, client):
        yield client


async def test_an_append_answers_the_stored_event(client):
    aggregate = unique("RESERVATION")
    body = event_body(
        aggregate,
        "reservation.created",
        eventData={"id": "r1", "bookingDetails": {"seats": 2}},
        metadata={"causationId": "c-1", "userAgent": "test"},
        expectedVersion=0,
    )
    answer = await client.post("/api/events", json=body, headers={"X-Correlation-ID": "corr-1"})
    assert answer.status_code == 201
    event = answer.json()
    assert answer.headers["location"] == f"/api/events/{event['eventId']}"
    assert event["aggregateId"] == aggregate
    assert event["aggregateType"] == "RESERVATION"
    assert event["eventType"] == "reservation.created"
    assert event["eventData"] == {"id": "r1", "bookingDetails": {"seats": 2}}
    assert event["metadata"] == {"causationId": "c-1", "userAgent": "test", "correlationId": "corr-1"}
    assert event["version"] == 1
    assert event["occurredAt"] == event["timestamp"]
    assert (await client.get(f"/api/events/{event['eventId']}")).json() == event


async def test_a_given_correlation_id_is_kept(client):
    body = event_body(unique("A"), metadata={"correlationId": "mine"})
    answer = await client.post("/api/events", json=body, headers={"X-Correlation-ID": "header"})
    assert answer.json()["metadata"]["correlationId"] == "mine"


async def test_the_same_event_id_appends_once(client):
    aggregate = unique("PAYMENT")
    body = event_body(aggregate, "payment.completed", aggregateType="PAYMENT", eventId=unique("evt"))
    first = await client.post("/api/events", json=body)
    again = await client.post("/api/events", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    history = (await client.get(f"/api/aggregates/{aggregate}/history")).json()
    assert history["currentVersion"] == 1
    assert history["count"] == 1


async def test_an_event_id_reused_for_a_different_event_is_a_409(client):
    aggregate = unique("PAYMENT")
    body = event_body(aggregate, "payment.completed", aggregateType="PAYMENT", eventId=unique("evt"))
    assert (await client.post("/api/events", json=body)).status_code == 201
    other = {**body, "eventData": {"amount": 999}}
    answer = await client.post("/api/events", json=other)
    assert answer.status_code == 409
    assert answer.json()["eventId"] == body["eventId"]
    assert (await client.get(f"/api/aggregates/{aggregate}/history")).json()["count"] == 1


async def test_an_aggregate_keeps_its_type(client):
    aggregate = unique("X")
    assert (
        await client.post("/api/events", json=event_body(aggregate, aggregateType="cart"))
    ).status_code == 201
    clash = await client.post("/api/events", json=event_body(aggregate, aggregateType="PAYMENT"))
    assert clash.status_code == 409
    assert clash.json()["aggregateType"] == "CART"


@pytest.mark.parametrize(
    "change",
    [
        {"aggregateType": ""},
        {"aggregateType": "1abc"},
        {"aggregateType": "has space"},
        {"aggregateId": ""},
        {"eventType": ""},
        {"expectedVersion": -1},
        {"expectedVersion": 10**30},
        {"eventData": [1, 2]},
        {"eventData": {"$where": "1"}},
        {"eventData": {"big": 2**70}},
        {"unknownField": 1},
    ],
)
async def test_bad_appends_are_422_and_store_nothing(client, change):
    aggregate = unique("BAD")
    answer = await client.post("/api/events", json={**event_body(aggregate), **change})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/api/events", params={"aggregateId": aggregate})).json()["total"] == 0


async def test_events_are_listed_with_filters_and_capped_pages(client):
    aggregate = unique("EVENT")
    for i in range(5):
        await client.post(
            "/api/events",
            json=event_body(aggregate, "EVENT_UPDATED", aggregateType="EVENT", eventData={"i": i}),
        )
    page = (await client.get("/api/events", params={"aggregateId": aggregate, "size": 2, "page": 2})).json()
    assert (page["total"], page["page"], page["size"]) == (5, 2, 2)
    assert [e["version"] for e in page["items"]] == [3, 2]
    by_spelling = await client.get(
        "/api/events",
        params={"aggregateId": aggregate, "eventType": "event.updated", "aggregateType": "event"},
    )
    assert by_spelling.json()["total"] == 5
    assert (await client.get("/api/events", params={"size": 101})).status_code == 422
    bad_range = await client.get("/api/events", params={"fromDate": "2025-02-01", "toDate": "2025-01-01"})
    assert bad_range.status_code == 422


async def test_metrics_count_what_is_stored(client):
    aggregate = unique("SAGA")
    await client.post("/api/events", json=event_body(aggregate, "booking.confirmed", aggregateType="SAGA"))
    metrics = (await client.get("/api/metrics")).json()
    assert metrics["totalEvents"] == sum(metrics["eventsByType"].values())
    assert metrics["totalEvents"] == sum(metrics["eventsByAggregateType"].values())
    assert metrics["eventsByType"]["booking.confirmed"] >= 1
    assert metrics["aggregates"] >= 1
    assert metrics["lastEventAt"] is not None
    assert "snapshots" in metrics


async def test_reconstruct_folds_state_and_validates_the_version(client):
    aggregate = unique("PAYMENT")
    for event_type, data in [("payment.completed", {"id": "p", "amount": 10}), ("payment.refunded", {})]:
        await client.post(
            "/api/events", json=event_body(aggregate, event_type, aggregateType="PAYMENT", eventData=data)
        )
    at_one = (await client.get(f"/api/aggregates/{aggregate}/reconstruct", params={"toVersion": 1})).json()
    assert at_one["state"] == {"id": "p", "amount": 10, "status": "completed"}
    assert (at_one["version"], at_one["eventsApplied"], at_one["fromSnapshot"]) == (1, 1, None)
    beyond = (await client.get(f"/api/aggregates/{aggregate}/reconstruct", params={"toVersion": 99})).json()
    assert (beyond["version"], beyond["latestVersion"], beyond["state"]["status"]) == (2, 2, "refunded")
    latest = (await client.get(f"/api/aggregates/{aggregate}/reconstruct")).json()
    assert latest == beyond
    for bad in ("0", "-3", "x", str(10**30)):
        answer = await client.get(f"/api/aggregates/{aggregate}/reconstruct", params={"toVersion": bad})
        assert answer.status_code == 422
    assert (await client.get(f"/api/aggregates/{unique('NONE')}/reconstruct")).status_code == 404


async def test_racing_deliveries_of_one_event_id_append_once(client):
    aggregate = unique("RESERVATION")
    body = event_body(aggregate, eventId=unique("evt"))
    answers = await asyncio.gather(*(client.post("/api/events", json=body) for _ in range(10)))
    assert sorted(a.status_code for a in answers).count(201) == 1
    assert {a.json()["eventId"] for a in answers} == {body["eventId"]}
    assert {a.json()["version"] for a in answers} == {1}
    assert (await client.get(f"/api/aggregates/{aggregate}/history")).json()["count"] == 1


async def test_an_event_type_has_one_spelling_and_older_spellings_are_rewritten_once():
    settings = store_settings()
    aggregate = unique("RESERVATION")
    async with event_store(settings, clean=False) as (_, client):
        answer = await client.post("/api/events", json=event_body(aggregate, "RESERVATION_CREATED"))
        assert answer.status_code == 201
        assert answer.json()["eventType"] == "reservation.created"
    # An event an older version stored under the upper-case name, and a client's own type.
    db = mongo.make_client(settings.mongo_url)[settings.mongo_database]
    try:
        old = (await client_doc(db, aggregate)) | {"eventId": unique("old"), "version": 2}
        await db["events"].insert_many(
            [
                old | {"eventType": "RESERVATION_CONFIRMED"},
                old | {"eventType": "SeatsHeld", "eventId": unique("own"), "version": 3},
            ]
        )
        async with event_store(settings) as (_, client):
            stored = sorted(await db["events"].distinct("eventType", {"aggregateId": aggregate}))
            assert stored == ["SeatsHeld", "reservation.confirmed", "reservation.created"]
            for spelling in ("reservation.confirmed", "RESERVATION_CONFIRMED"):
                found = (await client.get(f"/api/events/type/{spelling}")).json()["events"]
                assert [(e["aggregateId"], e["eventType"]) for e in found] == [
                    (aggregate, "reservation.confirmed")
                ]
    finally:
        await db.client.close()


async def client_doc(db, aggregate: str) -> dict:
    doc = await db["events"].find_one({"aggregateId": aggregate}, projection={"_id": 0})
    assert doc is not None
    return doc
