"""The analytics app: its OpenSearch index and the projection consumer."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opensearchpy import AsyncOpenSearch

from analytics_service import api
from analytics_service.settings import AnalyticsSettings
from shared.messaging.broker import Broker
from shared.web import create_service_app


def create_app(settings: AnalyticsSettings | None = None) -> FastAPI:
    settings = settings or AnalyticsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        search = AsyncOpenSearch(hosts=[settings.opensearch_url], timeout=5)
        broker = Broker(settings, app.state.metrics)
        app.state.search = search
        app.state.broker = broker

        async def search_health() -> None:
            health = await search.cluster.health()
            if health.get("status") not in ("green", "yellow"):
                raise RuntimeError(f"cluster status {health.get('status')}")

        app.state.readiness["opensearch"] = search_health
        app.state.optional_checks["rabbitmq"] = broker.ping
        await broker.start()
        try:
            yield
        finally:
            await broker.close()
            await search.close()

    return create_service_app(
        settings,
        title="Analytics service",
        description="Search and occupancy metrics of events, projected from domain messages.",
        lifespan=lifespan,
        routers=[api.router],
    )
