"""The session leaves the shared engines as it found them: what it made is removed at the
end, and anything left that carries one of its unique() tokens (a leak: a harness that did
not remove what it made) is removed and reported as an error. Only this session's names are
considered: other test runs and the dev fleet share the engines."""

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
