"""The analytics projection's recount coalescing: every caller gets a run that started after
it asked, and callers arriving while a run waits to start share it."""

import asyncio

import pytest

from analytics_service.messaging import Coalesced


class Recorder:
    def __init__(self) -> None:
        self.starts: list[int] = []
        self.release = asyncio.Event()
        self.fail = False

    async def work(self, key: int) -> None:
        self.starts.append(key)
        await self.release.wait()
        if self.fail:
            raise RuntimeError("recount failed")


async def test_callers_arriving_during_a_run_share_the_next_one():
    recorder = Recorder()
    coalesced = Coalesced(recorder.work)
    first = asyncio.create_task(coalesced.run(7))
    await asyncio.sleep(0.01)
    assert recorder.starts == [7]  # run 1 is under way
    later = [asyncio.create_task(coalesced.run(7)) for _ in range(5)]
    await asyncio.sleep(0.01)
    assert recorder.starts == [7], "nobody who asked during run 1 is served by it"
    recorder.release.set()
    await asyncio.gather(first, *later)
    assert recorder.starts == [7, 7], "the five late callers shared one run"


async def test_keys_do_not_wait_for_each_other():
    recorder = Recorder()
    coalesced = Coalesced(recorder.work)
    tasks = [asyncio.create_task(coalesced.run(k)) for k in (1, 2, 3)]
    await asyncio.sleep(0.01)
    assert sorted(recorder.starts) == [1, 2, 3]
    recorder.release.set()
    await asyncio.gather(*tasks)


async def test_a_failed_run_fails_its_callers_and_the_next_call_runs_again():
    recorder = Recorder()
    recorder.fail = True
    recorder.release.set()
    coalesced = Coalesced(recorder.work)
    with pytest.raises(RuntimeError):
        await coalesced.run(7)
    recorder.fail = False
    await coalesced.run(7)
    assert recorder.starts == [7, 7]


async def test_a_caller_cancelled_while_waiting_does_not_cancel_the_shared_run():
    recorder = Recorder()
    coalesced = Coalesced(recorder.work)
    first = asyncio.create_task(coalesced.run(7))
    await asyncio.sleep(0.01)
    quitter = asyncio.create_task(coalesced.run(7))
    stayer = asyncio.create_task(coalesced.run(7))
    await asyncio.sleep(0.01)
    quitter.cancel()
    recorder.release.set()
    await asyncio.gather(first, stayer)
    assert recorder.starts == [7, 7]
