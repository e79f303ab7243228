"""`python -m bench`: run the scenarios against a running fleet, print a table, write JSON.

    python -m bench                               # full size, c=1,16, 3 rounds, every scenario
    python -m bench --size small --concurrency 1,2 --rounds 1 --scenarios saga,cache
    python -m bench --isolated                    # start a throwaway fleet for the run
    python -m bench --tracing both --scenarios saga   # + CPU per saga with tracing off and on

`--tracing on|off` is the throwaway fleet's tracing (--isolated; a running fleet keeps what it
was started with). Off by default: the figures measure the fleet's own work, comparable with
runs from before tracing; `--tracing both` adds the `tracing` scenario: two throwaway fleets, one
with tracing off and one on, their rounds in turn (bench/tracing.py).

Base URLs default to the fleet's ports; BENCH_<PACKAGE>_URL (e.g. BENCH_SAGA_ORCHESTRATOR_URL)
overrides each, BENCH_QUEUE_PREFIX / BENCH_RUN_DIR / BENCH_EVENT_STORE_DATABASE / BENCH_REDIS_URL point the
drain check, the footprint, the replay-only event store and the cache bypass at another fleet;
BENCH_MONGO_URL is the MongoDB-wire engine the raw insert rate is measured on."""

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cache, eventstore, footprint, markdown, peer, peer_http, projection, saga, tracing
from bench.core import SCENARIOS, SIZES, Config, Report, machine, progress

RUNNERS = {
    "saga": saga.run,
    "peer": peer.run,
    "peer-http": peer_http.run,
    "cache": cache.run,
    "eventstore": eventstore.run,
    "projection": projection.run,
    tracing.NAME: tracing.run,
}
# Not in a default run: it starts two fleets of its own (`--tracing both` asks for it).
OPTIONAL_SCENARIOS = (tracing.NAME,)
NOISE_NOTE = (
    "2 shared cores: the load generator, the seven services, the engines and (when taken during "
    "development) other test runs share them; figures are noisy, compare ratios more than absolutes"
)


def parse(argv: list[str] | None) -> tuple[Config, bool]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated client counts")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per figure (after a warm-up)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"any of {','.join(SCENARIOS)}")
    parser.add_argument("--out", type=Path, default=None, help="folder for the JSON (default bench/results)")
    parser.add_argument("--machine", default=None, help="machine label in the file name (default: hostname)")
    parser.add_argument("--note", default=NOISE_NOTE, help="note stored in the JSON")
    parser.add_argument("--isolated", action="store_true", help="start a throwaway fleet for the run")
    parser.add_argument("--no-cold-start", action="store_true", help="footprint without the cold-start fleet")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--tracing",
        choices=("on", "off", "both"),
        default="off",
        help="the isolated fleet's tracing (off: what a measurement of the fleet's own work needs; "
        "the fleet's default is on); both: also CPU per saga with tracing off and on, side by "
        "side (scenario tracing)",
    )
    args = parser.parse_args(argv)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if args.tracing == "both" and tracing.NAME not in scenarios:
        scenarios.append(tracing.NAME)
    known = (*SCENARIOS, *OPTIONAL_SCENARIOS)
    unknown = [s for s in scenarios if s not in known]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; known: {', '.join(known)}")
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    config = Config(
        size=SIZES[args.size],
        concurrency=[int(c) for c in args.concurrency.split(",")],
        rounds=args.rounds,
        scenarios=scenarios,
        urls=Config.urls_from_env(),
        machine_name=args.machine,
        note=args.note,
        cold_start=not args.no_cold_start,
        write=not args.no_write,
    )
    config.tracing = args.tracing
    config.queue_prefix = os.environ.get("BENCH_QUEUE_PREFIX", "")
    config.event_store_database = os.environ.get("BENCH_EVENT_STORE_DATABASE", config.event_store_database)
    config.redis_url = os.environ.get("BENCH_REDIS_URL", config.redis_url)
    config.mongo_url = os.environ.get("BENCH_MONGO_URL", config.mongo_url)
    if "BENCH_RUN_DIR" in os.environ:
        config.run_dir = Path(os.environ["BENCH_RUN_DIR"])
    if args.out is not None:
        config.out_dir = args.out
    return config, args.isolated


