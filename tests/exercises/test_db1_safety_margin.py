"""DB1: a booking needs seats > 0 and leaves ceil(5 %) of the capacity free; availableSeats in
every answer follows that rule.

The first test asks the domain's rule itself; the others go through the endpoint, whose body
check is REST1's."""

import pytest

from event_service import domain
from tests.integration.event_service.helpers import create_event, event_app


@pytest.fixture(scope="module")
async def client():
    async with event_app() as svc:
        yield svc.client


def test_the_rule_sells_up_to_the_margin_and_no_further():
    assert domain.book(capacity=100, booked=0, seats=95) == 95
    assert domain.book(capacity=100, booked=90, seats=5) == 95
    assert domain.book(capacity=21, booked=0, seats=19) == 19  # ceil(5 % of 21) = 2 kept free
    with pytest.raises(domain.SeatsUnavailable):
        domain.book(capacity=100, booked=95, seats=1)
    with pytest.raises(domain.SeatsUnavailable):
        domain.book(capacity=21, booked=0, seats=20)
    with pytest.raises(domain.SeatsUnavailable):
        domain.book(capacity=1, booked=0, seats=1)
    with pytest.raises(domain.InvalidSeats):
        domain.book(capacity=100, booked=0, seats=0)


async def test_a_hundred_seat_event_sells_95_and_refuses_the_96th(client):
    event = await create_event(client, totalCapacity=100)
    assert event["availableSeats"] == 95
    base = f"/api/events/{event['id']}"
    assert (await client.post(f"{base}/book", json={"seats": 95})).status_code == 200
    refused = await client.post(f"{base}/book", json={"seats": 1})
    assert refused.status_code == 409
    after = (await client.get(base)).json()
    assert (after["bookedSeats"], after["availableSeats"]) == (95, 0)


@pytest.mark.parametrize(("capacity", "available"), [(1, 0), (20, 19), (21, 19), (41, 38), (101, 95)])
async def test_available_seats_is_capacity_minus_booked_minus_margin(client, capacity, available):
    event = await create_event(client, totalCapacity=capacity)
    assert event["availableSeats"] == available
    listed = (await client.get("/api/events", params={"size": 100, "location": event["location"]})).json()
    assert all(e["availableSeats"] >= 0 for e in listed["items"])


async def test_a_one_seat_event_can_never_be_booked(client):
    event = await create_event(client, totalCapacity=1)
    refused = await client.post(f"/api/events/{event['id']}/book", json={"seats": 1})
    assert refused.status_code == 409
    assert refused.json()["detail"] == "Could not book seats. Not enough availability."


async def test_zero_seats_are_refused(client):
    event = await create_event(client)
    assert (await client.post(f"/api/events/{event['id']}/book", json={"seats": 0})).status_code == 400


def test_a_release_gives_back_no_more_than_was_booked():
    # Level 2's half of DB1 (a saga's compensation releases seats through it).
    assert domain.release(booked=10, seats=4) == 6
    assert domain.release(booked=10, seats=10) == 0
    with pytest.raises(domain.SeatsNotBooked):
        domain.release(booked=10, seats=11)
    with pytest.raises(domain.InvalidSeats):
        domain.release(booked=10, seats=0)
