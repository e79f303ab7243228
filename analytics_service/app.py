"""The analytics app: its OpenSearch indices (created in the background until OpenSearch
answers) and the projection consumer."""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as SearchUnreachable

from analytics_service import api
from analytics_service.messaging import Projection
from analytics_service.service import Analytics
from analytics_service.settings import AnalyticsSettings
from analytics_service.store import AnalyticsStore, SearchUnavailable
from shared.clock import utc_now
from shared.forever import retry_forever
from shared.problem import problem
from shared.wiring import Wiring, service_app

log = logging.getLogger(__name__)


async def _ensure_forever(store: AnalyticsStore, ready: asyncio.Event) -> None:
    # OpenSearch may be down when the service starts: it serves (and /ready says 503) until
    # the indices exist.
    await retry_forever(store.ensure_indexes, what="creating the analytics indices")
    ready.set()


def create_app(
    settings: AnalyticsSettings | None = None, clock: Callable[[], datetime] | None = None
) -> FastAPI:
    settings = settings or AnalyticsSettings()
    now = clock or utc_now

    async def start(wire: Wiring) -> None:
        search = AsyncOpenSearch(hosts=[settings.opensearch_url], timeout=5)
        wire.on_stop(search.close)
        store = AnalyticsStore(search, settings.index)
        index_ready = asyncio.Event()
        broker = wire.broker(settings, engine_down=(SearchUnreachable, SearchUnavailable))
        projection = Projection(store, index_ready, wire.state.metrics, now)
        broker.add_consumer(projection.consumer())
        wire.state.search = search
        wire.state.store = store
        wire.state.index_ready = index_ready
        wire.state.projection = projection
        wire.state.analytics = Analytics(store, index_ready, now)

        async def search_health() -> None:
            health = await search.cluster.health()
            if health.get("status") not in ("green", "yellow"):
                raise RuntimeError(f"cluster status {health.get('status')}")
            if not index_ready.is_set():
                raise RuntimeError(f"index {settings.index} not created yet")

        wire.required("opensearch", search_health)
        await wire.start_messaging()
        wire.background(_ensure_forever(store, index_ready), name="analytics-ensure-index")

    app = service_app(
        settings,
        title="Analytics service",
        description="Search and occupancy metrics of events, projected from domain messages.",
        start=start,
        routers=[api.router],
    )

    async def on_search_down(_: Request, exc: Exception) -> JSONResponse:
        log.warning("OpenSearch unreachable: %r", exc)
        return problem(503, "Service unavailable", "The search engine is not reachable; retry shortly.")

    app.add_exception_handler(SearchUnreachable, on_search_down)
    # Answering but unable to serve (starting, blocked, overloaded): the same to a client.
    app.add_exception_handler(SearchUnavailable, on_search_down)
    return app
