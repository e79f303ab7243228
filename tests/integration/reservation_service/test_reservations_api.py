"""Reservation service on the real MongoDB-wire engine (saga reservations: no seat booking)."""

import json

import aio_pika

from tests.integration.reservation_service.harness import create_event, reservation_body
from tests.support import AMQP_URL, eventually, unique


async def saga_reservation(client, event_url, **kwargs):
    event = kwargs.pop("event", None) or await create_event(event_url)
    answer = await client.post(
        "/api/reservations", json=reservation_body(event["id"], saga_id=unique("saga"), **kwargs)
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_a_saga_reservation_is_pending_priced_by_the_event_and_located(client, event_url):
    event = await create_event(event_url, price="1250")
    answer = await client.post(
        "/api/reservations", json=reservation_body(event["id"], seats=3, saga_id="s-1")
    )
    assert answer.status_code == 201
    body = answer.json()
    assert answer.headers["location"] == f"/api/reservations/{body['id']}"
    assert body["status"] == "pending" and body["version"] == 1 and body["sagaId"] == "s-1"
    assert body["bookingDetails"] == {"seats": 3, "totalAmount": "3750", "currency": "XOF"}
    assert body["seatHold"] is None
    assert [e["status"] for e in body["timeline"]] == ["pending"]
    assert "outbox" not in body
    assert (await client.get(f"/api/reservations/{body['id']}")).json() == body


async def test_a_saga_states_the_price_it_charges_and_the_reservation_records_it(client, event_url):
    event = await create_event(event_url, price="1250")
    body = reservation_body(event["id"], seats=2, saga_id=unique("saga"))
    body["bookingDetails"]["ticketPrice"] = 1025  # what the saga checked and charges
    answer = await client.post("/api/reservations", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["bookingDetails"] == {"seats": 2, "totalAmount": "2050", "currency": "XOF"}


async def test_only_a_saga_may_state_the_price(client, event_url):
    event = await create_event(event_url, price="1250")
    body = reservation_body(event["id"], seats=2)
    body["bookingDetails"]["ticketPrice"] = 0
    answer = await client.post("/api/reservations", json=body)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in answer.json()["errors"]] == ["bookingDetails.ticketPrice"]
    assert (await client.get("/api/reservations", params={"userId": body["userId"]})).json()["total"] == 0


async def test_legal_transitions_pass_and_illegal_ones_are_409(client, event_url):
    r = await saga_reservation(client, event_url)
    confirmed = await client.put(f"/api/reservations/{r['id']}/status", json={"status": "confirmed"})
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    back = await client.put(f"/api/reservations/{r['id']}/status", json={"status": "pending"})
    assert back.status_code == 409
    assert back.json()["currentStatus"] == "confirmed"
    refunded = await client.put(f"/api/reservations/{r['id']}/status", json={"status": "refunded"})
    assert refunded.status_code == 200
    cancel = await client.post(f"/api/reservations/{r['id']}/cancel", json={"reason": "too late"})
    assert cancel.status_code == 409  # refunded is final
    body = (await client.get(f"/api/reservations/{r['id']}")).json()
    assert [e["status"] for e in body["timeline"]] == ["pending", "confirmed", "refunded"]


async def test_the_same_status_again_is_a_no_op(client, event_url):
    r = await saga_reservation(client, event_url)
    first = await client.put(f"/api/reservations/{r['id']}/status", json={"status": "confirmed"})
    again = await client.put(f"/api/reservations/{r['id']}/status", json={"status": "confirmed"})
    assert again.status_code == 200
    assert again.json()["version"] == first.json()["version"]


async def test_a_stale_version_is_refused_with_409(client, event_url):
    r = await saga_reservation(client, event_url)
    ok = await client.put(f"/api/reservations/{r['id']}/status", json={"status": "confirmed", "version": 1})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = await client.put(
        f"/api/reservations/{r['id']}/status", json={"status": "cancelled", "version": 1}
    )
    assert stale.status_code == 409
    assert stale.json()["expectedVersion"] == 1 and stale.json()["currentVersion"] == 2
    stale_header = await client.post(f"/api/reservations/{r['id']}/cancel", headers={"If-Match": '"1"'})
    assert stale_header.status_code == 409
    fresh = await client.post(f"/api/reservations/{r['id']}/cancel", headers={"If-Match": '"2"'})
    assert fresh.status_code == 200 and fresh.json()["status"] == "cancelled"
    assert (await client.get(f"/api/reservations/{r['id']}")).json()["version"] == 3


async def test_compensate_is_idempotent(client, event_url):
    r = await saga_reservation(client, event_url)
    first = await client.post(f"/api/reservations/{r['id']}/compensate", json={"reason": "payment declined"})
    again = await client.post(f"/api/reservations/{r['id']}/compensate", json={"reason": "payment declined"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["status"] == "cancelled"
    last = first.json()["timeline"][-1]
    assert last["reason"] == "payment declined" and last["updatedBy"] == "saga"
    no_body = await client.post(f"/api/reservations/{r['id']}/compensate")
    assert no_body.status_code == 200


async def test_bad_input_is_a_422_problem_and_bad_ids_404(client, event_url):
    event = await create_event(event_url)
    for seats in ("2", 2.5, 0, -1, None):
        body = reservation_body(event["id"], saga_id=unique("s"))
        body["bookingDetails"]["seats"] = seats
        answer = await client.post("/api/reservations", json=body)
        assert answer.status_code == 422, seats
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert any(e["field"] == "bookingDetails.seats" for e in answer.json()["errors"])
    body = reservation_body(event["id"], saga_id=unique("s"))
    body["userDetails"]["email"] = "not-an-email"
    assert (await client.post("/api/reservations", json=body)).status_code == 422
    extra = reservation_body(event["id"], saga_id=unique("s"), status="confirmed")
    assert (await client.post("/api/reservations", json=extra)).status_code == 422
    for metadata in ({"$where": 1}, {"a.b": 1}, {"deep": {"$set": {"status": "confirmed"}}}, {"n": 2**70}):
        body = reservation_body(event["id"], saga_id=unique("s"), metadata=metadata)
        assert (await client.post("/api/reservations", json=body)).status_code == 422, metadata
    huge = reservation_body(2**70, saga_id=unique("s"))
    assert (await client.post("/api/reservations", json=huge)).status_code == 422
    assert (await client.get("/api/reservations", params={"eventId": 2**70})).status_code == 422
    for bad in ("nope", "0123456789abcdef01234567", "%24where"):
        assert (await client.get(f"/api/reservations/{bad}")).status_code == 404
        answer = await client.put(f"/api/reservations/{bad}/status", json={"status": "confirmed"})
        assert answer.status_code == 404
    wrong = await client.put("/api/reservations/x/status", json={"status": "shipped"})
    assert wrong.status_code == 422


async def test_same_idempotency_key_gives_the_same_reservation(client, event_url):
    event = await create_event(event_url)
    body = reservation_body(event["id"], saga_id=unique("s"))
    key = {"Idempotency-Key": unique("key")}
    first = await client.post("/api/reservations", json=body, headers=key)
    again = await client.post("/api/reservations", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = await client.post("/api/reservations", json={**body, "userId": "someone-else"}, headers=key)
    assert other.status_code == 422


async def test_a_saga_creates_one_reservation_even_without_a_key(client, event_url):
    event = await create_event(event_url)
    body = reservation_body(event["id"], saga_id=unique("s"))
    first = await client.post("/api/reservations", json=body)
    again = await client.post("/api/reservations", json=body)
    assert first.json()["id"] == again.json()["id"]


async def test_lists_filter_and_page(client, event_url):
    event = await create_event(event_url)
    user = unique("user")
    made = [await saga_reservation(client, event_url, event=event, userId=user) for _ in range(3)]
    await client.put(f"/api/reservations/{made[0]['id']}/status", json={"status": "confirmed"})
    page = (await client.get("/api/reservations", params={"eventId": event["id"], "size": 2})).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["size"] == 2
    confirmed = await client.get("/api/reservations", params={"eventId": event["id"], "status": "confirmed"})
    assert [r["id"] for r in confirmed.json()["items"]] == [made[0]["id"]]
    by_user = (await client.get(f"/api/reservations/user/{user}")).json()
    assert {r["id"] for r in by_user["items"]} == {r["id"] for r in made}
    by_event = (
        await client.get(f"/api/reservations/event/{event['id']}", params={"page": 2, "size": 2})
    ).json()
    assert by_event["total"] == 3 and len(by_event["items"]) == 1
    assert (await client.get("/api/reservations/event/abc")).status_code == 422
    assert (await client.get("/api/reservations", params={"status": "lost"})).status_code == 422


async def test_status_changes_are_published_through_the_outbox(app, client, event_url):
    connection = await aio_pika.connect_robust(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            app.state.settings.amqp_exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="reservation.*")
        r = await saga_reservation(client, event_url)
        await client.put(f"/api/reservations/{r['id']}/status", json={"status": "confirmed"})
        received: list[dict] = []

        async def both_seen():
            message = await queue.get(fail=False, no_ack=True)
            if message is not None:
                envelope = json.loads(message.body)
                if envelope["aggregateId"] == r["id"]:
                    received.append(envelope)
            return len(received) >= 2

        await eventually(both_seen)
    created, confirmed = received
    assert created["type"] == "reservation.created" and confirmed["type"] == "reservation.confirmed"
    assert created["aggregateType"] == "RESERVATION"
    assert created["data"] == as_message(r)
    assert confirmed["data"]["status"] == "confirmed" and confirmed["data"]["version"] == 2
    assert confirmed["data"] == as_message((await client.get(f"/api/reservations/{r['id']}")).json())

    async def outbox_empty():
        doc = await app.state.store.reservations.find_one({"sagaId": r["sagaId"]})
        return doc["outbox"] == []

    await eventually(outbox_empty)


def as_message(reservation: dict) -> dict:
    """The reservation as its messages carry it: the REST answer, its total one Money object."""
    details = reservation["bookingDetails"]
    money = {"amount": details["totalAmount"], "currency": details["currency"]}
    return {**reservation, "bookingDetails": {**details, "totalAmount": money}}
