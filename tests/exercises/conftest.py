"""An exercise left as a TODO (the student edition, scripts/student-edition.sh) raises
NotImplementedError("<ID>: …"). Where that happens behind the test's back (a saga step in a
background task, a request answered 500), the test fails on something else: a timeout, a
status code. The hook below makes such a test fail on the TODO it reached, so the grader's
first failing assertion names the exercise to write. In the solution it never fires.

Grading (TP4_GRADING=1, set by scripts/grade.sh) needs only each exercise's first failure:
once a test of an exercise failed, its other tests fail at once instead of each waiting for
its deadline on a TODO."""

import logging
import os
from collections.abc import Callable, Generator
from typing import Any

import pytest


def exercise_of(item: pytest.Item) -> str:
    """DB2 for tests/exercises/test_db2_optimistic_booking.py."""
    return item.path.name.removeprefix("test_").split("_")[0].upper()


FAILED: set[str] = set()


def pytest_runtest_setup(item: pytest.Item) -> None:
    exercise = exercise_of(item)
    if os.environ.get("TP4_GRADING") == "1" and exercise in FAILED:
        pytest.fail(f"not run: an earlier test of {exercise} failed", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        FAILED.add(exercise_of(item))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    unfinished: list[NotImplementedError] = []
    make_record: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

    # The record factory, not a handler: services replace the root logger's handlers at start.
    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made = make_record(*args, **kwargs)
        # Logged with its traceback, or named in the message (a consumer's retry log line).
        named = made.args if isinstance(made.args, tuple) else ()
        for error in (made.exc_info[1] if made.exc_info else None, *named):
            if isinstance(error, NotImplementedError):
                unfinished.append(error)
        return made

    logging.setLogRecordFactory(record)
    try:
        return (yield)
    except BaseException as failure:
        if isinstance(failure, NotImplementedError):
            unfinished.insert(0, failure)
        if not unfinished or isinstance(failure, KeyboardInterrupt):
            raise
        # This test's own TODO when its path reached it, else the first one it reached.
        own = [e for e in unfinished if str(e).startswith(f"{exercise_of(item)}:")]
        reached = (own or unfinished)[0]
        if reached is failure:
            raise
        raise reached from failure
    finally:
        logging.setLogRecordFactory(make_record)
