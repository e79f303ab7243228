"""One isolated fleet (processes, throwaway databases, own exchange and queues) for the chaos
tests; each test breaks something, repairs it in a `finally`, and ends with `fleet check`."""

from collections.abc import Iterator

import pytest

from tests.chaos.tools import ChaosFleet, start_chaos_fleet


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "chaos: stops engines and kills services on purpose (runs by default; -m 'not chaos' skips)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/chaos/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.chaos)
            # They stop and restart the shared engines: never while other tests run.
            item.add_marker(pytest.mark.serial)


@pytest.fixture(scope="package")
def chaos() -> Iterator[ChaosFleet]:
    fleet = start_chaos_fleet()
    try:
        yield fleet
    finally:
        fleet.close()
