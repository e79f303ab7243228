"""The console against stand-in services (and the real RabbitMQ management API): each panel
renders its source, user strings are escaped, a source down is named and recovers, nothing is
read while no page is open, open pages share one poller per source, the booking form's POST
reaches the orchestrator unchanged."""

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

import httpx

from console.app import create_app
from tests.integration.console.fakes import Sources, saga, serve_sources, step
from tests.support import eventually, serving

Panels = dict[str, str]
SCRIPT = "<script>alert('owned')</script>"


async def read_stream(url: str, done: Callable[[Panels], bool], timeout: float = 15) -> Panels:
    """The stream's panels (topic -> last HTML) once `done` holds for them."""
    panels: Panels = {}

    async def read() -> Panels:
        async with (
            httpx.AsyncClient(timeout=None) as client,
            client.stream("GET", url) as answer,
        ):
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            topic, data = None, []
            async for line in answer.aiter_lines():
                if line.startswith("event: "):
                    topic = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data.append(line.removeprefix("data: "))
                elif line == "" and topic is not None:
                    panels[topic] = "\n".join(data)
                    topic, data = None, []
                    if done(panels):
                        return panels
        raise AssertionError("stream ended")

    try:
        return await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        raise AssertionError(f"stream never showed what was expected; last panels: {panels}") from None


async def _get(url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url, **kwargs)


