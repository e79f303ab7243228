"""Bad input is a 422 problem+json naming each bad field, and never changes stored data."""

import pytest

from tests.integration.event_service.helpers import event_body

CASES = [
    ({"name": "   "}, "name"),
    ({"name": ""}, "name"),
    ({"eventDate": "2020-01-01T10:00:00Z"}, "eventDate"),
    ({"eventDate": "not a date"}, "eventDate"),
    ({"totalCapacity": 0}, "totalCapacity"),
    ({"totalCapacity": -5}, "totalCapacity"),
    ({"totalCapacity": "100"}, "totalCapacity"),
    ({"totalCapacity": 10.5}, "totalCapacity"),
    ({"ticketPrice": -1}, "ticketPrice"),
    ({"ticketPrice": 1e13}, "ticketPrice"),
    ({"ticketPrice": "12.345"}, "ticketPrice"),
    ({"ticketPrice": 15000.55}, "ticketPrice"),  # XOF has no minor unit (ISO 4217)
    ({"ticketPrice": "15000.5"}, "ticketPrice"),
    ({"ticketPrice": "abc"}, "ticketPrice"),
    ({"location": ""}, "location"),
    ({"id": 7}, "id"),
    ({"version": 3}, "version"),
    ({"bookedSeats": 10}, "bookedSeats"),
    ({"availableSeats": 10}, "availableSeats"),
]


@pytest.mark.parametrize(("change", "field"), CASES, ids=[f"{f}={v}" for (c, f) in CASES for v in c.values()])
async def test_a_bad_field_is_a_422_naming_it(client, change, field):
    before = (await client.get("/api/events", params={"size": 1})).json()["total"]
    answer = await client.post("/api/events", json=event_body(**change))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in answer.json()["errors"]]
    assert (await client.get("/api/events", params={"size": 1})).json()["total"] == before


@pytest.mark.parametrize("missing", ["name", "eventDate", "location", "totalCapacity", "ticketPrice"])
async def test_a_missing_required_field_is_named(client, missing):
    body = event_body()
    del body[missing]
    answer = await client.post("/api/events", json=body)
    assert answer.status_code == 422
    assert missing in [e["field"] for e in answer.json()["errors"]]


async def test_a_body_that_is_not_json_is_422_not_500(client):
    answer = await client.post("/api/events", content=b"{oops", headers={"content-type": "application/json"})
    assert answer.status_code == 422


async def test_a_put_cannot_move_an_event_into_the_past(client):
    created = (await client.post("/api/events", json=event_body())).json()
    answer = await client.put(f"/api/events/{created['id']}", json={"eventDate": "2021-01-01T00:00:00Z"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "eventDate"
    answer = await client.put(f"/api/events/{created['id']}", json={"name": None})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "name"
    bad_if_match = await client.put(f"/api/events/{created['id']}", json={}, headers={"If-Match": "abc"})
    assert bad_if_match.status_code == 400
    assert bad_if_match.json()["errors"][0]["field"] == "If-Match"
