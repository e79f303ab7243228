"""The event's date is a business boundary of a booking: the saga's start refuses a started
event (409 naming eventDate, no saga, nothing booked), and a date that passes while a saga
waits ends it COMPENSATED at its first step with that reason, nothing booked or charged (the
real event service refuses the seats)."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from saga_orchestrator.app import create_app
from tests.integration.event_service.helpers import create_event, event_app
from tests.integration.saga_orchestrator.fakes import serve_fakes
from tests.integration.saga_orchestrator.helpers import booking, saga_settings, start, wait_for
from tests.support import running, serving


async def test_a_started_event_is_refused_at_the_start_naming_eventDate():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=5000)
        fakes.events[1]["eventDate"] = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        async with running(create_app(saga_settings(fakes.url))) as client:
            answer = await client.post("/api/saga/booking", json=booking(1))
            assert answer.status_code == 409, answer.text
            problem = answer.json()
            assert [e["field"] for e in problem["errors"]] == ["eventDate"]
            assert "started" in problem["detail"]
            assert (await client.get("/api/saga")).json()["total"] == 0
    assert "book" not in fakes.routes()


async def test_a_date_passing_while_the_saga_waits_ends_it_compensated_at_its_first_step():
    async with event_app() as events, serve_fakes() as fakes, serving(events.app) as events_url:
        event = await create_event(events.client, ticketPrice=5000)
        # Each step waits 1.5 s first: the date is moved into the past during that wait.
        settings = saga_settings(fakes.url, event_service_url=events_url, step_delay_ms=1500)
        async with running(create_app(settings)) as client:
            saga_id = await start(client, booking(event["id"]))
            async with events.app.state.engine.begin() as conn:
                await conn.execute(
                    sa.text("UPDATE events SET event_date = :d WHERE id = :id"),
                    {"d": datetime.now(UTC) - timedelta(minutes=1), "id": event["id"]},
                )
            saga = await wait_for(client, saga_id)
            assert saga["status"] == "COMPENSATED", saga
            assert "RESERVE_SEATS" in saga["error"] and "started" in saga["error"]
            assert [(s["name"], s["status"]) for s in saga["steps"]] == [("RESERVE_SEATS", "failed")]
        after = (await events.client.get(f"/api/events/{event['id']}")).json()
        assert after["bookedSeats"] == 0
    assert not {"create_reservation", "pay"} & set(fakes.routes())
