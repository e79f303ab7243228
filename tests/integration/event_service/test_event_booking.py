"""Book and release: idempotent per Idempotency-Key (replayed answer, 422 on another body), a
retried release applied once, never below zero, still possible after the event's date."""

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tests.integration.event_service.helpers import create_event


async def _booked(client, event_id: int) -> int:
    seats: int = (await client.get(f"/api/events/{event_id}")).json()["bookedSeats"]
    return seats


async def test_a_replayed_booking_answers_the_same_and_books_once(client):
    event = await create_event(client)
    url = f"/api/events/{event['id']}/book"
    first = await client.post(url, json={"seats": 3}, headers={"Idempotency-Key": "saga-1:RESERVE_SEATS"})
    again = await client.post(url, json={"seats": 3}, headers={"Idempotency-Key": "saga-1:RESERVE_SEATS"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await _booked(client, event["id"]) == 3


async def test_the_same_key_with_another_body_is_422_and_changes_nothing(client):
    event = await create_event(client)
    url = f"/api/events/{event['id']}/book"
    await client.post(url, json={"seats": 3}, headers={"Idempotency-Key": "k-reuse"})
    reused = await client.post(url, json={"seats": 4}, headers={"Idempotency-Key": "k-reuse"})
    assert reused.status_code == 422
    assert reused.json()["errors"][0]["field"] == "Idempotency-Key"
    other = await create_event(client)
    elsewhere = await client.post(
        f"/api/events/{other['id']}/book", json={"seats": 3}, headers={"Idempotency-Key": "k-reuse"}
    )
    assert elsewhere.status_code == 422
    assert await _booked(client, event["id"]) == 3
    assert await _booked(client, other["id"]) == 0


async def test_concurrent_twins_with_one_key_book_once(client):
    event = await create_event(client)
    url = f"/api/events/{event['id']}/book"
    answers = await asyncio.gather(
        *(client.post(url, json={"seats": 2}, headers={"Idempotency-Key": "twin"}) for _ in range(10))
    )
    assert {a.status_code for a in answers} == {200}
    assert await _booked(client, event["id"]) == 2


async def test_a_release_retried_twice_releases_once(client):
    event = await create_event(client)
    base = f"/api/events/{event['id']}"
    await client.post(f"{base}/book", json={"seats": 5})
    key = {"Idempotency-Key": "saga-2:RELEASE_SEATS"}
    first = await client.post(f"{base}/release", json={"seats": 2}, headers=key)
    second = await client.post(f"{base}/release", json={"seats": 2}, headers=key)
    assert first.status_code == second.status_code == 200
    assert first.json() == {
        "success": True,
        "message": "Successfully released 2 seats",
        "eventId": event["id"],
        "seatsReleased": 2,
    }
    assert second.json() == first.json()
    assert await _booked(client, event["id"]) == 3


async def test_a_release_never_goes_below_zero(client):
    event = await create_event(client)
    base = f"/api/events/{event['id']}"
    await client.post(f"{base}/book", json={"seats": 2})
    too_many = await client.post(f"{base}/release", json={"seats": 3})
    assert too_many.status_code == 409
    assert too_many.json()["success"] is False
    assert await _booked(client, event["id"]) == 2
    assert (await client.post(f"{base}/release", json={"seats": 2})).status_code == 200
    assert (await client.post(f"{base}/release", json={"seats": 1})).status_code == 409
    assert await _booked(client, event["id"]) == 0


async def test_without_a_key_book_and_release_still_work(client):
    event = await create_event(client)
    base = f"/api/events/{event['id']}"
    assert (await client.post(f"{base}/book", json={"seats": 1})).status_code == 200
    assert (await client.post(f"{base}/book", json={"seats": 1})).status_code == 200
    assert await _booked(client, event["id"]) == 2
    assert (await client.post(f"{base}/release", json={"seats": 1})).status_code == 200
    assert await _booked(client, event["id"]) == 1


async def test_a_compensation_still_works_after_the_event_date(client, svc):
    event = await create_event(client)
    base = f"/api/events/{event['id']}"
    await client.post(f"{base}/book", json={"seats": 4})
    async with svc.app.state.engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE events SET event_date = :d WHERE id = :id"),
            {"d": datetime.now(UTC) - timedelta(hours=1), "id": event["id"]},
        )
    answer = await client.post(f"{base}/release", json={"seats": 4}, headers={"Idempotency-Key": "late"})
    assert answer.status_code == 200
    assert await _booked(client, event["id"]) == 0


async def test_the_check_constraint_refuses_an_oversold_row(svc, client):
    event = await create_event(client, totalCapacity=10)
    async with svc.app.state.engine.connect() as conn:
        for bad in (11, -1):
            try:
                await conn.execute(
                    sa.text("UPDATE events SET booked_seats = :b WHERE id = :id"),
                    {"b": bad, "id": event["id"]},
                )
            except sa.exc.IntegrityError as exc:
                assert "ck_events_booked_within_capacity" in str(exc)
                await conn.rollback()
            else:
                raise AssertionError(f"booked_seats={bad} was accepted")


async def test_booking_a_started_event_is_a_409_naming_eventDate_and_its_date_is_then_fixed(client, svc):
    event = await create_event(client)
    base = f"/api/events/{event['id']}"
    assert (await client.post(f"{base}/book", json={"seats": 2})).status_code == 200
    async with svc.app.state.engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE events SET event_date = :d WHERE id = :id"),
            {"d": datetime.now(UTC) - timedelta(minutes=1), "id": event["id"]},
        )
    answer = await client.post(f"{base}/book", json={"seats": 1}, headers={"Idempotency-Key": "late-book"})
    assert answer.status_code == 409, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["eventDate"]
    assert await _booked(client, event["id"]) == 2
    later = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    moved = await client.put(base, json={"eventDate": later})
    assert moved.status_code == 409, moved.text
    assert [e["field"] for e in moved.json()["errors"]] == ["eventDate"]
