"""ES2: events of one type within a time range, newest first, limited.

Both ends of [fromDate, toDate] are inclusive; a date without zone is UTC; fromDate after
toDate is a 422; limit defaults to 100 and above 1000 is a 422 (not silently clamped).
"""

import pytest

from tests.integration.event_store_service.helpers import event_body, event_store
from tests.support import unique


@pytest.fixture(scope="module")
async def client():
    async with event_store() as (_, client):
        yield client


async def record(client, event_type: str, at: str, aggregate: str | None = None) -> dict:
    body = event_body(aggregate or unique("PAYMENT"), event_type, aggregateType="PAYMENT", occurredAt=at)
    answer = await client.post("/api/events", json=body)
    assert answer.status_code == 201
    return answer.json()


async def test_events_of_a_type_in_a_range_come_newest_first(client):
    event_type = f"payment.{unique('tested')}"
    days = ["2025-03-01T10:00:00Z", "2025-03-02T10:00:00Z", "2025-03-03T10:00:00", "2025-03-04T10:00:00Z"]
    for day in days:
        await record(client, event_type, day)
    await record(client, f"payment.{unique('other')}", "2025-03-02T12:00:00Z")

    answer = await client.get(
        f"/api/events/type/{event_type}",
        params={"fromDate": "2025-03-02T10:00:00Z", "toDate": "2025-03-03T10:00:00+00:00"},
    )
    assert answer.status_code == 200
    found = answer.json()
    assert [e["occurredAt"][:10] for e in found["events"]] == ["2025-03-03", "2025-03-02"]
    assert {e["eventType"] for e in found["events"]} == {event_type}
    assert (found["count"], found["limit"]) == (2, 100)

    everything = (await client.get(f"/api/events/type/{event_type}")).json()["events"]
    assert [e["occurredAt"][:10] for e in everything] == [
        "2025-03-04",
        "2025-03-03",
        "2025-03-02",
        "2025-03-01",
    ]
    limited = (await client.get(f"/api/events/type/{event_type}", params={"limit": 1})).json()["events"]
    assert [e["occurredAt"][:10] for e in limited] == ["2025-03-04"]
    since = (await client.get(f"/api/events/type/{event_type}", params={"fromDate": "2025-03-04"})).json()
    assert since["count"] == 1


async def test_the_type_matches_as_routing_key_or_upper_case_name(client):
    name = unique("spelt")
    await record(client, f"payment.{name}", "2025-04-01T00:00:00Z")
    await record(client, f"PAYMENT_{name.upper()}", "2025-04-02T00:00:00Z")
    for spelling in (f"payment.{name}", f"PAYMENT_{name.upper()}"):
        assert (await client.get(f"/api/events/type/{spelling}")).json()["count"] == 2


@pytest.mark.parametrize(
    "params",
    [
        {"fromDate": "2025-03-05", "toDate": "2025-03-01"},
        {"fromDate": "not-a-date"},
        {"toDate": "2025-13-45"},
        {"limit": 1001},
        {"limit": 0},
        {"limit": "many"},
    ],
)
async def test_bad_ranges_and_limits_are_422(client, params):
    answer = await client.get("/api/events/type/payment.completed", params=params)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"]
