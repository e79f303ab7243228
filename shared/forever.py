"""Background loops that never give up: one that retries a step until it succeeds, waiting
longer after each failure, and one that runs a pass at an interval and survives a failed
pass. A failure is logged with what was being done; cancellation always goes through."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def stop_if_cancelled() -> None:
    """Raise CancelledError when the current task was asked to stop. Called at the top of
    every background loop: a library awaited inside the loop may swallow the cancel (turn it
    into its own error, or finish the await anyway), after which the task is still marked
    cancelling but nothing would ever end it, and the shutdown awaiting it hangs. Python
    3.11's asyncio.timeout does not stop it either: it counts a cancel already pending when it
    was entered as not its own, and raises TimeoutError again on every expiry."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def retry_forever(
    step: Callable[[], Awaitable[T]], *, what: str, first_delay: float = 0.2, max_delay: float = 5.0
) -> T:
    """`step()`'s result once it succeeds; the wait doubles after each failure, up to max_delay."""
    delay = first_delay
    while True:
        stop_if_cancelled()
        try:
            return await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s failed (%r); retrying in %.1f s", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)


async def every(
    interval: float,
    one_pass: Callable[[], Awaitable[object]],
    *,
    what: str,
    wake: asyncio.Event | None = None,
) -> None:
    """Run `one_pass` forever, `interval` seconds apart (sooner when `wake` is set); a pass that
    fails is logged and the next one runs all the same."""
    while True:
        stop_if_cancelled()
        try:
            await one_pass()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed", what)
        if wake is None:
            await asyncio.sleep(interval)
            continue
        wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval):
                await wake.wait()
