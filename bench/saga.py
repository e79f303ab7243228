"""Booking saga, closed loop: completed sagas per second, latency from the saga log and as
the client saw it, a mix with 10 % declined payments (compensation path), and the seats check
(no seat oversold, none leaked) on a scarce event many clients race for."""

import math
from collections import defaultdict
from typing import Any

from bench.core import Config, LoopResult, Report, closed_loop, http_client, pct, progress
from bench.fleetapi import EXPENSIVE_PRICE, PRICE, SagaRun, create_event, get_event, run_saga
from bench.footprint import cpu_snapshot, cpu_spent

NAME = "saga"


def _runs(result: LoopResult) -> list[SagaRun]:
    return [s.value for s in result.samples]


async def run(config: Config, report: Report) -> None:
    size = config.size
    async with (
        http_client(config.urls["saga_orchestrator"], max(config.concurrency)) as saga,
        http_client(config.urls["event_service"]) as events,
    ):
        # Seats each event sold according to the sagas that COMPLETED on it.
        sold: dict[int, int] = defaultdict(int)

        def account(result: LoopResult) -> None:
            for r in _runs(result):
                if r.status == "COMPLETED":
                    sold[r.event_id] += r.seats

        expensive = await create_event(events, capacity=1_000_000, price=EXPENSIVE_PRICE, label="expensive")
        for c in config.concurrency:
            event_id = await create_event(events, capacity=1_000_000, price=PRICE, label=f"saga c{c}")

            async def plain(client: int, i: int, event_id: int = event_id) -> SagaRun:
                return await run_saga(saga, event_id=event_id, seats=1 + (client + i) % 4, price=PRICE)

            async def mixed(client: int, i: int, event_id: int = event_id) -> SagaRun:
                # Every tenth saga books 2 seats on the expensive event: its payment is declined
                # (1,200,000 XOF > the 1,000,000 threshold) and the saga compensates.
                if (client * 7 + i) % 10 == 1:
                    return await run_saga(saga, event_id=expensive, seats=2, price=EXPENSIVE_PRICE)
                return await run_saga(saga, event_id=event_id, seats=1 + (client + i) % 4, price=PRICE)

            progress(f"[saga c={c}] warm-up {size.warmup_seconds:.1f} s")
            account(await closed_loop(plain, c, seconds=size.warmup_seconds))
            plain_rounds = []
            cpu_rounds: list[dict[str, float]] = []
            for r in range(config.rounds):
                cpu_before = cpu_snapshot(config.run_dir)
                result = await closed_loop(plain, c, seconds=size.round_seconds)
                cpu_rounds.append(cpu_spent(cpu_before, cpu_snapshot(config.run_dir)))
                account(result)
                plain_rounds.append(result)
                runs = _runs(result)
                done = [x for x in runs if x.status == "COMPLETED"]
                progress(
                    f"[saga c={c}] round {r + 1}/{config.rounds}: "
                    f"{len(done) / result.elapsed:.1f} completed/s, "
                    f"p50 {pct([x.server_ms for x in done], 50):.0f} ms, "
                    f"{len(runs) - len(done)} not completed, {len(result.errors)} errors"
                )
            _plain_figures(report, c, plain_rounds)
            _cpu_figures(report, c, plain_rounds, cpu_rounds)
            mix_rounds = []
            for r in range(config.rounds):
                result = await closed_loop(mixed, c, seconds=size.round_seconds)
                account(result)
                mix_rounds.append(result)
                progress(f"[saga mix c={c}] round {r + 1}/{config.rounds}: {result.rate:.1f} terminal/s")
            _mix_figures(report, c, mix_rounds)
            booked = (await get_event(events, event_id))["bookedSeats"]
            report.check(
                NAME,
                f"seats_consistent_c{c}",
                {"bookedSeats": booked, "seatsOfCompletedSagas": sold[event_id]},
                booked == sold[event_id],
                concurrency=c,
            )
        booked = (await get_event(events, expensive))["bookedSeats"]
        report.check(NAME, "declined_sagas_hold_no_seats", {"bookedSeats": booked}, booked == sold[expensive])
        await _scarce(config, report, saga, events)


def _plain_figures(report: Report, c: int, rounds: list[LoopResult]) -> None:
    completed = [[x for x in _runs(r) if x.status == "COMPLETED"] for r in rounds]
    n = sum(len(d) for d in completed)
    kw: dict[str, Any] = {"samples": n, "concurrency": c}
    report.figure(
        NAME,
        "throughput",
        "sagas/s",
        [len(d) / r.elapsed for d, r in zip(completed, rounds, strict=True)],
        **kw,
    )
    for p in (50, 95, 99):
        report.figure(NAME, f"server_p{p}", "ms", [pct([x.server_ms for x in d], p) for d in completed], **kw)
    for p in (50, 95, 99):
        report.figure(
            NAME,
            f"client_p{p}",
            "ms",
            [pct([x.client_seconds * 1000 for x in d], p) for d in completed],
            **kw,
        )
    report.figure(
        NAME, "polls_per_saga", "GETs", [sum(x.polls for x in d) / max(len(d), 1) for d in completed], **kw
    )
    not_completed = sum(len(_runs(r)) - len(d) for r, d in zip(rounds, completed, strict=True))
    errors = sum(len(r.errors) for r in rounds)
    report.figure(
        NAME,
        "not_completed",
        "sagas",
        [float(not_completed)],
        samples=n + not_completed,
        concurrency=c,
        errors=errors,
        sampleErrors=[e for r in rounds for e in r.errors][:5],
    )


