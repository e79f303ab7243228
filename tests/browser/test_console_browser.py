"""The console in a real Chromium against an isolated fleet: it loads with no error, each panel
shows its data, a booking made with the form travels live to COMPLETED, a declined one to
COMPENSATED with its compensations, slow motion shows a saga RUNNING and a payment service
stopped mid-saga shows the retries and the compensation, the seats converge, the slider shows
a reservation pending at version 1, user strings are escaped, a source down is named and
recovers, and every service's /docs renders with no request beyond 127.0.0.1."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from fleetctl.fleet import SERVICES
from tests.browser.conftest import Watched
from tests.support import IsolatedFleet

STEPS = ["RESERVE_SEATS", "CREATE_RESERVATION", "PROCESS_PAYMENT", "CONFIRM_RESERVATION"]
LOCAL = "http://127.0.0.1:"


def _event(fleet: IsolatedFleet, *, name: str = "Concert console", price: float = 5000, capacity: int = 200):
    answer = httpx.post(
        f"{fleet.url('event_service')}/api/events",
        json={
            "name": name,
            "eventDate": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            "location": "Dakar Arena",
            "category": "concert",
            "totalCapacity": capacity,
            "ticketPrice": price,
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _saga(fleet: IsolatedFleet, saga_id: str) -> dict[str, Any]:
    return dict(httpx.get(f"{fleet.url('saga_orchestrator')}/api/saga/{saga_id}", timeout=10).json())


def _open(page: Page, fleet: IsolatedFleet) -> None:
    page.goto(fleet.url("console"))
    page.wait_for_selector("#link.link-up")
    page.wait_for_selector("#sagas-body .pager")


def _book(page: Page, event: dict[str, Any], seats: int) -> str:
    """Books through the form as a user would; the saga id the form shows."""
    page.focus("#book-event")  # reloads the events list
    page.select_option("#book-event", str(event["id"]))
    page.fill("#book-seats", str(seats))
    page.click("#book-submit")
    page.wait_for_selector("#booking-result[data-saga-id]")
    saga_id = page.get_attribute("#booking-result", "data-saga-id")
    assert saga_id
    return saga_id


def _row(saga_id: str) -> str:
    return f'#sagas-body tr.saga[data-saga-id="{saga_id}"]'


def _steps(page: Page, saga_id: str) -> list[tuple[str, str, str, int]]:
    found = page.eval_on_selector_all(
        f"{_row(saga_id)} .step",
        "els => els.map(e => [e.dataset.step, e.dataset.kind, e.dataset.status, Number(e.dataset.attempts)])",
    )
    return [tuple(step) for step in found]


def _ends(page: Page, saga_id: str, status: str, timeout: float = 60_000) -> None:
    try:
        page.wait_for_selector(f'{_row(saga_id)}[data-status="{status}"]', timeout=timeout)
    except PlaywrightTimeout:
        shown = page.locator("#sagas-body").inner_html()
        raise AssertionError(f"saga {saga_id} not shown {status}; the panel shows: {shown}") from None


def _read_model_in_step(page: Page, event: dict[str, Any]) -> None:
    """Waits until the seats panel shows the event's read model in step (the projection
    follows the saga's messages): the docs' screenshots show the settled page."""
    page.wait_for_selector(f'#seats-body .event[data-event-id="{event["id"]}"] .analytics[data-diff="0"]')


def _shot(page: Page, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


def test_every_service_docs_render_with_no_request_beyond_this_machine(fleet, watched: Watched):
    page = watched.page
    for name in [*(s.package for s in SERVICES), "console"]:
        page.goto(f"{fleet.url(name)}/docs")
        page.wait_for_selector(".opblock")
        assert page.locator(".opblock").count() >= 3, name
    outside = [url for url in watched.requests if not url.startswith(LOCAL)]
    assert outside == []
    assert watched.errors == []


def test_the_page_loads_without_errors_and_each_panel_shows_its_data(fleet, watched: Watched):
    event = _event(fleet, name="Panels")
    saga_id = httpx.post(
        f"{fleet.url('saga_orchestrator')}/api/saga/booking",
        json={
            "eventId": event["id"],
            "userId": "u-panels",
            "userName": "Fatou Sow",
            "userEmail": "fatou@example.sn",
            "seats": 1,
            "ticketPrice": event["ticketPrice"],
            "paymentMethod": "card",
        },
        timeout=10,
    ).json()["sagaId"]
    page = watched.page
    _open(page, fleet)
    _ends(page, saga_id, "COMPLETED")
    page.wait_for_selector(f'#seats-body .event[data-event-id="{event["id"]}"]')
    page.wait_for_selector("#messages-body tr.queue")
    page.wait_for_selector('#messages-body tr.message[data-routing-key="booking.confirmed"]')
    assert page.locator("#messages-body .exchange").inner_text().startswith("exchange e2e_")
    assert page.locator("#aggregates option").count() > 0
    assert page.locator("#slow .slow-off").count() == 1
    assert page.locator(".unreachable").count() == 0
    assert [url for url in watched.requests if not url.startswith(LOCAL)] == []
    assert watched.errors == []


def test_a_form_booking_travels_to_completed(fleet, watched: Watched, screenshots: Path):
    event = _event(fleet, name="Concert Jazz", price=15000)
    page = watched.page
    _open(page, fleet)
    saga_id = _book(page, event, seats=2)
    _ends(page, saga_id, "COMPLETED")
    assert [(name, kind, status) for name, kind, status, _ in _steps(page, saga_id)] == [
        (name, "step", "succeeded") for name in STEPS
    ]
    page.wait_for_selector(f'#saga-log .saga-log[data-saga-id="{saga_id}"][data-status="COMPLETED"]')
    _read_model_in_step(page, event)
    _shot(page, screenshots, "console-completed.png")
    assert watched.errors == []


def test_a_declined_booking_ends_compensated_with_its_two_compensations(
    fleet, watched: Watched, screenshots: Path
):
    event = _event(fleet, name="Gala", price=600_000)  # 2 seats: 1,200,000 XOF, declined
    page = watched.page
    _open(page, fleet)
    saga_id = _book(page, event, seats=2)
    _ends(page, saga_id, "COMPENSATED")
    steps = _steps(page, saga_id)
    assert [(n, k) for n, k, _, _ in steps if k == "compensation"] == [
        ("CANCEL_RESERVATION", "compensation"),
        ("RELEASE_SEATS", "compensation"),
    ]
    assert ("PROCESS_PAYMENT", "step", "failed") in [(n, k, s) for n, k, s, _ in steps]
    assert "declined" in page.locator(f"{_row(saga_id)} .reason").inner_text().lower()
    # Compensations are drawn in another colour than steps.
    colours = page.eval_on_selector_all(
        f"{_row(saga_id)} .step", "els => els.map(e => getComputedStyle(e).borderColor)"
    )
    assert colours[0] != colours[-1]
    page.wait_for_selector(f'#saga-log .saga-log[data-saga-id="{saga_id}"][data-status="COMPENSATED"]')
    _read_model_in_step(page, event)
    _shot(page, screenshots, "console-compensated.png")
    assert watched.errors == []


def test_the_seats_panel_converges_to_the_event_service(fleet, watched: Watched):
    event = _event(fleet, name="Seats", capacity=100)
    page = watched.page
    _open(page, fleet)
    saga_id = _book(page, event, seats=7)
    _ends(page, saga_id, "COMPLETED")
    truth = httpx.get(f"{fleet.url('event_service')}/api/events/{event['id']}", timeout=10).json()
    selector = f'#seats-body .event[data-event-id="{event["id"]}"]'
    page.wait_for_selector(f'{selector}[data-booked="{truth["bookedSeats"]}"] .analytics[data-diff="0"]')
    assert page.get_attribute(selector, "data-available") == str(truth["availableSeats"])
    assert watched.errors == []


def test_the_reconstruct_slider_shows_the_reservation_pending_at_version_1(fleet, watched: Watched):
    event = _event(fleet, name="Replay")
    page = watched.page
    _open(page, fleet)
    saga_id = _book(page, event, seats=1)
    _ends(page, saga_id, "COMPLETED")
    # The event store names an aggregate by its type and id.
    reservation = f"RESERVATION-{_saga(fleet, saga_id)['reservationId']}"
    history = f"{fleet.url('event_store_service')}/api/aggregates/{reservation}/history"
    deadline = time.monotonic() + 30
    # The event store records the reservation's messages as they arrive over RabbitMQ.
    while httpx.get(history, timeout=10).json().get("currentVersion") != 2:
        assert time.monotonic() < deadline, "the event store did not record created and confirmed"
        time.sleep(0.2)
    page.fill("#aggregate-id", reservation)
    page.press("#aggregate-id", "Enter")
    # Created then confirmed: two versions, the latest shown first.
    page.wait_for_selector('#aggregate-body .aggregate[data-latest="2"]')
    page.wait_for_selector('#state .replay[data-version="2"][data-status="confirmed"]')
    page.eval_on_selector(
        "#version-slider", "s => { s.value = '1'; s.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    page.wait_for_selector('#state .replay[data-version="1"][data-status="pending"]')
    assert page.locator(".replay-status").inner_text() == "pending"
    assert watched.errors == []


def test_user_strings_are_shown_as_text_never_run(fleet, watched: Watched):
    name = '<script>window.owned = 1</script><img src=x onerror="window.owned = 2">'
    event = _event(fleet, name=name)
    page = watched.page
    _open(page, fleet)
    shown = f'#seats-body .event[data-event-id="{event["id"]}"] .event-name b'
    page.wait_for_selector(shown)
    assert page.locator(shown).inner_text() == name
    page.focus("#book-event")
    page.wait_for_selector(f'#book-event option[value="{event["id"]}"]', state="attached")
    assert name in page.locator(f'#book-event option[value="{event["id"]}"]').inner_text()
    assert page.evaluate("typeof window.owned") == "undefined"
    assert watched.errors == []


def test_a_source_down_is_named_and_the_panel_recovers(fleet, watched: Watched):
    page = watched.page
    _open(page, fleet)
    page.wait_for_selector("#messages-body tr.message")
    fleet.stop(["event_store_service"])
    try:
        page.wait_for_selector('#messages-body .unreachable[data-source="event store"]')
        # The other panels go on.
        assert page.locator("#sagas-body .unreachable").count() == 0
        assert page.locator("#seats-body .unreachable").count() == 0
    finally:
        fleet.start(["event_store_service"], quiet=True, wait=60)
    page.wait_for_selector("#messages-body tr.message")
    assert page.locator("#messages-body .unreachable").count() == 0
    # The browser reports the failed requests of no script: the console, not the page, polls.
    assert watched.errors == []


def _slow_orchestrator(fleet: IsolatedFleet, delay_ms: int) -> None:
    fleet.env["SAGA_STEP_DELAY_MS"] = str(delay_ms)
    fleet.stop(["saga_orchestrator"])
    fleet.start(["saga_orchestrator"], quiet=True, wait=60)


def test_in_slow_motion_a_saga_is_seen_running_and_its_steps_arrive_in_order(fleet, watched: Watched):
    _slow_orchestrator(fleet, 1500)
    event = _event(fleet, name="Slow motion")
    page = watched.page
    _open(page, fleet)
    page.wait_for_selector('#slow .slow-on[data-delay-ms="1500"]')
    saga_id = _book(page, event, seats=2)
    page.wait_for_selector(f'{_row(saga_id)}[data-status="RUNNING"]')
    seen: list[list[str]] = []
    deadline = time.monotonic() + 60
    while page.locator(f'{_row(saga_id)}[data-status="COMPLETED"]').count() == 0:
        assert time.monotonic() < deadline, "the saga did not complete"
        names = [name for name, _, _, _ in _steps(page, saga_id)]
        if not seen or seen[-1] != names:
            seen.append(names)
        time.sleep(0.1)
    final = [name for name, _, _, _ in _steps(page, saga_id)]
    assert final == STEPS
    # Each step appeared after the one before it, never out of order.
    assert all(names == STEPS[: len(names)] for names in seen)
    assert len({len(names) for names in seen}) >= 3
    assert watched.errors == []


def test_in_slow_motion_a_payment_service_stopped_mid_saga_shows_retries_and_compensation(
    fleet, watched: Watched
):
    _slow_orchestrator(fleet, 1500)
    event = _event(fleet, name="Payment outage", price=1000)
    page = watched.page
    _open(page, fleet)
    saga_id = _book(page, event, seats=3)
    page.wait_for_selector(f'{_row(saga_id)}[data-status="RUNNING"]')
    fleet.stop(["payment_service"])
    try:
        page.wait_for_selector(f'{_row(saga_id)} .step[data-step="PROCESS_PAYMENT"][data-status="failed"]')
        page.wait_for_selector(f'{_row(saga_id)}[data-status="COMPENSATING"]')
        # The refund of a charge that may have happened is retried while the service is down.
        page.wait_for_selector(
            f'{_row(saga_id)} .step[data-step="REFUND"][data-kind="compensation"]:not([data-attempts="1"])'
        )
    finally:
        fleet.start(["payment_service"], quiet=True, wait=60)
    _ends(page, saga_id, "COMPENSATED", timeout=90_000)
    compensations = [name for name, kind, _, _ in _steps(page, saga_id) if kind == "compensation"]
    assert compensations == ["REFUND", "CANCEL_RESERVATION", "RELEASE_SEATS"]
    assert watched.errors == []
    _slow_orchestrator(fleet, 0)
