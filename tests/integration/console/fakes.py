"""A stand-in for the services the console reads (orchestrator, event service, analytics,
event store) in one small app on a free port: what they answer is set by the test, and every
request is counted. RabbitMQ's management API is the real one."""

import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from console.settings import ConsoleSettings
from tests.support import serving, unique


@dataclass
class Sources:
    url: str = ""
    sagas: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    analytics: dict[int, dict[str, Any]] = field(default_factory=dict)
    recorded: list[dict[str, Any]] = field(default_factory=list)
    delay_ms: int = 0
    hits: Counter[str] = field(default_factory=Counter)
    bookings: list[bytes] = field(default_factory=list)

    def settings(self, **overrides: Any) -> ConsoleSettings:
        tag = unique("console")
        values: dict[str, Any] = {
            "saga_url": self.url,
            "event_service_url": self.url,
            "analytics_service_url": self.url,
            "event_store_url": f"{self.url}/store",
            "amqp_exchange": f"{tag}.events",
            "amqp_queue_prefix": f"{tag}.",
            "poll_seconds": 0.1,
            "json_logs": False,
        }
        values.update(overrides)
        return ConsoleSettings(**values)


def saga(saga_id: str, status: str, steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "sagaId": saga_id,
        "status": status,
        "currentStep": steps[-1]["name"] if steps else None,
        "eventId": 1,
        "userId": "user-1",
        "seats": 2,
        "amount": 10000,
        "currency": "XOF",
        "error": None,
        "createdAt": "2030-01-01T10:00:00Z",
        "updatedAt": f"2030-01-01T10:00:0{len(steps)}Z",
        "steps": steps,
        **extra,
    }


def step(name: str, status: str = "succeeded", kind: str = "step", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "status": status,
        "attempts": 1,
        "error": None,
        "startedAt": "2030-01-01T10:00:00.000Z",
        "finishedAt": None if status == "started" else "2030-01-01T10:00:00.012Z",
        **extra,
    }


def build_app(sources: Sources) -> FastAPI:
    app = FastAPI()

    def page(items: list[Any], request: Request) -> dict[str, Any]:
        number = int(request.query_params.get("page", 1))
        size = int(request.query_params.get("size", 20))
        return {
            "items": items[(number - 1) * size : number * size],
            "total": len(items),
            "page": number,
            "size": size,
        }

    @app.get("/health")
    async def health() -> dict[str, Any]:
        sources.hits["health"] += 1
        return {"status": "ok", "service": "saga-orchestrator", "stepDelayMs": sources.delay_ms}

    @app.get("/api/saga")
    async def sagas(request: Request) -> dict[str, Any]:
        sources.hits["sagas"] += 1
        wanted = request.query_params.get("status")
        chosen = [{k: v for k, v in s.items() if k != "steps"} for s in sources.sagas]
        return page([s for s in chosen if not wanted or s["status"] == wanted], request)

    @app.get("/api/saga/{saga_id}")
    async def one_saga(saga_id: str) -> JSONResponse:
        sources.hits[f"saga:{saga_id}"] += 1
        for found in sources.sagas:
            if found["sagaId"] == saga_id:
                return JSONResponse(found)
        return JSONResponse({"status": 404, "detail": "no saga"}, status_code=404)

    @app.post("/api/saga/booking")
    async def booking(request: Request) -> JSONResponse:
        sources.bookings.append(await request.body())
        return JSONResponse({"sagaId": "s-new", "status": "STARTED"}, status_code=202)

    @app.get("/api/events")
    async def events(request: Request) -> dict[str, Any]:
        sources.hits["events"] += 1
        return page(sources.events, request)

    @app.get("/api/analytics/events/{event_id}")
    async def analytics(event_id: int) -> JSONResponse:
        if event_id in sources.analytics:
            return JSONResponse(sources.analytics[event_id])
        return JSONResponse({"status": 404, "detail": "none"}, status_code=404)

    @app.get("/store/api/events")
    async def recorded(request: Request) -> dict[str, Any]:
        return page(sources.recorded, request)

    @app.get("/store/api/aggregates/{aggregate_id}/history")
    async def history(aggregate_id: str) -> JSONResponse:
        events = [e for e in sources.recorded if e["aggregateId"] == aggregate_id]
        if not events:
            return JSONResponse({"status": 404}, status_code=404)
        return JSONResponse(
            {
                "aggregateId": aggregate_id,
                "aggregateType": events[0]["aggregateType"],
                "currentVersion": len(events),
                "events": sorted(events, key=lambda e: e["version"]),
            }
        )

    @app.get("/store/api/aggregates/{aggregate_id}/reconstruct")
    async def reconstruct(aggregate_id: str, toVersion: int) -> JSONResponse:
        events = sorted(
            (e for e in sources.recorded if e["aggregateId"] == aggregate_id), key=lambda e: e["version"]
        )
        applied = [e for e in events if e["version"] <= toVersion]
        state: dict[str, Any] = {}
        for event in applied:
            state.update(event["eventData"])
        return JSONResponse(
            {
                "aggregateId": aggregate_id,
                "version": len(applied),
                "latestVersion": len(events),
                "eventsApplied": len(applied),
                "state": state,
                "fromSnapshot": False,
            }
        )

    return app


@contextlib.asynccontextmanager
async def serve_sources() -> AsyncIterator[Sources]:
    sources = Sources()
    async with serving(build_app(sources)) as url:
        sources.url = url
        yield sources
