"""One fleet with the default settings, shared by the end-to-end modules that only book and
read through it (the smoke test, the message contracts, the story): a fleet of seven processes
takes seconds of CPU to start and to remove, so it is started once for them, not once per
module. Modules that change a setting or stop a service start their own."""

from collections.abc import Iterator

import pytest

from tests.support import IsolatedFleet, isolated_fleet


@pytest.fixture(scope="package")
def default_fleet() -> Iterator[IsolatedFleet]:
    fleet = isolated_fleet()
    try:
        fleet.start(quiet=True, wait=120)
        yield fleet
    finally:
        fleet.discard()
