"""Event store: appends per second (each client its own aggregate, with and without
expectedVersion; and all clients racing on one aggregate without it), and reconstruct of a
long aggregate from the newest snapshot versus a full replay.

Beside the appends without expectedVersion, the same documents are inserted straight into the
MongoDB-wire engine (pymongo, same concurrency, a collection with the events collection's
indexes): what the service adds over the engine's own insert rate is the ratio of the two.

The full replay is measured on a second event-store process started here with
EVENT_STORE_SNAPSHOT_EVERY=0 on the same MongoDB database (so it reads the very same events,
never looks at snapshots) and a broker URL that leads nowhere (so it consumes nothing)."""

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from bench.client import LoadClient
from bench.core import ROOT, Config, LoopResult, Report, closed_loop, http_client, pct, progress

NAME = "eventstore"


def _event(aggregate: str, n: int, expected: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "aggregateId": aggregate,
        "aggregateType": "BENCH",
        "eventType": "bench.counted",
        "eventData": {"n": n, "total": n, "note": "x" * 40},
    }
    if expected is not None:
        body["expectedVersion"] = expected
    return body


async def run(config: Config, report: Report) -> None:
    size = config.size
    tag = uuid.uuid4().hex[:8]
    async with (
        http_client(config.urls["event_store_service"], max(config.concurrency)) as client,
        raw_events(config, tag) as raw,
    ):
        for with_version in (True, False):
            label = "append_expected_version" if with_version else "append"
            for c in config.concurrency:
                versions: dict[int, int] = {}
                run_tag = uuid.uuid4().hex[:6]

                async def append(
                    n: int,
                    i: int,
                    with_version: bool = with_version,
                    run_tag: str = run_tag,
                    versions: dict[int, int] = versions,
                ) -> None:
                    aggregate = f"BENCH-{tag}-{run_tag}-{n}"
                    expected = versions.get(n, 0) if with_version else None
                    answer = await client.post("/api/events", json=_event(aggregate, i, expected))
                    if answer.status_code != 201:
                        raise RuntimeError(f"append answered {answer.status_code}: {answer.text[:200]}")
                    versions[n] = int(answer.json()["version"])

                progress(f"[eventstore {label} c={c}] warm-up")
                await closed_loop(append, c, count=max(3, size.appends // 10))
                rounds = [await closed_loop(append, c, count=size.appends) for _ in range(config.rounds)]
                _append_figures(report, label, c, rounds)
                if not with_version:
                    await _raw_inserts(config, report, raw, c, rounds)
        c = max(config.concurrency)
        shared = f"BENCH-{tag}-shared"

        async def racing(n: int, i: int) -> None:
            answer = await client.post("/api/events", json=_event(shared, i, None))
            if answer.status_code != 201:
                raise RuntimeError(f"append answered {answer.status_code}: {answer.text[:200]}")

        progress(f"[eventstore racing c={c}] {c} clients on one aggregate, no expectedVersion")
        rounds = [await closed_loop(racing, c, count=max(2, size.appends // 4)) for _ in range(config.rounds)]
        _append_figures(report, "append_one_aggregate_racing", c, rounds)
        history = (await client.get(f"/api/aggregates/{shared}/history", params={"limit": 1000})).json()
        got = [e["version"] for e in history["events"]]
        report.check(NAME, "racing_appends_gapless", len(got), got == list(range(1, len(got) + 1)))
        await _reconstruct(config, report, client, f"BENCH-{tag}-long")


def _append_figures(
    report: Report, label: str, c: int, rounds: list[LoopResult], unit: str = "appends/s"
) -> None:
    n = sum(len(r.samples) for r in rounds)
    errors = sum(len(r.errors) for r in rounds)
    kw: dict[str, Any] = {"samples": n, "concurrency": c, "errors": errors}
    report.figure(NAME, f"{label}_per_s", unit, [r.rate for r in rounds], **kw)
    report.figure(NAME, f"{label}_p50", "ms", [pct(r.latencies_ms(), 50) for r in rounds], **kw)
    report.figure(NAME, f"{label}_p99", "ms", [pct(r.latencies_ms(), 99) for r in rounds], **kw)


@asynccontextmanager
async def raw_events(config: Config, tag: str) -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    """A collection beside the event store's `events`, with the same indexes (read from it, so
    the engine maintains what it maintains for an append), dropped at the end."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        config.mongo_url, tz_aware=True, maxPoolSize=max(config.concurrency) * 2
    )
    try:
        database = client[config.event_store_database]
        collection = database[f"bench_raw_events_{tag}"]
        async for index in await database["events"].list_indexes():
            if index["name"] != "_id_":
                await collection.create_index(
                    list(index["key"].items()), name=index["name"], unique=bool(index.get("unique"))
                )
        try:
            yield collection
        finally:
            await collection.drop()
    finally:
        await client.close()


async def _raw_inserts(
    config: Config,
    report: Report,
    collection: AsyncCollection[dict[str, Any]],
    c: int,
    appends: list[LoopResult],
) -> None:
    """The documents an append stores, inserted by `c` clients straight into the engine (each
    client its own aggregate, versions in order, the driver's default write concern as the
    service's), `config.rounds` rounds of as many inserts as the appends; and appends/s over
    HTTP ÷ these inserts/s, round by round."""
    run_tag = uuid.uuid4().hex[:6]
    versions: dict[int, int] = {}

    async def insert(n: int, i: int) -> None:
        version = versions.get(n, 0) + 1
        now = datetime.now(UTC)
        body = _event(f"RAW-{run_tag}-{n}", i, None)
        await collection.insert_one(
            {
                "eventId": str(uuid.uuid4()),
                **body,
                "metadata": {},
                "version": version,
                "occurredAt": now,
                "recordedAt": now,
            }
        )
        versions[n] = version

    progress(f"[eventstore raw_insert c={c}] warm-up")
    await closed_loop(insert, c, count=max(3, config.size.appends // 10))
    rounds = [await closed_loop(insert, c, count=config.size.appends) for _ in range(config.rounds)]
    _append_figures(report, "raw_insert", c, rounds, unit="inserts/s")
    pairs = zip(appends, rounds, strict=True)
    report.figure(
        NAME,
        "ratio_append_to_raw_insert",
        "x",
        [http.rate / raw.rate if raw.rate else float("nan") for http, raw in pairs],
        samples=sum(len(r.samples) for r in (*appends, *rounds)),
        concurrency=c,
        method="append_per_s ÷ raw_insert_per_s, round by round",
    )


async def _fill(client: LoadClient, aggregate: str, count: int) -> None:
    """`count` events on one aggregate, in order (each append names the version it expects)."""
    t0 = time.perf_counter()
    for v in range(count):
        answer = await client.post("/api/events", json=_event(aggregate, v + 1, v))
        answer.raise_for_status()
        if (v + 1) % 2000 == 0:
            progress(f"[eventstore reconstruct] {v + 1}/{count} events ({time.perf_counter() - t0:.0f} s)")


async def _reconstruct(config: Config, report: Report, client: LoadClient, aggregate: str) -> None:
    count = config.size.aggregate_events
    progress(f"[eventstore reconstruct] appending {count} events to {aggregate}")
    await _fill(client, aggregate, count)
    calls = 3 if config.size.name == "small" else 5
    with_snapshots: dict[str, Any] = {}
    async with replay_only_store(config) as plain:
        for label, target, params in (
            ("reconstruct_snapshots", client, {}),
            ("reconstruct_full_replay", plain, {}),
            ("reconstruct_snapshots_to_version", client, {"toVersion": count - count // 200 - 1}),
        ):
            answers: list[dict[str, Any]] = []

            async def one(
                n: int,
                i: int,
                target: LoadClient = target,
                params: dict[str, Any] = params,
                answers: list[dict[str, Any]] = answers,
            ) -> None:
                answer = await target.get(f"/api/aggregates/{aggregate}/reconstruct", params=params)
                answer.raise_for_status()
                answers.append(answer.json())

            await closed_loop(one, 1, count=1)  # warm-up
            rounds = [await closed_loop(one, 1, count=calls) for _ in range(config.rounds)]
            last = answers[-1]
            report.figure(
                NAME,
                f"{label}_ms",
                "ms",
                [pct(r.latencies_ms(), 50) for r in rounds],
                samples=sum(len(r.samples) for r in rounds),
                concurrency=1,
                events=count,
                eventsApplied=last["eventsApplied"],
                fromSnapshot=last["fromSnapshot"],
            )
            report.details[label] = {
                k: last[k] for k in ("version", "latestVersion", "eventsApplied", "fromSnapshot")
            }
            if label == "reconstruct_snapshots":
                with_snapshots = last["state"]
            elif label == "reconstruct_full_replay":
                same = last["state"] == with_snapshots
                report.check(NAME, "snapshot_and_replay_agree", same, same)


class replay_only_store:
    """A second event-store process reading the same database with snapshots disabled."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self.client: LoadClient | None = None

    async def __aenter__(self) -> LoadClient:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = {
            **os.environ,
            "EVENT_STORE_PORT": str(port),
            "EVENT_STORE_SNAPSHOT_EVERY": "0",
            "EVENT_STORE_MONGO_DATABASE": self.config.event_store_database,
            # Nothing listens there: it never consumes the recorder queue nor declares one.
            "AMQP_URL": "amqp://guest:guest@127.0.0.1:1/",
            "LOG_LEVEL": "WARNING",
        }
        log = open(ROOT / ".data" / f"bench-replay-store-{port}.log", "ab")  # noqa: ASYNC230
        self.process = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
            [sys.executable, "-m", "event_store_service"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.client = LoadClient(f"http://127.0.0.1:{port}", timeout=120)
        deadline = time.monotonic() + 60
        while True:
            try:
                if (await self.client.get("/ready")).status_code == 200:
                    return self.client
            except (OSError, aiohttp.ClientError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the replay-only event store did not get ready")
            await asyncio.sleep(0.2)

    async def __aexit__(self, *exc: object) -> None:
        if self.client is not None:
            await self.client.aclose()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
