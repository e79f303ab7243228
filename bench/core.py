"""What every scenario shares: the run's configuration, the machine, closed-loop drivers,
percentiles and the figure records the JSON and the table are made of."""

import asyncio
import os
import platform
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bench.client import LoadClient

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")

# The fleet's default ports (fleetctl.fleet.SERVICES); BENCH_<PACKAGE>_URL overrides each.
DEFAULT_URLS = {
    "event_service": "http://127.0.0.1:8080",
    "reservation_service": "http://127.0.0.1:3000",
    "payment_service": "http://127.0.0.1:5000",
    "analytics_service": "http://127.0.0.1:8081",
    "event_store_service": "http://127.0.0.1:3001",
    "saga_orchestrator": "http://127.0.0.1:3002",
    "notification_service": "http://127.0.0.1:5001",
}
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres password=postgres dbname=postgres"
SCENARIOS = ("saga", "peer", "peer-http", "cache", "eventstore", "projection", "footprint")


@dataclass(frozen=True)
class Size:
    """How long each measured round runs and how many items the count-based scenarios use."""

    name: str
    round_seconds: float
    warmup_seconds: float
    reads: int  # cache reads per round and client
    appends: int  # event-store appends per round and client
    aggregate_events: int  # events of the aggregate reconstructed
    lag_sagas: int  # sagas whose projection lag is measured
    scarce_capacity: int  # capacity of the event sagas race for (oversell check)


SIZES = {
    "small": Size("small", 2.0, 0.5, 30, 15, 300, 3, 20),
    "full": Size("full", 15.0, 3.0, 400, 150, 10_000, 30, 200),
}


@dataclass
class Config:
    size: Size
    concurrency: list[int]
    rounds: int
    scenarios: list[str]
    urls: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_URLS))
    redis_url: str = "redis://127.0.0.1:6379/0"
    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    rabbitmq_api: str = "http://127.0.0.1:15672/api"
    queue_prefix: str = ""
    event_store_database: str = "event_store_db"
    run_dir: Path = ROOT / ".data" / "run"
    out_dir: Path = ROOT / "bench" / "results"
    machine_name: str | None = None
    note: str = ""
    # The isolated fleet's tracing (on, off) or both (the tracing scenario compares them).
    tracing: str = "off"
    # Started fleet processes to measure the cold start of (footprint); None: skip it.
    cold_start: bool = True
    write: bool = True

    @classmethod
    def urls_from_env(cls) -> dict[str, str]:
        return {pkg: os.environ.get(f"BENCH_{pkg.upper()}_URL", url) for pkg, url in DEFAULT_URLS.items()}


