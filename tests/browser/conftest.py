"""A real Chromium (Debian's, installed by scripts/browser.sh) driven by Playwright, and one
isolated fleet of the seven services and the console for the browser tests."""

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.support import IsolatedFleet, isolated_fleet

CHROMIUM = "/usr/bin/chromium"
# No sandbox (root in a container), no GPU, and none of the browser's own calls home: every
# request a test sees is one the page made.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Where the README's screenshots are written when set (docs/img); else the test's tmp dir.
SCREENSHOT_DIR = os.environ.get("CONSOLE_SCREENSHOT_DIR")


# Module scope, not session: Playwright's sync driver keeps its event loop marked as running
# in this thread while it is open, so every asyncio test run after it (pytest-asyncio's Runner)
# would refuse to start. Closing it with the browser tests' module frees the thread.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    assert Path(CHROMIUM).exists(), "run scripts/browser.sh: it installs Debian's chromium"
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


@dataclass
class Watched:
    """A page and what it did: console errors, uncaught errors, every request's URL."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(30_000)
    seen = Watched(page)
    page.on("console", lambda message: seen.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on("request", lambda request: seen.requests.append(request.url))
    try:
        yield seen
    finally:
        context.close()


@pytest.fixture(scope="module")
def fleet() -> Iterator[IsolatedFleet]:
    fleet = isolated_fleet()
    fleet.env.update(
        {
            "CONSOLE_POLL_SECONDS": "0.3",
            # A participant stopped for a while is waited for by the compensations.
            "SAGA_COMPENSATION_ATTEMPTS": "40",
            "SAGA_COMPENSATION_RETRY_SECONDS": "0.3",
        }
    )
    try:
        fleet.start(quiet=True, wait=120)
        fleet.start(["console"], quiet=True, wait=60)
        yield fleet
    finally:
        fleet.discard()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    return Path(SCREENSHOT_DIR) if SCREENSHOT_DIR else tmp_path
