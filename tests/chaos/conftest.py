"""One isolated fleet (processes, throwaway databases, own exchange and queues) for the chaos
tests; each test breaks something, repairs it in a `finally`, and ends with `fleet check`.

Only the modules that stop or restart a shared engine (ENGINE_BREAKERS) are marked `serial`
and run alone, after the parallel phase of scripts/test.sh: every other test kills, pauses or
restarts processes of its own isolated fleet, which no other test sees, so it runs in the
parallel phase (on one worker with its package's fleet: tests/conftest.py's loadgroup)."""

from collections.abc import Iterator

import pytest

from tests.chaos.tools import ChaosFleet, start_chaos_fleet


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "chaos: stops engines and kills services on purpose (runs by default; -m 'not chaos' skips)",
    )


# Stop and restart the shared engines (scripts/infra.sh down/up, rabbitmqctl stop_app, the
# nemesis's engine faults): never while other tests run. The network nemesis breaks no engine,
# but it is a 90-second run under load whose verdict is the point: alone, like the nemesis.
ENGINE_BREAKERS = ("test_engines_down.py", "test_nemesis.py", "test_nemesis_network.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath).replace("\\", "/")
        if "tests/chaos/" in path:
            item.add_marker(pytest.mark.chaos)
            if path.rsplit("/", 1)[-1] in ENGINE_BREAKERS:
                item.add_marker(pytest.mark.serial)


@pytest.fixture(scope="package")
def chaos() -> Iterator[ChaosFleet]:
    fleet = start_chaos_fleet()
    try:
        yield fleet
    finally:
        fleet.close()