def _cpu_figures(report: Report, c: int, rounds: list[LoopResult], cpu: list[dict[str, float]]) -> None:
    """CPU milliseconds each process (and each engine, all its processes) spent per completed
    saga: where one saga's work goes, whatever the latency hides behind waiting."""
    completed = [sum(1 for x in _runs(r) if x.status == "COMPLETED") for r in rounds]
    n = sum(completed)
    if not n:
        return
    names = sorted(set.intersection(*(set(u) for u in cpu))) if cpu else []
    total = [0.0] * len(cpu)
    for name in names:
        per_round = [1000 * u[name] / k for u, k in zip(cpu, completed, strict=True) if k]
        report.figure(NAME, f"cpu_ms_per_saga_{name}", "ms", per_round, samples=n, concurrency=c)
        if name != "bench_client":
            total = [t + 1000 * u[name] / max(k, 1) for t, u, k in zip(total, cpu, completed, strict=True)]
    if names:
        report.figure(NAME, "cpu_ms_per_saga_fleet_and_engines", "ms", total, samples=n, concurrency=c)


def _mix_figures(report: Report, c: int, rounds: list[LoopResult]) -> None:
    runs = [_runs(r) for r in rounds]
    n = sum(len(x) for x in runs)
    comp = [[x for x in rr if x.status == "COMPENSATED"] for rr in runs]
    ok = [[x for x in rr if x.status == "COMPLETED"] for rr in runs]
    kw: dict[str, Any] = {"samples": n, "concurrency": c}
    report.figure(NAME, "mix_throughput", "sagas/s", [r.rate for r in rounds], **kw)
    report.figure(
        NAME,
        "mix_compensated_share",
        "%",
        [100 * len(cc) / max(len(rr), 1) for cc, rr in zip(comp, runs, strict=True)],
        **kw,
    )
    nc = sum(len(cc) for cc in comp)
    report.figure(
        NAME,
        "mix_compensated_server_p50",
        "ms",
        [pct([x.server_ms for x in cc], 50) for cc in comp],
        samples=nc,
        concurrency=c,
    )
    report.figure(
        NAME,
        "mix_compensated_server_p99",
        "ms",
        [pct([x.server_ms for x in cc], 99) for cc in comp],
        samples=nc,
        concurrency=c,
    )
    report.figure(
        NAME,
        "mix_completed_server_p99",
        "ms",
        [pct([x.server_ms for x in oo], 99) for oo in ok],
        samples=sum(len(oo) for oo in ok),
        concurrency=c,
    )
    failed = sum(1 for rr in runs for x in rr if x.status == "COMPENSATION_FAILED")
    report.check(NAME, f"mix_no_compensation_failed_c{c}", failed, failed == 0, concurrency=c)


async def _scarce(config: Config, report: Report, saga: Any, events: Any) -> None:
    """Many clients race for a small event: sold seats must equal booked seats, within capacity."""
    capacity = config.size.scarce_capacity
    c = max(config.concurrency)
    event_id = await create_event(events, capacity=capacity, price=PRICE, label="scarce")

    async def one_seat(client: int, i: int) -> Any:
        return await run_saga(saga, event_id=event_id, seats=1, price=PRICE)

    per_client = math.ceil(1.5 * capacity / c)
    progress(f"[saga scarce] {c} clients x {per_client} one-seat sagas on a {capacity}-seat event")
    result = await closed_loop(one_seat, c, count=per_client)
    runs = _runs(result)
    completed = sum(1 for x in runs if x.status == "COMPLETED")
    refused = sum(1 for x in runs if x.status == "COMPENSATED")
    event = await get_event(events, event_id)
    booked = int(event["bookedSeats"])
    oversold = max(0, completed - booked) + max(0, booked - capacity)
    leaked = max(0, booked - completed)
    report.details["saga_scarce"] = {
        "capacity": capacity,
        "sagas": len(runs),
        "completed": completed,
        "refused": refused,
        "bookedSeats": booked,
        "availableSeats": event.get("availableSeats"),
        "errors": len(result.errors),
        "concurrency": c,
    }
    report.check(NAME, "oversold", oversold, oversold == 0, concurrency=c, samples=len(runs))
    report.check(NAME, "leaked", leaked, leaked == 0, concurrency=c, samples=len(runs))
    report.check(NAME, "scarce_refusals_seen", refused, refused > 0, concurrency=c)
