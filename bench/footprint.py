"""Footprint: resident memory of every service (pid files of the fleet) and every engine
(found by command line), idle and after the load; and the fleet's cold start (an isolated
fleet: new databases, exchange and ports -> every /ready answers 200).

PSS (proportional set size, /proc/<pid>/smaps_rollup) is reported beside RSS: PostgreSQL's
processes share their buffers, so summing their RSS would count the shared memory many times."""

import os
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.core import Config, Report, progress
from fleetctl.fleet import PACKAGES

NAME = "footprint"
# engine -> how its processes' command lines can be told apart
ENGINES = {
    "postgresql": ("postgres",),
    "redis": ("redis-server",),
    "rabbitmq": ("beam.smp", "epmd", "erl_child_setup", "inet_gethost"),
    "mongodb_wire_secantusdb": ("secantusd",),
    "opensearch": ("org.opensearch", "search-node", "SearchNode"),
    "zipkin": ("zipkin-server",),
}


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _kib(pid: int, field: str, path: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _mem(pids: list[int]) -> dict[str, Any]:
    rss = sum(_kib(p, "VmRSS", "status") for p in pids)
    pss = sum(_kib(p, "Pss", "smaps_rollup") for p in pids)
    return {"pids": len(pids), "rssMiB": round(rss / 1024, 1), "pssMiB": round(pss / 1024, 1)}


def _engine_pids() -> dict[str, list[int]]:
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=False).stdout
    found: dict[str, list[int]] = {name: [] for name in ENGINES}
    for line in out.splitlines():
        pid_s, _, args = line.strip().partition(" ")
        if "bench" in args or not pid_s.isdigit():
            continue
        head = args.split()[0] if args else ""
        for name, marks in ENGINES.items():
            if name == "postgresql":
                hit = Path(head).name.startswith("postgres") or args.startswith("postgres:")
            else:
                hit = any(m in args for m in marks)
            if hit:
                found[name].append(int(pid_s))
                break
    return found


def snapshot(run_dir: Path) -> dict[str, Any]:
    services = {}
    for pkg in PACKAGES:
        try:
            pid = int((run_dir / f"{pkg}.pid").read_text().strip())
        except (OSError, ValueError):
            continue
        if Path(f"/proc/{pid}").exists():
            services[pkg] = _mem([pid])
    engines = {name: _mem(pids) for name, pids in _engine_pids().items() if pids}
    return {
        "services": services,
        "engines": engines,
        "servicesTotalRssMiB": round(sum(s["rssMiB"] for s in services.values()), 1),
        "enginesTotalPssMiB": round(sum(e["pssMiB"] for e in engines.values()), 1),
    }


def record(report: Report, phase: str, run_dir: Path) -> None:
    snap = snapshot(run_dir)
    report.details[f"footprint_{phase}"] = snap
    for pkg, mem in snap["services"].items():
        report.figure(NAME, f"{phase}_rss_{pkg}", "MiB", [mem["rssMiB"]], samples=1, concurrency=None)
    for engine, mem in snap["engines"].items():
        report.figure(
            NAME,
            f"{phase}_pss_{engine}",
            "MiB",
            [mem["pssMiB"]],
            samples=1,
            concurrency=None,
            rssMiB=mem["rssMiB"],
            processes=mem["pids"],
        )
    if snap["services"]:
        report.figure(
            NAME,
            f"{phase}_rss_services_total",
            "MiB",
            [snap["servicesTotalRssMiB"]],
            samples=len(snap["services"]),
            concurrency=None,
        )


def cold_start(config: Config, report: Report) -> None:
    """Start an isolated fleet (throwaway databases, exchange, queues, index) and time it to
    all-ready; its memory right after is the cleanest idle footprint. Then stop and remove it."""
    times = []
    idle: dict[str, Any] = {}
    starts = config.rounds + (0 if config.size.name == "small" else 1)
    for n in range(starts):
        fleet, elapsed = start_isolated()
        try:
            if n > 0 or config.size.name == "small":
                times.append(elapsed)
            progress(f"[footprint] cold start {n + 1}/{starts}: {elapsed:.1f} s")
            idle = snapshot(fleet.run_dir)
        finally:
            fleet.discard()
    report.figure(
        NAME,
        "cold_start_seconds",
        "s",
        times,
        samples=len(times),
        concurrency=None,
        method="isolated_fleet().start(): 7 processes, migrations, until every /ready is 200",
        warmup=starts - len(times),
    )
    report.details["footprint_fresh_fleet"] = idle
    if idle.get("services"):
        report.figure(
            NAME,
            "fresh_rss_services_total",
            "MiB",
            [idle["servicesTotalRssMiB"]],
            samples=len(idle["services"]),
            concurrency=None,
            perService={k: v["rssMiB"] for k, v in idle["services"].items()},
        )


def start_isolated(attempts: int = 3, env: dict[str, str] | None = None) -> tuple[Any, float]:
    """An isolated fleet, started and ready, and how long its start took (processes spawned ->
    every /ready 200; its databases are created before). Two fleets started at once by parallel test runs
    can pick overlapping ports (a service then fails to bind): such a start is retried."""
    from tests.support import isolated_fleet

    for attempt in range(1, attempts + 1):
        fleet = isolated_fleet()
        fleet.env.update(env or {})
        t0 = time.perf_counter()
        try:
            fleet.start(quiet=True, wait=120)
            return fleet, time.perf_counter() - t0
        except (RuntimeError, TimeoutError) as exc:
            fleet.discard()
            if attempt == attempts:
                raise
            progress(f"[fleet] start failed ({exc}); trying other ports")
    raise AssertionError("unreachable")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        # utime and stime are fields 14 and 15 of stat (11 and 12 after the command name)
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        return 0.0


def cpu_snapshot(run_dir: Path) -> dict[str, float]:
    """CPU seconds used so far, per process: `<service>` or `<engine>:<pid>` (engines have many)."""
    used: dict[str, float] = {}
    for pkg in PACKAGES:
        try:
            used[pkg] = _cpu_seconds(int((run_dir / f"{pkg}.pid").read_text().strip()))
        except (OSError, ValueError):
            continue
    for engine, pids in _engine_pids().items():
        for pid in pids:
            used[f"{engine}:{pid}"] = _cpu_seconds(pid)
    used["bench_client"] = time.process_time()
    return used


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds per service and per engine between two snapshots. A process born in between
    counts whole; one that exited in between is lost (PostgreSQL backends of closed
    connections), so an engine whose connections churn is undercounted."""
    spent: dict[str, float] = {}
    for key, value in after.items():
        name = key.split(":", 1)[0]
        delta = value - before.get(key, 0.0)
        if delta >= 0:
            spent[name] = spent.get(name, 0.0) + delta
    return spent
