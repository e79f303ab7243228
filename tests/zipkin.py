"""A Zipkin of a test's own (docs/tracing.md): started by scripts/infra.sh on a free port, with
its own data folder and pid file, so a test may stop it without touching the machine's."""

import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support import ROOT, IsolatedFleet, isolated_fleet

# The services' names in Zipkin (shared/tracing.py's service.name).
CONSUMERS = {"event-store-service", "analytics-service", "notification-service"}


class Zipkin:
    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        self.env = {**os.environ, "TP4_DATA_DIR": str(data_dir), "ZIPKIN_PORT": str(self.port)}
        self.url = f"http://127.0.0.1:{self.port}"

    def infra(self, command: str) -> None:
        """`scripts/infra.sh up|down zipkin` for this one."""
        done = subprocess.run(
            [str(ROOT / "scripts" / "infra.sh"), command, "zipkin"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]

    def fleet_env(self) -> dict[str, str]:
        """What a fleet needs to export here (and its console to link here)."""
        return {
            "TRACING_ENABLED": "true",
            "ZIPKIN_ENDPOINT": f"{self.url}/api/v2/spans",
            "CONSOLE_ZIPKIN_UI_URL": f"{self.url}/zipkin",
            "TRACING_SAMPLE_RATIO": "1.0",
        }

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        """The spans Zipkin holds of this trace ([] while it holds none)."""
        answer = httpx.get(f"{self.url}/api/v2/trace/{trace_id}", timeout=10)
        return list(answer.json()) if answer.status_code == 200 else []

    def up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


@contextmanager
def zipkin_of_its_own(folder: Path) -> Iterator[Zipkin]:
    """A Zipkin started by scripts/infra.sh in `folder`, on a free port; stopped after."""
    server = Zipkin(folder)
    server.infra("up")
    try:
        yield server
    finally:
        server.infra("down")


@contextmanager
def traced_fleet(zipkin: Zipkin, *, console: bool = False, **env: str) -> Iterator[IsolatedFleet]:
    """An isolated fleet (and its console) exporting every trace to `zipkin`."""
    fleet = isolated_fleet()
    fleet.env.update({**zipkin.fleet_env(), **env})
    try:
        fleet.start(quiet=True, wait=120)
        if console:
            fleet.start(["console"], quiet=True, wait=60)
        yield fleet
    finally:
        fleet.discard()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def services(spans: list[dict[str, Any]], kind: str | None = None) -> set[str]:
    """The services that made these spans (of this kind: SERVER, CLIENT, PRODUCER, CONSUMER)."""
    return {s["localEndpoint"]["serviceName"] for s in spans if kind is None or s.get("kind") == kind}
