"""A background loop stops when it is cancelled: even when the cancel lands in the same turn
as the wake-up it was waiting for (Python 3.11's asyncio.wait_for loses such a cancel: it
returns the finished wait instead of raising; asyncio.timeout does not), and even when a
library awaited inside the loop swallowed the cancel (shared.forever.stop_if_cancelled).
Otherwise a service's shutdown, which cancels its loops and awaits them, waits forever."""

import asyncio
from pathlib import Path
from typing import Any, cast

from fleetctl.fleet import PACKAGES
from shared.forever import every
from shared.messaging.broker import Broker
from shared.messaging.outbox import Relay

ROOT = Path(__file__).resolve().parents[2]


async def _stops_when_cancelled_as_woken(task: asyncio.Task[Any], wake: asyncio.Event) -> None:
    await asyncio.sleep(0.05)  # the loop is waiting for its wake-up
    wake.set()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2)
    assert task in done, "the loop kept running after its cancel"
    assert task.cancelled()


async def test_a_woken_periodic_loop_stops_when_cancelled():
    wake = asyncio.Event()

    async def one_pass() -> None:
        return None

    task = asyncio.create_task(every(30, one_pass, what="a pass", wake=wake))
    await _stops_when_cancelled_as_woken(task, wake)


async def test_a_woken_outbox_relay_stops_when_cancelled():
    class Idle(Relay):
        async def relay_once(self) -> int:
            return 0

    broker = cast(Broker, type("Disconnected", (), {"connected": False})())
    relay = Idle(broker, interval=30)
    relay.start()
    assert relay._task is not None
    await _stops_when_cancelled_as_woken(relay._task, relay._wake)


async def _swallows_a_cancel() -> None:
    """What a library may do with a cancel that reaches it: turn it into its own error."""
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        raise RuntimeError("operation cancelled") from None


async def _stops_when_cancelled_inside(task: asyncio.Task[Any]) -> None:
    await asyncio.sleep(0.05)  # the loop is inside its pass
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2)
    assert task in done, "the loop kept running after its cancel was swallowed inside a pass"
    assert task.cancelled()


async def test_a_periodic_loop_stops_when_its_pass_swallowed_the_cancel():
    task = asyncio.create_task(every(0.01, _swallows_a_cancel, what="a pass"))
    await _stops_when_cancelled_inside(task)


async def test_an_outbox_relay_stops_when_its_pass_swallowed_the_cancel():
    class Swallowing(Relay):
        async def relay_once(self) -> int:
            await _swallows_a_cancel()
            return 0

    broker = cast(Broker, type("Connected", (), {"connected": True})())
    relay = Swallowing(broker, interval=0.01)
    relay.start()
    assert relay._task is not None
    await _stops_when_cancelled_inside(relay._task)


def test_no_service_waits_with_asyncio_wait_for():
    # The loops above are only two of the places a lost cancel hangs a shutdown; every
    # bounded wait in the product goes through asyncio.timeout instead.
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in (*PACKAGES, "shared", "console", "fleetctl")
        for path in sorted((ROOT / package).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "asyncio.wait_for(" in line
    ]
    assert offenders == []