async def _post(url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(url, **kwargs)


def _fill(sources: Sources) -> None:
    sources.sagas = [
        # A step in progress: its duration grows, so its panel changes at every round.
        saga(
            "s-running",
            "RUNNING",
            [step("RESERVE_SEATS"), step("CREATE_RESERVATION", "started", startedAt="2020-01-01T00:00:00Z")],
        ),
        saga(
            "s-declined",
            "COMPENSATED",
            [
                step("RESERVE_SEATS"),
                step("CREATE_RESERVATION"),
                step("PROCESS_PAYMENT", "failed", error=f"declined {SCRIPT}"),
                step("CANCEL_RESERVATION", kind="compensation"),
                step("RELEASE_SEATS", kind="compensation"),
            ],
            error=f"payment declined {SCRIPT}",
            userId=SCRIPT,
        ),
    ]
    sources.events = [
        {
            "id": 1,
            "name": f"Concert {SCRIPT}",
            "location": "Dakar",
            "totalCapacity": 100,
            "bookedSeats": 10,
            "availableSeats": 85,
            "ticketPrice": 5000,
        },
        {
            "id": 2,
            "name": "Théâtre",
            "location": "Thiès",
            "totalCapacity": 200,
            "bookedSeats": 0,
            "availableSeats": 190,
            "ticketPrice": 3000,
        },
    ]
    sources.analytics = {1: {"eventId": 1, "bookedSeats": 8, "availableSeats": 87}}
    sources.recorded = [
        {
            "eventId": f"m{v}",
            "aggregateId": "r-1",
            "aggregateType": "RESERVATION",
            "eventType": t,
            "eventData": {"status": s},
            "version": v,
            "occurredAt": f"2030-01-01T10:00:0{v}Z",
        }
        for v, t, s in ((2, "reservation.confirmed", "confirmed"), (1, "reservation.created", "pending"))
    ]


async def test_each_panel_renders_its_source_and_escapes_what_it_shows():
    async with serve_sources() as sources:
        _fill(sources)
        sources.delay_ms = 1500
        async with serving(create_app(sources.settings())) as console:
            page = await _get(console)
            panels = await read_stream(
                f"{console}/stream", lambda p: {"sagas", "seats", "messages", "slow", "aggregates"} <= set(p)
            )
    assert page.status_code == 200 and 'id="sagas-body"' in page.text
    # Nothing of the page comes from elsewhere.
    assert "http://" not in page.text and "https://" not in page.text
    sagas = panels["sagas"]
    assert 'data-saga-id="s-running" data-status="RUNNING"' in sagas
    assert 'data-step="CREATE_RESERVATION" data-kind="step" data-status="started"' in sagas
    assert sagas.count('data-kind="compensation"') == 2
    assert 'class="step compensation st-succeeded" data-step="CANCEL_RESERVATION"' in sagas
    assert "payment declined &lt;script&gt;" in sagas
    assert "slow motion on: 1500 ms" in panels["slow"]
    seats = panels["seats"]
    assert 'data-event-id="1" data-booked="10" data-available="85"' in seats
    assert 'data-analytics-booked="8" data-diff="-2"' in seats
    assert "not in the read model yet" in seats  # event 2 has no analytics document
    assert "Concert &lt;script&gt;" in seats
    assert "reservation.created: 1" in panels["messages"] and 'data-aggregate="r-1"' in panels["messages"]
    assert "not declared yet" in panels["messages"]  # this test's exchange does not exist
    assert 'value="r-1"' in panels["aggregates"]
    for html in panels.values():
        assert "<script" not in html


async def test_a_saga_type_is_shown_when_the_orchestrator_gives_one():
    async with serve_sources() as sources:
        sources.sagas = [saga("s-cancel", "COMPLETED", [step("RELEASE_SEATS")], type="CANCELLATION")]
        async with serving(create_app(sources.settings())) as console:
            panels = await read_stream(f"{console}/stream", lambda p: "sagas" in p)
    assert "<th>type</th>" in panels["sagas"] and '<td class="type">CANCELLATION</td>' in panels["sagas"]


async def test_the_status_filter_and_paging_choose_the_sagas():
    async with serve_sources() as sources:
        sources.sagas = [saga(f"s-{i:02d}", "COMPLETED" if i % 2 else "COMPENSATED", []) for i in range(45)]
        async with serving(create_app(sources.settings(sagas_per_page=20))) as console:
            done = await read_stream(f"{console}/stream?status=COMPLETED&page=2", lambda p: "sagas" in p)
    assert 'data-page="2" data-pages="2" data-total="22"' in done["sagas"]
    assert 'data-status="COMPENSATED"' not in done["sagas"]


async def test_every_source_down_is_named_and_the_console_still_serves():
    closed = "http://127.0.0.1:9"
    async with serve_sources() as sources:
        settings = sources.settings(
            saga_url=closed,
            event_service_url=closed,
            event_store_url=closed,
            rabbitmq_api_url=f"{closed}/api",
        )
        async with serving(create_app(settings)) as console:
            assert (await _get(console)).status_code == 200
            panels = await read_stream(
                f"{console}/stream", lambda p: {"sagas", "seats", "messages"} <= set(p)
            )
            assert (await _get(f"{console}/ui/saga/abc")).status_code == 200
    assert "saga orchestrator unreachable" in panels["sagas"]
    assert "event service unreachable" in panels["seats"]
    assert "RabbitMQ management API unreachable" in panels["messages"]
    assert "event store unreachable" in panels["messages"]


async def test_a_source_that_fails_is_shown_unreachable_then_recovers():
    async with serve_sources() as sources:
        _fill(sources)
        app = create_app(sources.settings())
        async with serving(app) as console:
            first = await read_stream(f"{console}/stream", lambda p: "sagas" in p)
            assert "unreachable" not in first["sagas"]
            stop_answering = sources.url
            sources.url = ""
            app.state.sources.settings.saga_url = "http://127.0.0.1:9"
            down = await read_stream(f"{console}/stream", lambda p: "unreachable" in p.get("sagas", ""))
            assert "saga orchestrator unreachable" in down["sagas"]
            app.state.sources.settings.saga_url = stop_answering
            back = await read_stream(f"{console}/stream", lambda p: "s-running" in p.get("sagas", ""))
    assert "unreachable" not in back["sagas"]


async def test_nothing_is_read_while_no_page_is_open_and_open_pages_share_one_poller():
    async with serve_sources() as sources:
        _fill(sources)
        app = create_app(sources.settings())
        async with serving(app) as console:
            hub = app.state.hub
            await asyncio.sleep(0.5)
            assert not any(feed.polling for feed in hub.feeds)
            assert sources.hits["sagas"] == 0 and sources.hits["events"] == 0

            async def page() -> Panels:
                return await read_stream(
                    f"{console}/stream", lambda p: "sagas" in p and hub.sagas.rounds >= 5, timeout=20
                )

            await asyncio.gather(page(), page(), page())
            # Three pages, one reader: one list request per round, whatever the number of pages.
            assert sources.hits["sagas"] == hub.sagas.rounds
            # An ended saga's log is read once; a running one's at every round.
            assert sources.hits["saga:s-declined"] == 1
            assert sources.hits["saga:s-running"] == hub.sagas.rounds
            await eventually(lambda: _stopped(hub))
            read = dict(sources.hits)
            await asyncio.sleep(0.5)
            assert dict(sources.hits) == read


async def _stopped(hub: Any) -> bool:
    return not any(feed.polling for feed in hub.feeds)


async def test_the_booking_form_post_reaches_the_orchestrator_unchanged():
    body = {"eventId": 1, "userId": "u", "userName": SCRIPT, "userEmail": "a@b.sn", "seats": 2}
    raw = json.dumps(body).encode()
    async with serve_sources() as sources, serving(create_app(sources.settings())) as console:
        answer = await _post(
            f"{console}/api/saga/booking", content=raw, headers={"content-type": "application/json"}
        )
    assert answer.status_code == 202 and answer.json() == {"sagaId": "s-new", "status": "STARTED"}
    assert sources.bookings == [raw]


async def test_the_event_store_panel_shows_a_timeline_and_the_state_at_a_version():
    async with serve_sources() as sources:
        _fill(sources)
        async with serving(create_app(sources.settings())) as console:
            timeline = (await _get(f"{console}/ui/aggregate", params={"id": "r-1"})).text
            first = (await _get(f"{console}/ui/reconstruct", params={"id": "r-1", "version": 1})).text
            unknown = (await _get(f"{console}/ui/aggregate", params={"id": SCRIPT})).text
            log = (await _get(f"{console}/ui/saga/s-declined")).text
    assert 'data-latest="2"' in timeline and 'max="2"' in timeline
    assert timeline.index("reservation.created") < timeline.index("reservation.confirmed")
    assert 'data-version="1" data-status="pending"' in first
    assert "&lt;script&gt;" in unknown and "<script" not in unknown
    assert log.count('<tr class="log-compensation">') == 2 and "<script" not in log


async def test_bad_input_is_a_422_naming_the_field():
    async with serve_sources() as sources, serving(create_app(sources.settings())) as console:
        answers = {
            "status": await _get(f"{console}/stream", params={"status": "NOPE"}),
            "page": await _get(f"{console}/stream", params={"page": 0}),
            "version": await _get(f"{console}/ui/reconstruct", params={"id": "r-1", "version": 0}),
            "id": await _get(f"{console}/ui/aggregate"),
        }
    for field, answer in answers.items():
        assert answer.status_code == 422, field
        assert any(field in e["field"] for e in answer.json()["errors"]), answer.text


async def test_events_are_shown_newest_first_a_page_at_a_time():
    async with serve_sources() as sources:
        sources.events = [
            {"id": i, "name": f"E{i}", "totalCapacity": 100, "bookedSeats": 0, "availableSeats": 95}
            for i in range(1, 26)
        ]
        async with serving(create_app(sources.settings(events_per_page=10))) as console:
            first = await read_stream(f"{console}/stream", lambda p: "seats" in p)
            last = await read_stream(f"{console}/stream?seatsPage=3", lambda p: "seats" in p)
    shown = [int(i) for i in re.findall(r'data-event-id="(\d+)"', first["seats"])]
    assert shown == list(range(25, 15, -1))
    assert [int(i) for i in re.findall(r'data-event-id="(\d+)"', last["seats"])] == list(range(5, 0, -1))
    assert 'data-page="3" data-pages="3" data-total="25"' in last["seats"]
