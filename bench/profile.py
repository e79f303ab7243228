"""Where a saga's time goes: `python -m bench.profile` starts an isolated fleet, drives booking
sagas at a given concurrency, and samples the orchestrator and the three participants with
py-spy meanwhile (on-CPU samples, 100 Hz); prints each process's heaviest functions (own time
and inclusive time) and writes them to bench/results/profile-<date>-<machine>.txt.

Needs py-spy (`pip install py-spy`; it reads the processes' memory, so run it as root or with
ptrace allowed)."""

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench.core import ROOT, closed_loop, http_client, machine
from bench.fleetapi import PRICE, create_event, run_saga
from bench.footprint import start_isolated

PROFILED = ("saga_orchestrator", "event_service", "reservation_service", "payment_service")
# Leaf frames of a thread or event loop that waits: not CPU work, left out of the shares.
IDLE = (
    "Condition.wait (threading.py)",
    "_worker (concurrent/futures/thread.py)",
    "Runner.run (asyncio/runners.py)",
)
OURS = ("saga_orchestrator/", "event_service/", "reservation_service/", "payment_service/", "shared/")


def summarize(raw: Path, top: int = 25) -> str:
    """Own and inclusive sample counts per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not count_s.isdigit():
            continue
        count = int(count_s)
        frames = [_short(f) for f in stack.split(";") if f]
        if not frames or frames[-1] in IDLE:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "  (no samples)\n"
    lines = [f"  {total} busy samples (waiting threads and the idle event loop left out)"]
    lines.append("  own time (where the CPU is):")
    lines += [f"    {100 * n / total:5.1f} %  {f}" for f, n in own.most_common(top)]
    lines.append("  inclusive time, our code only (what it costs, callees included):")
    ours = [(f, n) for f, n in inclusive.most_common() if any(o in f for o in OURS)]
    lines += [f"    {100 * n / total:5.1f} %  {f}" for f, n in ours[:top]]
    return "\n".join(lines) + "\n"


def _short(frame: str) -> str:
    # "func (path/to/module.py:123)" -> "func (module path from site-packages or the repo)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", str(ROOT) + "/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


async def load(urls: dict[str, str], concurrency: int, seconds: float) -> int:
    async with (
        http_client(urls["saga_orchestrator"], concurrency) as saga,
        http_client(urls["event_service"]) as ev,
    ):
        event_id = await create_event(ev, capacity=1_000_000, price=PRICE, label="profile")

        async def one(client: int, i: int) -> object:
            return await run_saga(saga, event_id=event_id, seats=1, price=PRICE)

        await closed_loop(one, concurrency, seconds=2)
        result = await closed_loop(one, concurrency, seconds=seconds)
        return len(result.samples)


def pg_counters(databases: list[str]) -> dict[str, dict[str, int]]:
    """Commits and rows read/written so far in each database (pg_stat_database)."""
    import psycopg

    from bench.core import PG_ADMIN

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname, xact_commit, tup_returned + tup_fetched, "
            "tup_inserted + tup_updated + tup_deleted, sessions "
            "FROM pg_stat_database WHERE datname = ANY(%s)",
            (databases,),
        ).fetchall()
    return {r[0]: {"commits": r[1], "rows_read": r[2], "rows_written": r[3], "sessions": r[4]} for r in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    fleet, _ = start_isolated()
    report = [f"profile of booking sagas, {args.concurrency} clients, {args.seconds:.0f} s, {machine()}"]
    try:
        urls = {pkg: fleet.url(pkg) for pkg in PROFILED}
        with tempfile.TemporaryDirectory() as tmp:
            spies = {}
            for pkg in PROFILED:
                pid = (fleet.run_dir / f"{pkg}.pid").read_text().strip()
                out = Path(tmp) / f"{pkg}.txt"
                spies[pkg] = (
                    subprocess.Popen(
                        [
                            spy,
                            "record",
                            "-p",
                            pid,
                            "-r",
                            "100",
                            "-d",
                            str(int(args.seconds) + 2),
                            "-f",
                            "raw",
                            "-o",
                            str(out),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    ),
                    out,
                )
            from sqlalchemy.engine import make_url

            databases = {
                pkg: str(make_url(fleet.env[key]).database)
                for pkg, key in (
                    ("saga_orchestrator", "SAGA_DATABASE_URL"),
                    ("event_service", "EVENT_DATABASE_URL"),
                    ("payment_service", "PAYMENT_DATABASE_URL"),
                )
            }
            before = pg_counters(list(databases.values()))
            sagas = asyncio.run(load(urls, args.concurrency, args.seconds))
            after = pg_counters(list(databases.values()))
            report.append(f"{sagas} sagas completed while sampled")
            report.append("PostgreSQL work per saga (pg_stat_database deltas; pollers' reads included):")
            for pkg, db in databases.items():
                d = {k: (after[db][k] - before[db][k]) / max(sagas, 1) for k in after[db]}
                report.append(
                    f"  {pkg:<20} {d['commits']:6.1f} commits  {d['rows_read']:8.1f} rows read  "
                    f"{d['rows_written']:6.1f} rows written  {d['sessions']:5.2f} new connections"
                )
            for pkg, (process, out) in spies.items():
                process.wait(timeout=60)
                report.append(f"\n== {pkg}")
                report.append(summarize(out) if out.exists() else "  (py-spy wrote nothing)")
    finally:
        fleet.discard()
    text = "\n".join(report)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"profile-{datetime.now(UTC):%Y-%m-%d}-{machine()['name']}.txt"
    path.write_text(text + "\n")
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
