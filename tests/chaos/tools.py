"""What the chaos tests do to a fleet: book through the saga, stop engines for a short
window (always restarted), publish raw messages, read RabbitMQ queues, run `fleet check`."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from fleetctl.check import Report, run_check
from fleetctl.fleet import BY_NAME, Fleet
from fleetctl.fleet import PACKAGES as _PACKAGES
from fleetctl.nemesis import INVARIANTS, wait_until
from fleetctl.story import TERMINAL_SAGA_STATES, future_date
from tests.support import RABBITMQ_API, ROOT, FleetAuth, isolated_fleet

RABBIT_AUTH = ("guest", "guest")
# Shorter than production so a killed orchestrator's sagas are taken over within the test,
# and dead-lettering after the retries takes seconds, not minutes.
FAST = {
    "SAGA_LEASE_SECONDS": "3",
    "SAGA_RECOVERY_INTERVAL_SECONDS": "0.5",
    "SAGA_COMPENSATION_RETRY_SECONDS": "1",
    "CONSUMER_RETRY_DELAY_MS": "200",
    "CONSUMER_MAX_RETRIES": "3",
}


def infra(*args: str, timeout: float = 180) -> None:
    """scripts/infra.sh with these arguments (engines shared by every test run on the machine)."""
    subprocess.run(
        [str(ROOT / "scripts" / "infra.sh"), *args], check=True, timeout=timeout, capture_output=True
    )


@contextlib.contextmanager
def engine_down(engine: str) -> Iterator[None]:
    """The engine stopped for the `with` body, and ALWAYS started again after it."""
    infra("down", engine)
    try:
        yield
    finally:
        infra("up", engine)


@contextlib.contextmanager
def rabbitmq_app_stopped() -> Iterator[None]:
    """RabbitMQ's application stopped (the node stays up), ALWAYS started again after."""
    infra("rabbitmqctl", "stop_app", timeout=60)
    try:
        yield
    finally:
        infra("rabbitmqctl", "start_app", timeout=120)
        wait_until(_rabbit_api_answers, 60, "the RabbitMQ management API")


