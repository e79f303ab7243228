"""ES3: version consistency. A new event gets current + 1; an append whose expectedVersion
is not the current version is a 409 naming both; racing appends never leave a duplicate or
a missing version."""

import asyncio

import pytest

from tests.integration.event_store_service.helpers import event_body, event_store
from tests.support import unique


@pytest.fixture(scope="module")
async def store():
    async with event_store() as (app, client):
        yield app, client


async def stored_versions(app, aggregate: str) -> list[int]:
    cursor = app.state.database["events"].find({"aggregateId": aggregate}).sort("version", 1)
    return [doc["version"] async for doc in cursor]


async def test_a_stale_expected_version_is_409_with_both_versions(store):
    _, client = store
    aggregate = unique("RESERVATION")
    first = await client.post("/api/events", json=event_body(aggregate, expectedVersion=0))
    assert (first.status_code, first.json()["version"]) == (201, 1)
    second = await client.post("/api/events", json=event_body(aggregate, expectedVersion=1))
    assert second.json()["version"] == 2
    stale = await client.post("/api/events", json=event_body(aggregate, expectedVersion=1))
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert (stale.json()["expectedVersion"], stale.json()["currentVersion"]) == (1, 2)
    ahead = await client.post("/api/events", json=event_body(unique("NEW"), expectedVersion=3))
    assert (ahead.status_code, ahead.json()["currentVersion"]) == (409, 0)


async def test_twenty_racing_appends_with_one_expected_version_let_exactly_one_in(store):
    app, client = store
    aggregate = unique("EVENT")
    await client.post("/api/events", json=event_body(aggregate, aggregateType="EVENT", expectedVersion=0))
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/events",
                json=event_body(aggregate, aggregateType="EVENT", expectedVersion=1, eventData={"writer": n}),
            )
            for n in range(20)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 19
    for conflict in (a for a in answers if a.status_code == 409):
        assert conflict.json()["expectedVersion"] == 1
        assert conflict.json()["currentVersion"] == 2
    assert await stored_versions(app, aggregate) == [1, 2]


async def test_twenty_racing_appends_on_a_new_aggregate_let_exactly_one_in(store):
    app, client = store
    aggregate = unique("SAGA")
    answers = await asyncio.gather(
        *(
            client.post("/api/events", json=event_body(aggregate, aggregateType="SAGA", expectedVersion=0))
            for _ in range(20)
        )
    )
    assert sorted(a.status_code for a in answers) == [201] + [409] * 19
    assert await stored_versions(app, aggregate) == [1]


async def test_racing_appends_without_expected_version_are_gapless(store):
    app, client = store
    aggregate = unique("PAYMENT")
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/events", json=event_body(aggregate, aggregateType="PAYMENT", eventData={"n": n})
            )
            for n in range(30)
        )
    )
    assert {a.status_code for a in answers} == {201}
    assert sorted(a.json()["version"] for a in answers) == list(range(1, 31))
    assert await stored_versions(app, aggregate) == list(range(1, 31))
    stored_writers = sorted(
        [doc["eventData"]["n"] async for doc in app.state.database["events"].find({"aggregateId": aggregate})]
    )
    assert stored_writers == list(range(30)), "every append landed once"
