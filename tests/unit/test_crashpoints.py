"""The crash-point seam (shared/crashpoints.py): nothing unless armed, the armed point of the
armed saga kills the process with SIGKILL, counting mode lists the points reached, and the
participants' middleware is mounted only while the seam is on."""

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from shared import crashpoints
from tests.support import ROOT


@pytest.fixture(autouse=True)
def disarmed() -> Iterator[None]:
    yield
    crashpoints.configure("")


def _crash_in_child(at: str, point: str, scope: str) -> int:
    code = (
        "from shared import crashpoints\n"
        f"crashpoints.configure({at!r})\n"
        f"crashpoints.crash_point({point!r}, {scope!r})\n"
        "print('alive')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=60)
    return done.returncode


def test_the_armed_point_of_the_armed_saga_kills_the_process():
    assert _crash_in_child("after:call:PROCESS_PAYMENT@key-1", "after:call:PROCESS_PAYMENT", "key-1") == (
        -signal.SIGKILL
    )


def test_another_point_or_another_saga_goes_on():
    assert _crash_in_child("after:call:PROCESS_PAYMENT@key-1", "before:call:PROCESS_PAYMENT", "key-1") == 0
    assert _crash_in_child("after:call:PROCESS_PAYMENT@key-1", "after:call:PROCESS_PAYMENT", "key-2") == 0


def test_a_point_without_a_scope_fires_for_any_saga():
    assert _crash_in_child("after-commit:RESERVE_SEATS", "after-commit:RESERVE_SEATS", "whatever") == (
        -signal.SIGKILL
    )


def test_parse_groups_scopes_by_point():
    assert crashpoints._parse(" a@k1, a@k2 ,b,, ") == {
        "a": frozenset({"k1", "k2"}),
        "b": frozenset({crashpoints.ANY}),
    }


def test_unarmed_it_is_a_no_op_and_inactive():
    crashpoints.configure("")
    assert not crashpoints.active()
    crashpoints.crash_point("before:create", "k")  # still here


def test_counting_mode_logs_each_point_reached(tmp_path: Path):
    log = tmp_path / "points.log"
    crashpoints.configure("", str(log), service="saga-orchestrator")
    assert crashpoints.active()
    crashpoints.crash_point("before:create", "key-1")
    crashpoints.crash_point("after:create", None)
    assert log.read_text().splitlines() == [
        "saga-orchestrator before:create key-1",
        "saga-orchestrator after:create -",
    ]


def test_the_participants_middleware_is_mounted_only_while_the_seam_is_on():
    from event_service.app import create_app
    from event_service.settings import EventSettings

    def mounted() -> bool:
        app = create_app(EventSettings())
        return any(m.cls is crashpoints.CrashBeforeAnswer for m in app.user_middleware)

    crashpoints.configure("")
    assert not mounted()
    crashpoints.configure("after-commit:RESERVE_SEATS")
    assert mounted()


async def test_a_participant_reaches_after_commit_of_the_keys_step_on_a_success_only(tmp_path: Path):
    log = tmp_path / "points.log"
    crashpoints.configure("", str(log), service="event-service")

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        status = 201 if scope["path"] == "/ok" else 409
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    transport = httpx.ASGITransport(app=crashpoints.CrashBeforeAnswer(answer))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.post("/ok", headers={"Idempotency-Key": "saga-1:RESERVE_SEATS"})
        await client.post("/refused", headers={"Idempotency-Key": "saga-2:RESERVE_SEATS"})
        await client.post("/ok", headers={"Idempotency-Key": "no-step"})
        await client.post("/ok")
    assert log.read_text().splitlines() == ["event-service after-commit:RESERVE_SEATS saga-1"]