def _rabbit_api_answers() -> bool:
    try:
        return httpx.get(f"{RABBITMQ_API}/overview", auth=RABBIT_AUTH, timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class ChaosFleet:
    fleet: Fleet
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=15))

    def __post_init__(self) -> None:
        # Calls to internal or operator endpoints carry this fleet's tokens, as its services do.
        self.http.auth = FleetAuth(self.fleet)

    @property
    def prefix(self) -> str:
        return self.fleet.env["AMQP_QUEUE_PREFIX"]

    @property
    def exchange(self) -> str:
        return self.fleet.env["AMQP_EXCHANGE"]

    def url(self, package: str) -> str:
        return self.fleet.url(package)

    def instance_url(self, package: str, instance: int) -> str:
        """The URL of a further instance (`fleet start --instances`) of the service."""
        return f"http://127.0.0.1:{self.fleet.port(BY_NAME[package].nth(instance))}"

    def urls(self) -> dict[str, str]:
        return {s: self.fleet.url(s) for s in _PACKAGES}

    def close(self) -> None:
        self.http.close()
        self.fleet.discard()

    # -- the business, over HTTP --------------------------------------------------------------

    def create_event(
        self, capacity: int = 500, price: int = 1000, name: str = "Chaos night"
    ) -> dict[str, Any]:
        answer = self.http.post(
            f"{self.url('event_service')}/api/events",
            json={
                "name": f"{name} {uuid.uuid4().hex[:6]}",
                "description": "fault test",
                "eventDate": future_date(),
                "location": "Dakar Arena",
                "category": "concert",
                "totalCapacity": capacity,
                "ticketPrice": price,
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def event(self, event_id: int) -> dict[str, Any]:
        return dict(
            self.http.get(f"{self.url('event_service')}/api/events/{event_id}").raise_for_status().json()
        )

    def booking(self, event: dict[str, Any], seats: int = 1, user: str | None = None) -> dict[str, Any]:
        user = user or f"u{uuid.uuid4().hex[:8]}"
        return {
            "eventId": event["id"],
            "userId": user,
            "userName": "Awa Ndiaye",
            "userEmail": f"{user}@example.sn",
            "seats": seats,
            "ticketPrice": event["ticketPrice"],
            "paymentMethod": "mobile_money",
        }

    def start_saga(self, booking: dict[str, Any], orchestrator: str | None = None) -> str:
        """Start a booking at the orchestrator (its URL; by default the fleet's first)."""
        answer = self.http.post(
            f"{orchestrator or self.url('saga_orchestrator')}/api/saga/booking",
            json=booking,
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert answer.status_code == 202, answer.text
        return str(answer.json()["sagaId"])

    def start_sagas(self, bookings: list[dict[str, Any]]) -> list[str]:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(self.start_saga, bookings))

    def saga(self, saga_id: str) -> dict[str, Any]:
        answer = self.http.get(f"{self.url('saga_orchestrator')}/api/saga/{saga_id}")
        answer.raise_for_status()
        return dict(answer.json())

    def wait_sagas(self, saga_ids: list[str], seconds: float = 90) -> list[dict[str, Any]]:
        """Every saga terminal (polled with a deadline); their final states."""
        final: dict[str, dict[str, Any]] = {}

        def all_done() -> bool:
            for saga_id in saga_ids:
                if saga_id not in final:
                    saga = self.saga(saga_id)
                    if saga["status"] in TERMINAL_SAGA_STATES:
                        final[saga_id] = saga
            return len(final) == len(saga_ids)

        try:
            wait_until(all_done, seconds, "every saga to end", every=0.5)
        except TimeoutError:
            stuck = [s for s in saga_ids if s not in final]
            raise AssertionError(
                f"{len(stuck)} saga(s) not terminal: {[self.saga(s) for s in stuck[:3]]}"
            ) from None
        return [final[s] for s in saga_ids]

    def served(self, package: str, method: str, route: str) -> int:
        """How many requests `package` has answered on `route` (its /metrics, every status)."""
        text = self.http.get(f"{self.url(package)}/metrics").raise_for_status().text
        wanted = (f'method="{method}"', f'route="{route}"')
        return sum(
            int(float(line.rsplit(" ", 1)[1]))
            for line in text.splitlines()
            if line.startswith("http_requests_total{") and all(w in line for w in wanted)
        )

    @contextlib.contextmanager
    def paused(self, package: str) -> Iterator[None]:
        """The service SIGSTOPped for the `with` body (slow, not dead: the kernel still accepts
        connections and buffers requests, which it serves once resumed), ALWAYS resumed."""
        pid = self.fleet.pid(BY_NAME[package])
        assert pid is not None, f"{package} is not running"
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)

    @contextlib.contextmanager
    def restarted_with(self, package: str, env: dict[str, str]) -> Iterator[None]:
        """`package` restarted with these settings for the `with` body, then restarted again
        with the fleet's own (the other services keep running)."""
        saved = dict(self.fleet.env)
        self.fleet.stop([package])
        self.fleet.env.update(env)
        try:
            self.fleet.start([package], quiet=True)
            yield
        finally:
            self.fleet.stop([package])
            self.fleet.env.clear()
            self.fleet.env.update(saved)
            self.fleet.start([package], quiet=True)

    def ready(self, package: str) -> int:
        try:
            return self.http.get(f"{self.url(package)}/ready", timeout=5).status_code
        except httpx.HTTPError:
            return 0

    def diagnosis(self, packages: list[str], lines: int = 12) -> str:
        """What each service says of itself (/ready, or why it did not answer) and the last
        warnings of its log: printed with a failure, so a run that failed elsewhere (CI)
        shows which service was stuck and on what."""
        parts = []
        for package in packages:
            try:
                answer = self.http.get(f"{self.url(package)}/ready", timeout=5)
                ready = f"{answer.status_code} {answer.text[:400]}"
            except httpx.HTTPError as exc:
                ready = f"no answer ({exc!r})"
            log = self.fleet.log_dir / f"{BY_NAME[package].name}.log"
            noted = [
                line[:300]
                for line in (log.read_text(errors="replace").splitlines() if log.exists() else [])
                if "WARNING" in line or "ERROR" in line
            ]
            parts.append(f"{package} /ready: {ready}\n  " + "\n  ".join(noted[-lines:]))
        return "\n".join(parts)

    # -- RabbitMQ -----------------------------------------------------------------------------

    def queue(self, name: str) -> dict[str, Any]:
        answer = httpx.get(
            f"{RABBITMQ_API}/queues/%2F/{quote(self.prefix + name, safe='')}", auth=RABBIT_AUTH
        )
        answer.raise_for_status()
        return dict(answer.json())

    def purge(self, name: str) -> None:
        httpx.delete(
            f"{RABBITMQ_API}/queues/%2F/{quote(self.prefix + name, safe='')}/contents", auth=RABBIT_AUTH
        ).raise_for_status()

    def publish(self, routing_key: str, body: bytes, message_id: str) -> None:
        """Straight onto the fleet's exchange, as a service's relay would."""
        answer = httpx.post(
            f"{RABBITMQ_API}/exchanges/%2F/{quote(self.exchange, safe='')}/publish",
            auth=RABBIT_AUTH,
            json={
                "routing_key": routing_key,
                "payload": body.decode(),
                "payload_encoding": "string",
                "properties": {
                    "message_id": message_id,
                    "content_type": "application/json",
                    "delivery_mode": 2,
                },
            },
        )
        answer.raise_for_status()
        assert answer.json().get("routed") is True, answer.text

    # -- the verdict --------------------------------------------------------------------------

    def check(self, **options: Any) -> Report:
        options.setdefault("settle_seconds", 20)
        options.setdefault("stuck_seconds", 60)
        return run_check(self.urls(), self.prefix, **options)

    def assert_consistent(self, **options: Any) -> Report:
        report = self.check(**options)
        assert report.ok, "\n" + report.table()
        return report


def start_chaos_fleet() -> ChaosFleet:
    fleet = isolated_fleet()
    fleet.env.update(FAST)
    try:
        fleet.start(quiet=True)
    except BaseException:
        fleet.discard()
        raise
    return ChaosFleet(fleet)


def nemesis_run(tmp_path: Path, *options: str) -> tuple[str, dict[str, Any]]:
    """`fleet nemesis OPTIONS --json F` on a fleet of its own: its output and its JSON, once it
    exited 0 with every invariant, in the order of INVARIANTS, holding."""
    out = tmp_path / "nemesis.json"
    run = subprocess.run(
        [sys.executable, "-m", "fleetctl.fleet", "nemesis", *options, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1100,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.read_text())
    assert result["ok"] is True
    assert [r["key"] for r in result["invariants"]] == [key for key, _ in INVARIANTS]
    assert all(r["ok"] and not r["failures"] for r in result["invariants"])
    return run.stdout, result