def machine(name: str | None = None) -> dict[str, Any]:
    cores = os.cpu_count() or 0
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    mem_gib = round(mem_kib / 1024 / 1024, 1)
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    host = socket.gethostname()
    label = name or (host if host not in ("", "localhost", "vm") else f"{cores}core-{round(mem_gib)}g")
    return {
        "name": label,
        "hostname": host,
        "cores": cores,
        "memoryGiB": mem_gib,
        "cpu": cpu,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def pct(values: list[float], p: float) -> float:
    """Percentile p (0-100) with linear interpolation; nan when there is nothing."""
    if not values:
        return float("nan")
    data = sorted(values)
    k = (len(data) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


class Report:
    """The figures of one run, printed as they come and kept for the table and the JSON."""

    def __init__(self, machine_info: dict[str, Any]) -> None:
        self.machine = machine_info
        self.tag = f"{machine_info['name']} ({machine_info['cores']} cores, {machine_info['memoryGiB']} GiB)"
        self.figures: list[dict[str, Any]] = []
        self.checks: list[dict[str, Any]] = []
        self.details: dict[str, Any] = {}

    def figure(
        self,
        scenario: str,
        name: str,
        unit: str,
        values: list[float],
        *,
        samples: int,
        concurrency: int | None,
        **extra: Any,
    ) -> dict[str, Any]:
        """One figure over rounds: median and spread of the per-round values."""
        clean = [v for v in values if v == v]  # drop nan
        fig = {
            "scenario": scenario,
            "name": name,
            "unit": unit,
            "concurrency": concurrency,
            "rounds": len(values),
            "samples": samples,
            "median": round(statistics.median(clean), 3) if clean else None,
            "min": round(min(clean), 3) if clean else None,
            "max": round(max(clean), 3) if clean else None,
            "values": [round(v, 3) for v in values],
            "machine": self.tag,
            **extra,
        }
        self.figures.append(fig)
        progress(
            f"  = {scenario}.{name} c={concurrency}: {fig['median']} {unit} "
            f"[{fig['min']}..{fig['max']}] n={samples}"
        )
        return fig

    def check(self, scenario: str, name: str, value: Any, ok: bool, **extra: Any) -> None:
        self.checks.append({"scenario": scenario, "name": name, "value": value, "ok": ok, **extra})
        progress(f"  {'ok ' if ok else 'BAD'} {scenario}.{name} = {value}")

    def find(self, scenario: str, name: str, concurrency: int | None = None) -> dict[str, Any] | None:
        for fig in self.figures:
            if fig["scenario"] == scenario and fig["name"] == name and fig["concurrency"] == concurrency:
                return fig
        return None

    def table(self) -> str:
        lines = [
            f"machine: {self.tag}",
            f"{'figure':<50} {'c':>3} {'median':>11} {'min..max':>23} {'unit':<10} {'n':>6}",
        ]
        for f in self.figures:
            spread = f"{_num(f['min'])}..{_num(f['max'])}"
            lines.append(
                f"{f['scenario'] + '.' + f['name']:<50} {f['concurrency'] if f['concurrency'] else '-':>3} "
                f"{_num(f['median']):>11} {spread:>23} {f['unit']:<10} {f['samples']:>6}"
            )
        for c in self.checks:
            lines.append(f"check {c['scenario']}.{c['name']}: {c['value']} ({'ok' if c['ok'] else 'FAILED'})")
        return "\n".join(lines)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class Sample:
    latency: float  # seconds, as the client saw it
    value: Any


@dataclass
class LoopResult:
    samples: list[Sample]
    errors: list[str]
    elapsed: float

    @property
    def rate(self) -> float:
        return len(self.samples) / self.elapsed if self.elapsed > 0 else 0.0

    def latencies_ms(self) -> list[float]:
        return [s.latency * 1000 for s in self.samples]


async def closed_loop(
    op: Callable[[int, int], Awaitable[T]],
    concurrency: int,
    *,
    seconds: float | None = None,
    count: int | None = None,
) -> LoopResult:
    """`concurrency` clients each calling op(client, i) back to back, until `seconds` have
    passed (an operation under way is finished) or each client did `count` operations."""
    samples: list[Sample] = []
    errors: list[str] = []
    start = time.perf_counter()
    deadline = start + seconds if seconds is not None else None

    async def client(n: int) -> None:
        i = 0
        while True:
            if deadline is not None and time.perf_counter() >= deadline:
                return
            if count is not None and i >= count:
                return
            t0 = time.perf_counter()
            try:
                value = await op(n, i)
            except Exception as exc:  # a failed operation is counted, never fatal to the run
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
                await asyncio.sleep(0.05)
            else:
                samples.append(Sample(time.perf_counter() - t0, value))
            i += 1

    await asyncio.gather(*(client(n) for n in range(concurrency)))
    return LoopResult(samples, errors, time.perf_counter() - start)


def http_client(base_url: str, concurrency: int = 16) -> LoadClient:
    """The load generator's client (aiohttp: see bench/client.py for why not httpx)."""
    return LoadClient(base_url, connections=max(concurrency * 2, 10))


def iso_seconds(value: str) -> float:
    """Epoch seconds of an ISO-8601 date-time as the services write them."""
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
