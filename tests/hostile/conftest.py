"""One isolated fleet for the hostile-input tests; undeclared answers printed at the end."""

from collections.abc import Iterator

import pytest

from fleetctl.fleet import Fleet
from tests.support import isolated_fleet

# (service, method, path, "status check") of answers a route does not declare.
UNDECLARED: set[tuple[str, str, str, str]] = set()


@pytest.fixture(scope="package")
def fleet() -> Iterator[Fleet]:
    running = isolated_fleet()
    try:
        running.start(quiet=True)
        yield running
    finally:
        running.discard()
        if UNDECLARED:
            lines = "\n".join(f"  {s:<22} {m:<6} {p:<45} {c}" for s, m, p, c in sorted(UNDECLARED))
            print(f"\nanswers a route does not declare (fix belongs to the route's owner):\n{lines}")
