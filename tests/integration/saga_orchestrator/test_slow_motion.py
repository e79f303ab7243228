"""Slow motion (SAGA_STEP_DELAY_MS) is a teaching aid: /health shows it, a saga is seen
RUNNING before its end, and every outcome (status, error, step log) is the same as without it."""

from typing import Any

import pytest

from saga_orchestrator.app import create_app
from tests.integration.saga_orchestrator.fakes import serve_fakes
from tests.integration.saga_orchestrator.helpers import booking, saga_settings, start, wait_for
from tests.support import running

# (name, event id, seats): completed; declined (above 1,000,000 XOF: compensated); no seats
# left (refused at its first step: nothing to undo).
CASES = [("completed", 1, 2), ("declined", 2, 250), ("no seats", 3, 20)]


def _outcome(saga: dict[str, Any]) -> tuple[Any, ...]:
    steps = tuple((s["name"], s["kind"], s["status"], s["attempts"], s["error"]) for s in saga["steps"])
    return saga["status"], saga["error"], saga["currentStep"], steps


async def _outcomes(delay_ms: int) -> dict[str, tuple[Any, ...]]:
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=5000, capacity=100)
        fakes.add_event(2, price=5000, capacity=1000)
        fakes.add_event(3, price=5000, capacity=10)
        settings = saga_settings(fakes.url, step_delay_ms=delay_ms)
        async with running(create_app(settings)) as client:
            health = (await client.get("/health")).json()
            assert health["stepDelayMs"] == delay_ms
            outcomes = {}
            for name, event_id, seats in CASES:
                saga_id = await start(client, booking(event_id, seats=seats))
                if delay_ms:
                    # Slowed down, the saga is seen in flight before it ends.
                    seen = await wait_for(client, saga_id, {"RUNNING"}, timeout=10)
                    assert seen["status"] == "RUNNING"
                outcomes[name] = _outcome(await wait_for(client, saga_id, timeout=30))
            return outcomes


@pytest.mark.parametrize("delay_ms", [150])
async def test_slow_motion_changes_no_outcome(delay_ms):
    fast = await _outcomes(0)
    slow = await _outcomes(delay_ms)
    assert fast == slow
    assert fast["completed"][0] == "COMPLETED"
    assert fast["declined"][0] == "COMPENSATED"
    assert [s[0] for s in fast["declined"][3] if s[1] == "compensation"] == [
        "CANCEL_RESERVATION",
        "RELEASE_SEATS",
    ]
    assert fast["no seats"][0] == "COMPENSATED"
