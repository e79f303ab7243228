"""ES1: an aggregate's history after a version, in ascending version order.

fromVersion is exclusive ("after a version"): ?fromVersion=3 answers versions 4, 5, ...;
fromVersion=0 answers the whole history. An aggregate without events is a 404.
"""

import pytest

from tests.integration.event_store_service.helpers import event_body, event_store
from tests.support import unique


@pytest.fixture(scope="module")
async def client():
    async with event_store() as (_, client):
        yield client


async def appended(client, count: int) -> str:
    """An aggregate with `count` events, versions 1 to count. Appended without an
    expectedVersion (one at a time, each gets current + 1), so ES3's check is not on the way."""
    aggregate = unique("RESERVATION")
    for n in range(1, count + 1):
        body = event_body(aggregate, "reservation.updated", eventData={"n": n})
        answer = await client.post("/api/events", json=body)
        assert answer.status_code == 201
        assert answer.json()["version"] == n
    return aggregate


async def test_history_after_a_version_is_ascending_and_exclusive(client):
    aggregate = await appended(client, 6)
    answer = await client.get(f"/api/aggregates/{aggregate}/history", params={"fromVersion": 3})
    assert answer.status_code == 200
    history = answer.json()
    assert [e["version"] for e in history["events"]] == [4, 5, 6]
    assert [e["eventData"]["n"] for e in history["events"]] == [4, 5, 6]
    assert (history["fromVersion"], history["currentVersion"], history["count"]) == (3, 6, 3)
    assert history["aggregateType"] == "RESERVATION"


async def test_history_from_zero_is_everything_and_from_the_last_version_is_empty(client):
    aggregate = await appended(client, 4)
    url = f"/api/aggregates/{aggregate}/history"
    assert [e["version"] for e in (await client.get(url)).json()["events"]] == [1, 2, 3, 4]
    assert (await client.get(url, params={"fromVersion": 4})).json()["events"] == []
    assert (await client.get(url, params={"fromVersion": 40})).json()["events"] == []


async def test_history_pages_by_version(client):
    aggregate = await appended(client, 5)
    url = f"/api/aggregates/{aggregate}/history"
    first = (await client.get(url, params={"limit": 2})).json()["events"]
    rest = (await client.get(url, params={"fromVersion": first[-1]["version"], "limit": 2})).json()["events"]
    assert [e["version"] for e in first + rest] == [1, 2, 3, 4]


async def test_an_unknown_aggregate_is_404_and_bad_versions_are_422(client):
    unknown = await client.get(f"/api/aggregates/{unique('NOPE')}/history")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    aggregate = await appended(client, 1)
    for params in ({"fromVersion": -1}, {"fromVersion": "one"}, {"limit": 0}, {"limit": 1001}):
        answer = await client.get(f"/api/aggregates/{aggregate}/history", params=params)
        assert answer.status_code == 422, params
