"""Crash points: a test seam that kills this process (SIGKILL, as a crash: no shutdown code
runs) at a named place, so a test can crash a saga right before or right after each of its
durable writes and participant calls (tests/e2e/test_crash_points.py, docs/resilience.md).

    TP4_CRASH_AT="after:call:PROCESS_PAYMENT@key-7,before:finish:RESERVE_SEATS@key-9"
        kill the process when the saga started under Idempotency-Key `key-7` reaches the point
        `after:call:PROCESS_PAYMENT` (an entry without `@scope` fires for any saga or request);
    TP4_CRASH_LOG=/path/file
        counting mode: append one line per point reached (`service point scope`), so a clean
        run lists the points a test then crashes at, one by one.

Both unset (every real run), a point costs one test of an empty dict. Points are named
`before|after:<what>:<name>`: `create` (a saga's row inserted), `begin`/`finish` (a step's row
written; a finish also begins the next step in the same statement), `status` (the saga moved),
`call` (a participant called), and on a participant `after-commit:<STEP>` (its change is
committed, its answer not sent yet; see `CrashBeforeAnswer`).

The environment is read once, at import: the processes that use it are started for it.
"""

import os
import signal
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ANY = "*"


def _parse(value: str) -> dict[str, frozenset[str]]:
    """`point@scope,point,…` as {point: scopes} (ANY among them: every scope)."""
    armed: dict[str, set[str]] = {}
    for entry in value.split(","):
        point, _, scope = entry.strip().partition("@")
        if point:
            armed.setdefault(point, set()).add(scope or ANY)
    return {point: frozenset(scopes) for point, scopes in armed.items()}


_armed: dict[str, frozenset[str]] = {}
_log: str | None = None
_service = "?"


def configure(at: str = "", log: str | None = None, service: str | None = None) -> None:
    """Arm the points `at` names (TP4_CRASH_AT's format) and the counting log; what the
    environment says when a process starts, or what a unit test sets."""
    global _armed, _log, _service
    _armed = _parse(at)
    _log = log or None
    if service is not None:
        _service = service


def configure_from(env: Mapping[str, str], service: str) -> None:
    configure(env.get("TP4_CRASH_AT", ""), env.get("TP4_CRASH_LOG"), service)


def serving(service: str) -> None:
    """Name this process in the counting log (its service)."""
    global _service
    _service = service


def active() -> bool:
    """Whether this process crashes or counts anywhere (else the seam costs nothing)."""
    return bool(_armed) or _log is not None


def crash_point(point: str, scope: str | None = None) -> None:
    """Kill this process here when TP4_CRASH_AT names `point` for `scope` (a saga's
    Idempotency-Key); log the point in counting mode; else nothing."""
    if _log is not None:
        _count(point, scope)
    scopes = _armed.get(point)
    if scopes is not None and (ANY in scopes or scope in scopes):
        os.kill(os.getpid(), signal.SIGKILL)


def _count(point: str, scope: str | None) -> None:
    assert _log is not None
    # One short line in O_APPEND mode: the fleet's processes share the file without mixing lines.
    with open(_log, "a", encoding="utf-8") as out:
        out.write(f"{_service} {point} {scope or '-'}\n")


class CrashBeforeAnswer:
    """Pure ASGI middleware (mounted only while crash points are on): `after-commit:<STEP>`
    for a request under a saga's Idempotency-Key `<sagaId>:<STEP>`, reached when the handler
    has returned (its transaction committed) and before the answer's first byte is sent, so
    the caller sees a connection cut with the change made."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _idempotency_key(scope) if scope["type"] == "http" else None
        if key is None or ":" not in key:
            await self.app(scope, receive, send)
            return
        saga, _, step = key.rpartition(":")

        async def send_after_point(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                crash_point(f"after-commit:{step}", saga)
            await send(message)

        await self.app(scope, receive, send_after_point)


def _idempotency_key(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"idempotency-key":
            return str(value.decode("latin-1"))
    return None


configure_from(os.environ, os.environ.get("TP4_SERVICE", "?"))
