"""Tracing's cost (docs/tracing.md, docs/performance.md): the same booking sagas on two
isolated fleets started side by side, one with tracing off and one with it on (every saga
sampled, exported to ZIPKIN_ENDPOINT), their rounds taken in turn so both see the same machine;
CPU per completed saga of the seven services, and of the services and engines together.

The engines are shared by both fleets, but only the fleet whose round runs is busy: the
engines' CPU during a round is that fleet's (Zipkin's too: a trace's storage is its cost)."""

from typing import Any

import httpx

from bench.core import Config, LoopResult, Report, closed_loop, http_client, pct, progress
from bench.fleetapi import PRICE, SagaRun, create_event, run_saga
from bench.footprint import cpu_snapshot, cpu_spent, start_isolated
from fleetctl.fleet import PACKAGES

NAME = "tracing"
MODES = ("off", "on")


def _zipkin_reachable(endpoint: str) -> bool:
    base = endpoint.split("/api/", 1)[0]
    try:
        return httpx.get(f"{base}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def run(config: Config, report: Report) -> None:
    fleets: dict[str, Any] = {}
    try:
        for mode in MODES:
            progress(f"[tracing] starting an isolated fleet with tracing {mode}")
            fleets[mode], seconds = start_isolated(
                env={"TRACING_ENABLED": "true" if mode == "on" else "false"}
            )
            progress(f"[tracing] fleet ({mode}) ready in {seconds:.1f} s")
        endpoint = fleets["on"].service_env().get("ZIPKIN_ENDPOINT", "http://127.0.0.1:9411/api/v2/spans")
        reachable = _zipkin_reachable(endpoint)
        report.details[NAME] = {"zipkinEndpoint": endpoint, "zipkinReachable": reachable}
        progress(
            f"[tracing] Zipkin at {endpoint}: {'up' if reachable else 'DOWN: spans are made, then dropped'}"
        )
        for c in config.concurrency:
            await _compare(config, report, fleets, c)
    finally:
        for fleet in fleets.values():
            fleet.discard()


async def _compare(config: Config, report: Report, fleets: dict[str, Any], c: int) -> None:
    size = config.size
    rounds: dict[str, list[LoopResult]] = {m: [] for m in MODES}
    cpu: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    clients = {
        m: (http_client(f.url("saga_orchestrator"), c), http_client(f.url("event_service")))
        for m, f in fleets.items()
    }
    try:
        events = {
            m: await create_event(e, capacity=1_000_000, price=PRICE, label=f"tracing {m} c{c}")
            for m, (_, e) in clients.items()
        }

        def plain(mode: str) -> Any:
            saga = clients[mode][0]

            async def one(client: int, i: int) -> SagaRun:
                return await run_saga(saga, event_id=events[mode], seats=1 + (client + i) % 4, price=PRICE)

            return one

        for mode in MODES:
            progress(f"[tracing {mode} c={c}] warm-up {size.warmup_seconds:.1f} s")
            await closed_loop(plain(mode), c, seconds=size.warmup_seconds)
        for r in range(config.rounds):
            for mode in MODES:
                before = cpu_snapshot(fleets[mode].run_dir)
                result = await closed_loop(plain(mode), c, seconds=size.round_seconds)
                cpu[mode].append(cpu_spent(before, cpu_snapshot(fleets[mode].run_dir)))
                rounds[mode].append(result)
                done = sum(1 for s in result.samples if s.value.status == "COMPLETED") / result.elapsed
                progress(f"[tracing {mode} c={c}] round {r + 1}/{config.rounds}: {done:.1f} completed/s")
    finally:
        for saga, events_client in clients.values():
            await saga.aclose()
            await events_client.aclose()
    per_saga: dict[str, list[float]] = {}
    for mode in MODES:
        completed = [[s.value for s in r.samples if s.value.status == "COMPLETED"] for r in rounds[mode]]
        counts = [len(d) for d in completed]
        n = sum(counts)
        if not n:
            continue
        kw: dict[str, Any] = {"samples": n, "concurrency": c}
        services = [
            1000 * sum(u.get(p, 0.0) for p in PACKAGES) / max(k, 1)
            for u, k in zip(cpu[mode], counts, strict=True)
        ]
        everything = [
            1000 * sum(v for name, v in u.items() if name != "bench_client") / max(k, 1)
            for u, k in zip(cpu[mode], counts, strict=True)
        ]
        report.figure(NAME, f"cpu_ms_per_saga_services_{mode}", "ms", services, **kw)
        report.figure(NAME, f"cpu_ms_per_saga_fleet_and_engines_{mode}", "ms", everything, **kw)
        report.figure(
            NAME,
            f"throughput_{mode}",
            "sagas/s",
            [k / r.elapsed for k, r in zip(counts, rounds[mode], strict=True)],
            **kw,
        )
        report.figure(
            NAME, f"server_p50_{mode}", "ms", [pct([x.server_ms for x in d], 50) for d in completed], **kw
        )
        if "zipkin" in {name for u in cpu[mode] for name in u}:
            report.figure(
                NAME,
                f"cpu_ms_per_saga_zipkin_{mode}",
                "ms",
                [1000 * u.get("zipkin", 0.0) / max(k, 1) for u, k in zip(cpu[mode], counts, strict=True)],
                **kw,
            )
        per_saga[mode] = services
    if len(per_saga) == 2:
        ratios = [on / off for on, off in zip(per_saga["on"], per_saga["off"], strict=True) if off > 0]
        report.figure(NAME, "ratio_services_cpu_on_to_off", "x", ratios, samples=len(ratios), concurrency=c)