async def run(config: Config) -> dict[str, Any]:
    report = Report(machine(config.machine_name))
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    progress(f"bench: size={config.size.name} concurrency={config.concurrency} rounds={config.rounds}")
    progress(f"machine: {report.tag}; scenarios: {', '.join(config.scenarios)}")
    timings: dict[str, float] = {}
    failures: dict[str, str] = {}
    # How busy the machine was: on shared cores, a load above the core count means contention.
    load_start = os.getloadavg()
    if "footprint" in config.scenarios:
        footprint.record(report, "idle", config.run_dir)
    for name in config.scenarios:
        if name not in RUNNERS:
            continue
        progress(f"--- {name}")
        s0 = time.perf_counter()
        try:
            await RUNNERS[name](config, report)
        except Exception as exc:  # one broken scenario must not hide the others' figures
            failures[name] = f"{type(exc).__name__}: {exc}"
            progress(f"!!! {name} failed: {failures[name]}")
        timings[name] = round(time.perf_counter() - s0, 1)
    if "saga" in config.scenarios and "peer" in config.scenarios:
        peer.ratios(report, config.concurrency)
    if "saga" in config.scenarios and peer_http.NAME in config.scenarios:
        peer.ratios(report, config.concurrency, peer=peer_http.NAME, label="peer_http")
    if "footprint" in config.scenarios:
        progress("--- footprint")
        s0 = time.perf_counter()
        footprint.record(report, "after", config.run_dir)
        if config.cold_start:
            try:
                footprint.cold_start(config, report)
            except Exception as exc:
                failures["footprint"] = f"{type(exc).__name__}: {exc}"
                progress(f"!!! cold start failed: {failures['footprint']}")
        timings["footprint"] = round(time.perf_counter() - s0, 1)
    return {
        "benchmark": "tp4-ticketing",
        "startedAt": started.isoformat(),
        "seconds": round(time.perf_counter() - t0, 1),
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "machine": report.machine,
        "size": config.size.name,
        "concurrency": config.concurrency,
        "rounds": config.rounds,
        "scenarios": config.scenarios,
        "tracing": config.tracing,
        "note": config.note,
        "loadAverage": {"start": load_start, "end": os.getloadavg()},
        "urls": config.urls,
        "scenarioSeconds": timings,
        "failures": failures,
        "figures": report.figures,
        "checks": report.checks,
        "details": report.details,
        "table": report.table(),
    }


def write(config: Config, result: dict[str, Any]) -> Path:
    config.out_dir.mkdir(parents=True, exist_ok=True)
    day = result["startedAt"][:10]
    path = config.out_dir / f"{day}-{result['machine']['name']}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM unwinds like an exception, so the fleets this run started are stopped and removed.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    config, isolated = parse(argv)
    signal.signal(signal.SIGTERM, _terminate)
    fleet = None
    if isolated:
        progress("starting an isolated fleet ...")
        # `both`: the main fleet without tracing, as `off`; the tracing scenario compares.
        enabled = "true" if config.tracing == "on" else "false"
        fleet, seconds = footprint.start_isolated(env={"TRACING_ENABLED": enabled})
        progress(f"isolated fleet ready in {seconds:.1f} s")
        config.urls = {pkg: fleet.url(pkg) for pkg in config.urls}
        config.queue_prefix = fleet.env["AMQP_QUEUE_PREFIX"]
        config.event_store_database = fleet.env["EVENT_STORE_MONGO_DATABASE"]
        config.run_dir = fleet.run_dir
        config.redis_url = fleet.env.get("PAYMENT_REDIS_URL", config.redis_url)
        # The bench calls internal endpoints (payments, appends, the HTTP peer's steps) as the
        # fleet's services do: with this fleet's own tokens, not the data folder's.
        os.environ["SERVICE_TOKEN"] = fleet.env["SERVICE_TOKEN"]
        os.environ["OPERATOR_TOKEN"] = fleet.env["OPERATOR_TOKEN"]
    try:
        result = asyncio.run(run(config))
    finally:
        if fleet is not None:
            fleet.discard()
    result["goals"] = markdown.goals(result)
    print(result["table"])
    print()
    print(markdown.goals_table(result))
    if config.write:
        path = write(config, result)
        print(f"figures written to {path}")
    bad = [c for c in result["checks"] if not c["ok"]]
    return 1 if result["failures"] or bad else 0


if __name__ == "__main__":
    sys.exit(main())
