"""REST1: POST /api/events/{id}/book answers 200 {success, message, eventId, seatsBooked}, 400
on bad seats, 409 when seats run out, 404 for an unknown event."""

import pytest

from tests.integration.event_service.helpers import create_event, event_app


@pytest.fixture(scope="module")
async def client():
    async with event_app() as svc:
        yield svc.client


async def test_a_booking_answers_the_course_shape(client):
    event = await create_event(client)
    answer = await client.post(f"/api/events/{event['id']}/book", json={"seats": 2})
    assert answer.status_code == 200
    assert answer.json() == {
        "success": True,
        "message": "Successfully booked 2 seats",
        "eventId": event["id"],
        "seatsBooked": 2,
    }


@pytest.mark.parametrize(
    "body", [{"seats": 0}, {"seats": -1}, {"seats": 1.5}, {"seats": "two"}, {"seats": "2"}, {}]
)
async def test_bad_seats_are_400_naming_the_field(client, body):
    event = await create_event(client)
    answer = await client.post(f"/api/events/{event['id']}/book", json=body)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["detail"] == "Invalid number of seats"
    assert problem["errors"][0]["field"] == "seats"
    assert problem["success"] is False
    assert (await client.get(f"/api/events/{event['id']}")).json()["bookedSeats"] == 0


async def test_an_empty_body_is_400(client):
    event = await create_event(client)
    answer = await client.post(f"/api/events/{event['id']}/book")
    assert answer.status_code == 400


async def test_not_enough_seats_is_409_with_success_false(client):
    event = await create_event(client, totalCapacity=10)  # 9 bookable
    answer = await client.post(f"/api/events/{event['id']}/book", json={"seats": 10})
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == "Could not book seats. Not enough availability."
    assert answer.json()["success"] is False


async def test_an_unknown_event_is_404(client):
    assert (await client.post("/api/events/987654321/book", json={"seats": 1})).status_code == 404


async def test_release_has_the_same_shapes(client):
    event = await create_event(client)
    base = f"/api/events/{event['id']}"
    await client.post(f"{base}/book", json={"seats": 3})
    answer = await client.post(f"{base}/release", json={"seats": 3})
    assert answer.status_code == 200
    assert answer.json()["message"] == "Successfully released 3 seats"
    assert answer.json()["success"] is True
    bad = await client.post(f"{base}/release", json={"seats": 0})
    assert bad.status_code == 400
    assert bad.json()["detail"] == "Invalid number of seats"
