"""From the console to a booking's trace (docs/tracing.md): a declined booking, made with the
console's form, ends COMPENSATED; its row links to its trace in Zipkin's UI, which shows the
compensations and the consumers' spans. The screenshot of docs/tracing.md is taken here
(CONSOLE_SCREENSHOT_DIR=docs/img)."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import Watched
from tests.browser.test_console_browser import _book, _ends, _event, _open, _row, _saga, _shot
from tests.support import IsolatedFleet
from tests.zipkin import CONSUMERS, Zipkin, services, traced_fleet, zipkin_of_its_own

# Zipkin's JVM, then a fleet and the console, start before the first page.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def zipkin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zipkin]:
    with zipkin_of_its_own(tmp_path_factory.mktemp("zipkin")) as server:
        yield server


@pytest.fixture(scope="module")
def fleet(zipkin: Zipkin) -> Iterator[IsolatedFleet]:
    with traced_fleet(zipkin, console=True, CONSOLE_POLL_SECONDS="0.3") as fleet:
        yield fleet


def test_a_compensated_saga_links_to_its_trace_in_zipkin(
    fleet: IsolatedFleet, zipkin: Zipkin, watched: Watched, screenshots: Path
):
    event = _event(fleet, name="Gala", price=600_000)  # 2 seats: 1,200,000 XOF, declined
    page = watched.page
    _open(page, fleet)
    saga_id = _book(page, event, seats=2)
    _ends(page, saga_id, "COMPENSATED")
    trace_id = _saga(fleet, saga_id)["traceId"]
    link = page.locator(f"{_row(saga_id)} a.trace-link")
    assert link.get_attribute("href") == f"{zipkin.url}/zipkin/traces/{trace_id}"
    assert watched.errors == []
    # The form's POST started the trace in the console; the consumers' spans come last.
    # The compensations' calls: the reservation cancelled, the seats released.
    compensations = ("/compensate", "/release")
    until = time.monotonic() + 60
    while True:
        spans = zipkin.trace(trace_id)
        servers = {s.get("name", "") for s in spans if s.get("kind") == "SERVER"}
        seen = all(any(c in n for n in servers) for c in compensations)
        if seen and "console" in services(spans) and services(spans, "CONSUMER") >= CONSUMERS:
            break
        assert time.monotonic() < until, (sorted(services(spans)), sorted(servers))
        time.sleep(1)
    assert any("/api/saga/booking" in n for n in servers), servers
    # Zipkin's UI is a page of its own (its "load" event can lag behind what it shows): the
    # trace is there once its header names the root span, the console's POST.
    page.set_viewport_size({"width": 1500, "height": 1500})
    page.goto(link.get_attribute("href") or "", wait_until="domcontentloaded")
    page.get_by_text("Total Spans").wait_for()
    page.get_by_text("console: post /api/saga/booking").first.wait_for()
    shown = page.inner_text("body")
    assert trace_id in shown
    for service in ("saga-orchestrator", "event-service", "reservation-service", "payment-service"):
        assert f"{service}: " in shown, service
    _shot(page, screenshots, "zipkin-compensated.png")
