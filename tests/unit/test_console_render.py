"""The console's HTML: every string from a source is escaped (in text and in attributes), class
names never come from data, and a fragment with line breaks stays one Server-Sent Event."""

from datetime import UTC, datetime

from console import render
from console.app import _sse

HOSTILE = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
NOW = datetime(2030, 1, 1, 10, 0, 1, tzinfo=UTC)


def _saga(**values):
    saga = {
        "sagaId": HOSTILE,
        "status": HOSTILE,
        "userId": HOSTILE,
        "eventId": HOSTILE,
        "seats": HOSTILE,
        "amount": HOSTILE,
        "currency": HOSTILE,
        "error": HOSTILE,
        "type": HOSTILE,
        "createdAt": HOSTILE,
        "reservationId": HOSTILE,
        "paymentId": HOSTILE,
        "steps": [
            {"name": HOSTILE, "kind": HOSTILE, "status": HOSTILE, "attempts": HOSTILE, "error": HOSTILE}
        ],
    }
    saga.update(values)
    return saga


def _no_markup_from_data(html: str) -> None:
    assert "<img" not in html and "<script" not in html
    assert 'onerror=alert(1)"' not in html


def test_sagas_and_a_saga_log_escape_every_field():
    saga = _saga()
    panel = render.sagas_panel({"items": [saga], "total": 1, "size": 20}, {}, HOSTILE, 1, NOW)
    log = render.saga_log(saga, NOW)
    for html in (panel, log):
        _no_markup_from_data(html)
        assert "&lt;script&gt;" in html
    # An unknown status or step status gives a fixed class name, never the value.
    assert 'class="status s-other"' in panel and "st-other" in panel


def test_seats_messages_and_event_store_escape_every_field():
    event = {"id": 1, "name": HOSTILE, "location": HOSTILE, "totalCapacity": 10, "ticketPrice": HOSTILE}
    recorded = {
        "items": [
            {"eventType": HOSTILE, "aggregateId": HOSTILE, "aggregateType": HOSTILE, "version": HOSTILE}
        ],
        "total": HOSTILE,
    }
    history = {"aggregateType": HOSTILE, "currentVersion": 1, "events": recorded["items"]}
    pieces = [
        render.seats_panel(
            {"items": [event], "total": 1}, {1: {"bookedSeats": 1, "availableSeats": HOSTILE}}, 1
        ),
        render.seats_panel({"items": [event], "total": 1}, {1: HOSTILE}, 1),
        render.event_options({"items": [event]}),
        render.recent_part(recorded),
        render.aggregate_options(recorded),
        render.aggregate_view(HOSTILE, history),
        render.aggregate_view(HOSTILE, None),
        render.state_view({"version": HOSTILE, "state": {"status": HOSTILE, "name": HOSTILE}}),
        render.broker_part(
            HOSTILE,
            {"type": HOSTILE},
            [{"destination_type": "queue", "destination": HOSTILE, "routing_key": HOSTILE}],
            [{"name": HOSTILE, "messages": HOSTILE, "consumers": HOSTILE}],
        ),
        render.unreachable(HOSTILE, HOSTILE),
    ]
    for html in pieces:
        _no_markup_from_data(html)


def test_a_compensation_looks_different_from_a_step():
    steps = [
        {"name": "PROCESS_PAYMENT", "kind": "step", "status": "failed", "attempts": 3, "error": "declined"},
        {"name": "CANCEL_RESERVATION", "kind": "compensation", "status": "succeeded", "attempts": 1},
    ]
    html = render.steps_strip(steps, NOW)
    assert 'class="step step st-failed" data-step="PROCESS_PAYMENT"' in html and "3 attempts" in html
    assert 'class="step compensation st-succeeded" data-step="CANCEL_RESERVATION"' in html


def test_a_fragment_with_line_breaks_is_one_server_sent_event():
    encoded = _sse(("sagas", "<p>one\ntwo\r\nthree\rfour</p>"))
    assert encoded == "event: sagas\ndata: <p>one\ndata: two\ndata: three\ndata: four</p>\n\n"


def test_the_saga_header_shows_the_fleets_teaching_faults_in_a_badge():
    from console.render import slow_motion

    assert "teaching faults on: lost-update, stale-cache" in slow_motion(
        {"stepDelayMs": 0, "teachingFaults": ["lost-update", "stale-cache"]}
    )
    assert "teaching" not in slow_motion({"stepDelayMs": 0, "teachingFaults": []})
