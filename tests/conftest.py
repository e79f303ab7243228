"""The session leaves the shared engines as it found them: what it made is removed at the
end, and anything left that carries one of its unique() tokens (a leak: a harness that did
not remove what it made) is removed and reported as an error. Only this session's names are
considered: other test runs and the dev fleet share the engines. In a parallel run
(pytest-xdist, scripts/test.sh) each worker is a session of its own, with its own tokens: it
removes what it made and never what another worker made."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import (
    OPERATOR_TOKEN,
    SERVICE_TOKEN,
    engine_inventory,
    handed_out_tokens,
    redis_db,
    remove_names,
    remove_session_resources,
    session_leftovers,
    session_tokens,
)

# Every app made in-process reads its caller-class tokens from the environment.
os.environ["SERVICE_TOKEN"] = SERVICE_TOKEN
os.environ["OPERATOR_TOKEN"] = OPERATOR_TOKEN
# Apps and fleets made by tests trace only where a test is about the traces (tests/zipkin.py's
# fleet_env, the doc test's fleets as the README starts them): a span costs a service about a
# third more CPU (docs/performance.md), which the suite's two cores would pay on every test.
os.environ["TRACING_ENABLED"] = "false"


@pytest.fixture(scope="session", autouse=True)
def _engines_left_as_found():
    before = engine_inventory()
    yield
    remove_session_resources()
    if os.environ.get("TP4_SESSION_TOKENS_FILE"):  # a session run by a test, which checks it
        Path(os.environ["TP4_SESSION_TOKENS_FILE"]).write_text("\n".join(session_tokens()))
    if not handed_out_tokens():
        return  # nothing of this session can be on the engines
    leftovers = session_leftovers(before, engine_inventory(patience=90))
    if leftovers:
        remove_names(leftovers)
        lines = "\n".join(f"  {kind}: {', '.join(names)}" for kind, names in leftovers.items())
        pytest.fail(f"this test session left on the shared engines (now removed):\n{lines}", pytrace=False)


@pytest.fixture(scope="module", name="redis_db")
def _redis_db() -> Iterator[int]:
    """A Redis database number of the module's own, emptied (tests.support.redis_db)."""
    with redis_db() as number:
        yield number


# The parallel run (scripts/test.sh: pytest-xdist, --dist loadgroup) hands out work by group:
# the tests of one module stay on one worker, so a module-scoped fleet or app starts once; a
# package-scoped fixture (the hostile tests' fleet) keeps its package together. The folders
# whose modules take longest are handed out first, so no long module starts last.
FIRST = (
    # The crash-point harness: one fleet, about 160 orchestrator and participant restarts.
    "tests/e2e/test_crash_points.py",
    "tests/docs/",
    # The chaos tests that break only their own fleet (the others run alone, after: serial).
    "tests/chaos/",
    "tests/e2e/test_student_edition.py",
    "tests/labs/",
    "tests/e2e/",
    "tests/bench/",
    "tests/browser/",
)
FIRST += ("tests/hostile/", "tests/exercises/", "tests/integration/")


def _group(item: pytest.Item) -> str:
    fixtures = getattr(item, "_fixtureinfo", None)
    for definitions in fixtures.name2fixturedefs.values() if fixtures else ():
        if definitions[-1].scope == "package":
            return definitions[-1].baseid or item.nodeid.split("::")[0]
    return item.nodeid.split("::")[0]


def _rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::")[0]
    return next((i for i, start in enumerate(FIRST) if path.startswith(start)), len(FIRST))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))
    if hasattr(config, "workerinput"):  # an xdist worker: its order is the order work is handed out
        items.sort(key=_rank)
