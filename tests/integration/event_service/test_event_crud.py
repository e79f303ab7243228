"""CRUD of events: 201 with Location, the version checked on PUT, no delete while seats are
booked, capped pages and filters."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.integration.event_service.helpers import create_event, event_body


async def test_create_answers_201_with_location_and_the_full_event(client):
    answer = await client.post("/api/events", json=event_body(eventDate="2031-12-25T20:00:00"))
    assert answer.status_code == 201
    event = answer.json()
    assert answer.headers["location"] == f"/api/events/{event['id']}"
    assert event["eventDate"] == "2031-12-25T20:00:00Z"  # no zone given: UTC
    assert event["bookedSeats"] == 0
    assert event["availableSeats"] == 95
    assert event["ticketPrice"] == "15000"  # money is a decimal string, in XOF's places
    assert event["version"] == 1
    fetched = await client.get(answer.headers["location"])
    assert fetched.status_code == 200
    assert fetched.json() == event
    assert fetched.headers["etag"] == '"1"'


async def test_snake_case_input_is_accepted(client):
    body = {
        "name": "Salon",
        "event_date": "2031-02-01T09:00:00+01:00",
        "location": "Thiès",
        "total_capacity": 40,
        "ticket_price": "2500.00",
    }
    answer = await client.post("/api/events", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["eventDate"] == "2031-02-01T08:00:00Z"
    assert Decimal(answer.json()["ticketPrice"]) == 2500


async def test_unknown_event_is_404(client):
    assert (await client.get("/api/events/999999")).status_code == 404
    assert (await client.put("/api/events/999999", json={"name": "x"})).status_code == 404
    assert (await client.delete("/api/events/999999")).status_code == 404
    assert (await client.get("/api/events/not-a-number")).status_code == 422


async def test_put_changes_fields_and_bumps_the_version(client):
    event = await create_event(client)
    answer = await client.put(f"/api/events/{event['id']}", json={"name": "Renamed", "version": 1})
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "Renamed"
    assert answer.json()["version"] == 2
    assert answer.json()["location"] == event["location"]


async def test_put_with_a_stale_version_is_409_and_changes_nothing(client):
    event = await create_event(client)
    url = f"/api/events/{event['id']}"
    assert (await client.put(url, json={"name": "First", "version": 1})).status_code == 200
    stale = await client.put(url, json={"name": "Second", "version": 1})
    assert stale.status_code == 409
    assert stale.json()["currentVersion"] == 2
    stale_header = await client.put(url, json={"name": "Third"}, headers={"If-Match": '"1"'})
    assert stale_header.status_code == 409
    assert (await client.get(url)).json()["name"] == "First"
    fresh = await client.put(url, json={"name": "Fourth"}, headers={"If-Match": '"2"'})
    assert fresh.status_code == 200
    assert fresh.json()["version"] == 3


async def test_put_refuses_a_capacity_below_the_booked_seats(client):
    event = await create_event(client, totalCapacity=100)
    url = f"/api/events/{event['id']}"
    assert (await client.post(f"{url}/book", json={"seats": 30})).status_code == 200
    answer = await client.put(url, json={"totalCapacity": 29})
    assert answer.status_code == 409
    assert answer.json()["errors"][0]["field"] == "totalCapacity"
    assert (await client.put(url, json={"totalCapacity": 30})).status_code == 200
    after = (await client.get(url)).json()
    assert after["totalCapacity"] == 30
    assert after["availableSeats"] == 0  # 30 - 30 - margin 2, floored at zero


async def test_put_cannot_set_booked_seats_or_id(client):
    event = await create_event(client)
    url = f"/api/events/{event['id']}"
    for field in ("bookedSeats", "id", "availableSeats"):
        answer = await client.put(url, json={field: 1})
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["field"] == field
    assert (await client.get(url)).json()["version"] == 1


async def test_delete_answers_204_then_the_event_is_gone(client):
    event = await create_event(client)
    url = f"/api/events/{event['id']}"
    assert (await client.delete(url)).status_code == 204
    assert (await client.get(url)).status_code == 404


async def test_delete_of_an_event_with_booked_seats_is_409(client):
    event = await create_event(client)
    url = f"/api/events/{event['id']}"
    await client.post(f"{url}/book", json={"seats": 2})
    answer = await client.delete(url)
    assert answer.status_code == 409
    assert answer.json()["bookedSeats"] == 2
    assert (await client.get(url)).status_code == 200
    await client.post(f"{url}/release", json={"seats": 2})
    assert (await client.delete(url)).status_code == 204


async def test_pages_are_capped_and_counted(client):
    location = "Ziguinchor-paging"
    for i in range(5):
        await create_event(client, location=location, name=f"E{i}", eventDate=f"2031-03-0{i + 1}T10:00:00Z")
    first = (await client.get("/api/events", params={"location": location, "size": 2})).json()
    assert first["total"] == 5
    assert (first["page"], first["size"]) == (1, 2)
    assert [e["name"] for e in first["items"]] == ["E0", "E1"]  # by date
    last = (await client.get("/api/events", params={"location": location, "size": 2, "page": 3})).json()
    assert [e["name"] for e in last["items"]] == ["E4"]
    for bad in ({"size": 101}, {"size": 0}, {"page": 0}):
        answer = await client.get("/api/events", params=bad)
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["field"] == f"query.{next(iter(bad))}"


async def test_filters_by_location_dates_and_availability(client):
    location = "Kaolack-filters"
    early = await create_event(client, location=location, eventDate="2031-04-01T10:00:00Z")
    late = await create_event(client, location=f"{location} Arena", eventDate="2031-09-01T10:00:00Z")
    full = await create_event(
        client, location=location, totalCapacity=1, eventDate="2031-04-02T10:00:00Z"
    )  # margin 1: never bookable
    by_location = (await client.get("/api/events", params={"location": "kaolack-FILTERS"})).json()
    assert {e["id"] for e in by_location["items"]} == {early["id"], late["id"], full["id"]}
    ranged = (
        await client.get(
            "/api/events",
            params={
                "location": location,
                "dateFrom": "2031-05-01T00:00:00Z",
                "dateTo": "2031-12-31T00:00:00Z",
            },
        )
    ).json()
    assert [e["id"] for e in ranged["items"]] == [late["id"]]
    available = (await client.get("/api/events", params={"location": location, "available": "true"})).json()
    assert full["id"] not in {e["id"] for e in available["items"]}
    assert {early["id"], late["id"]} <= {e["id"] for e in available["items"]}
    reversed_range = await client.get(
        "/api/events", params={"dateFrom": "2031-05-01T00:00:00Z", "dateTo": "2031-01-01T00:00:00Z"}
    )
    assert reversed_range.status_code == 422


async def test_available_lists_only_future_events_with_seats_for_sale(client, svc):
    bookable = await create_event(client, totalCapacity=21)  # margin 2: 19 for sale
    sold_out = await create_event(client, totalCapacity=21)
    await client.post(f"/api/events/{sold_out['id']}/book", json={"seats": 19})
    past = await create_event(client, totalCapacity=50)
    await _move_to_the_past(svc, past["id"])
    ids: set[int] = set()
    page = 1
    while True:
        answer = (await client.get("/api/events/available", params={"page": page, "size": 100})).json()
        ids |= {e["id"] for e in answer["items"]}
        assert all(e["availableSeats"] > 0 for e in answer["items"])
        if page * 100 >= answer["total"]:
            break
        page += 1
    assert bookable["id"] in ids
    assert sold_out["id"] not in ids
    assert past["id"] not in ids


async def _move_to_the_past(svc, event_id: int) -> None:
    import sqlalchemy as sa

    async with svc.app.state.engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE events SET event_date = :d WHERE id = :id"),
            {"d": datetime.now(UTC) - timedelta(days=1), "id": event_id},
        )


async def test_a_replayed_create_answers_the_first_event_and_creates_one(client):
    body = event_body(name="Replayed create")
    key = {"Idempotency-Key": "create-once"}
    first = await client.post("/api/events", json=body, headers=key)
    await client.put(first.headers["location"], json={"name": "Renamed since"})
    again = await client.post("/api/events", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # the first answer, not the event as it is now
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == '"1"'
    assert again.headers["idempotent-replayed"] == "true"
    listed = (await client.get("/api/events", params={"size": 100})).json()["items"]
    assert [e["id"] for e in listed if e["name"] in ("Replayed create", "Renamed since")] == [
        first.json()["id"]
    ]
