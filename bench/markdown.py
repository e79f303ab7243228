"""`python -m bench.markdown RESULTS.json`: the figures of a run as a Markdown table, then the
goals of issue 21 met or not by that run (for docs/performance.md)."""

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANY = 16  # the goals' "16 clients"; a run without 16 is judged at its highest concurrency


@dataclass(frozen=True)
class Goal:
    """One row of the goal table: which figure, at how many clients (1, MANY, or None for a
    figure without concurrency), the figure of the reference run before the work, the bound."""

    label: str
    scenario: str
    name: str  # a figure name, or a predicate on the names (the first matching figure)
    clients: int | None
    before: str
    at_least: float | None = None
    at_most: float | None = None
    unit: str = ""
    match: Callable[[str], bool] | None = None

    @property
    def bound(self) -> str:
        if self.at_least is not None:
            return f"≥ {self.at_least:g}{self.unit}"
        return f"≤ {self.at_most:g}{self.unit}"

    def met(self, value: float) -> bool:
        if self.at_least is not None:
            return value >= self.at_least
        return self.at_most is not None and value <= self.at_most


GOALS = (
    Goal("sagas/s, ours ÷ DBOS in-process peer", "peer", "ratio_throughput_ours_to_dbos", MANY, "0.61", 1.0),
    Goal("sagas/s, ours ÷ DBOS in-process peer", "peer", "ratio_throughput_ours_to_dbos", 1, "0.43", 1.0),
    Goal("p99, ours ÷ DBOS in-process peer", "peer", "ratio_p99_ours_to_dbos", MANY, "1.59", at_most=1.0),
    Goal(
        "CPU per saga, fleet + engines",
        "saga",
        "cpu_ms_per_saga_fleet_and_engines",
        MANY,
        "67 ms",
        at_most=33,
        unit=" ms",
    ),
    Goal(
        "cached ÷ uncached payment read, client-side p50",
        "cache",
        "ratio_bypassed_to_warm_p50",
        1,
        "3.9x",
        5,
        unit="x",
    ),
    Goal(
        "event-store appends/s over HTTP ÷ the engine's raw insert rate",
        "eventstore",
        "ratio_append_to_raw_insert",
        MANY,
        "-",
        0.5,
    ),
    Goal(
        "seven services' RSS, idle",
        "footprint",
        "idle_rss_services_total",
        None,
        "819 MiB",
        at_most=450,
        unit=" MiB",
    ),
    Goal(
        "projection lag p95 to analytics",
        "projection",
        "lag_to_analytics_p95",
        1,
        "211 ms",
        at_most=100,
        unit=" ms",
    ),
    Goal(
        "sagas/s, ours ÷ DBOS peer calling our participants over HTTP",
        "peer-http",
        "ratio_throughput_ours_to_peer_http",
        MANY,
        "-",
        1.3,
    ),
)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def table(
    result: dict[str, Any], *, skip: tuple[str, ...] = ("footprint.idle_rss_", "footprint.after_rss_")
) -> str:
    m = result["machine"]
    lines = [
        f"Machine: {m['name']} ({m['cores']} cores, {m['memoryGiB']} GiB, {m['cpu']}, Python {m['python']}); "
        f"size {result['size']}, {result['rounds']} rounds after a warm-up; {result['startedAt'][:16]} UTC.",
        "",
        "| figure | clients | median | min .. max | unit | samples |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for f in result["figures"]:
        key = f"{f['scenario']}.{f['name']}"
        if key.startswith(skip) and not key.endswith("_total"):
            continue  # one line per service: see the JSON
        lines.append(
            f"| {key} | {f['concurrency'] or '-'} | {_num(f['median'])} "
            f"| {_num(f['min'])} .. {_num(f['max'])} | {f['unit']} | {f['samples']} |"
        )
    lines += ["", "| check | value | ok |", "|---|---|---|"]
    for c in result["checks"]:
        value = (
            json.dumps(c["value"]) if not isinstance(c["value"], dict) or len(str(c["value"])) < 80 else "…"
        )
        lines.append(f"| {c['scenario']}.{c['name']} | {value} | {'yes' if c['ok'] else 'NO'} |")
    return "\n".join(lines)


def _goal_figure(result: dict[str, Any], goal: Goal) -> dict[str, Any] | None:
    found = [
        f
        for f in result["figures"]
        if f["scenario"] == goal.scenario
        and (goal.match(f["name"]) if goal.match else f["name"] == goal.name)
        and f["median"] is not None
    ]
    if goal.clients is None or goal.match:
        # A figure without concurrency (footprint) is taken as it is.
        return found[0] if found else None
    levels = sorted(f["concurrency"] for f in found if f["concurrency"])
    clients = goal.clients
    if clients == MANY and MANY not in levels and levels:
        clients = levels[-1]
    return next((f for f in found if f["concurrency"] == clients), None)


def goals(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The goal table's rows as this run measured them: value, clients, met (None: the run did
    not measure the figure)."""
    rows = []
    for goal in GOALS:
        f = _goal_figure(result, goal)
        rows.append(
            {
                "goal": goal.label,
                "figure": f"{goal.scenario}.{f['name'] if f else goal.name or '…'}",
                "clients": f["concurrency"] if f else goal.clients,
                "before": goal.before,
                "bound": goal.bound,
                "value": f["median"] if f else None,
                "unit": goal.unit,
                "met": goal.met(f["median"]) if f else None,
            }
        )
    return rows


def _load_line(result: dict[str, Any]) -> list[str]:
    """How busy the machine was: above its core count the run's processes queued for CPU, and
    its absolute figures (and the ratios less so) say more about the contention than the code."""
    load, cores = result.get("loadAverage"), result.get("machine", {}).get("cores")
    if not load or not cores:
        return []
    start, end = load["start"][0], load["end"][0]
    busy = " (above the core count: a contended run)" if max(start, end) > cores else ""
    return [
        f"Load average (1 min) {start:.1f} at the start, {end:.1f} at the end, on {cores} cores{busy}.",
        "",
    ]


def goals_table(result: dict[str, Any]) -> str:
    lines = [
        *_load_line(result),
        "| goal (issue 21) | clients | reference run (before) | goal | this run | met |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in goals(result):
        value = "not measured" if row["value"] is None else f"{_num(row['value'])}{row['unit']}"
        met = {True: "met", False: "not met", None: "-"}[row["met"]]
        lines.append(
            f"| {row['goal']} (`{row['figure']}`) | {row['clients'] or '-'} | {row['before']} "
            f"| {row['bound']} | {value} | {met} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    result = json.loads(Path(args[0]).read_text())
    print(table(result))
    print()
    print(goals_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
