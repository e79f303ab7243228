"""Reads the console shows: the services' public HTTP APIs and the RabbitMQ management API.
Every read either returns the decoded JSON or raises Unreachable naming the source."""

import uuid
from typing import Any
from urllib.parse import quote

import httpx
from opentelemetry import propagate

from console.settings import ConsoleSettings

ORCHESTRATOR = "saga orchestrator"
EVENTS = "event service"
ANALYTICS = "analytics service"
EVENT_STORE = "event store"
RABBITMQ = "RabbitMQ management API"


class Unreachable(Exception):
    """A source did not answer (down, timed out) or answered an error."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source} unreachable: {reason}")
        self.source = source
        self.reason = reason


class NotThere(Exception):
    """The source answered 404 for this item."""


class Sources:
    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.http = httpx.AsyncClient(timeout=settings.source_timeout_seconds)
        self.vhost = quote(settings.rabbitmq_vhost, safe="")

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _get(self, source: str, url: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        # The page's refreshes (every second while it is open) are no work of the fleet: sent
        # as part of a trace that is not sampled, they start none in the services, whose
        # traces in Zipkin stay the bookings' (docs/tracing.md).
        unsampled = {"traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"}
        try:
            answer = await self.http.get(url, params=params, headers=unsampled, **kw)
        except httpx.HTTPError as exc:
            raise Unreachable(source, type(exc).__name__) from exc
        if answer.status_code == 404:
            raise NotThere(url)
        if answer.status_code >= 400:
            raise Unreachable(source, f"HTTP {answer.status_code}")
        try:
            return answer.json()
        except ValueError as exc:
            raise Unreachable(source, "not JSON") from exc

    # --- saga orchestrator --------------------------------------------------------------

    async def sagas(self, status: str | None, page: int) -> dict[str, Any]:
        params: dict[str, Any] = {"page": page, "size": self.settings.sagas_per_page}
        if status:
            params["status"] = status
        return dict(await self._get(ORCHESTRATOR, f"{self.settings.saga_url}/api/saga", params))

    async def saga(self, saga_id: str) -> dict[str, Any]:
        url = f"{self.settings.saga_url}/api/saga/{quote(saga_id, safe='')}"
        return dict(await self._get(ORCHESTRATOR, url))

    async def orchestrator_health(self) -> dict[str, Any]:
        return dict(await self._get(ORCHESTRATOR, f"{self.settings.saga_url}/health"))

    async def start_booking(self, body: bytes, content_type: str) -> httpx.Response:
        """The booking POST as a client makes it, forwarded unchanged, in the trace of the
        form's request (its context in `traceparent`): the booking's trace starts at the click."""
        headers = {"content-type": content_type}
        propagate.inject(headers)
        try:
            return await self.http.post(
                f"{self.settings.saga_url}/api/saga/booking", content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            raise Unreachable(ORCHESTRATOR, type(exc).__name__) from exc

    # --- seats ----------------------------------------------------------------------------

    async def events(self, page: int, size: int) -> dict[str, Any]:
        url = f"{self.settings.event_service_url}/api/events"
        return dict(await self._get(EVENTS, url, {"page": page, "size": size}))

    async def analytics(self, event_id: int) -> dict[str, Any] | None:
        url = f"{self.settings.analytics_service_url}/api/analytics/events/{event_id}"
        try:
            return dict(await self._get(ANALYTICS, url))
        except NotThere:
            return None

    # --- event store ------------------------------------------------------------------------

    async def recent_events(self, size: int) -> dict[str, Any]:
        url = f"{self.settings.event_store_url}/api/events"
        return dict(await self._get(EVENT_STORE, url, {"page": 1, "size": size}))

    async def history(self, aggregate_id: str) -> dict[str, Any] | None:
        url = f"{self.settings.event_store_url}/api/aggregates/{quote(aggregate_id, safe='')}/history"
        try:
            return dict(await self._get(EVENT_STORE, url))
        except NotThere:
            return None

    async def reconstruct(self, aggregate_id: str, to_version: int) -> dict[str, Any] | None:
        url = f"{self.settings.event_store_url}/api/aggregates/{quote(aggregate_id, safe='')}/reconstruct"
        try:
            return dict(await self._get(EVENT_STORE, url, {"toVersion": to_version}))
        except NotThere:
            return None

    # --- RabbitMQ -----------------------------------------------------------------------------

    def _auth(self) -> tuple[str, str]:
        return (self.settings.rabbitmq_user, self.settings.rabbitmq_password)

    async def exchange(self) -> dict[str, Any] | None:
        name = quote(self.settings.amqp_exchange, safe="")
        url = f"{self.settings.rabbitmq_api_url}/exchanges/{self.vhost}/{name}"
        try:
            return dict(await self._get(RABBITMQ, url, auth=self._auth()))
        except NotThere:
            return None

    async def bindings(self) -> list[dict[str, Any]]:
        name = quote(self.settings.amqp_exchange, safe="")
        url = f"{self.settings.rabbitmq_api_url}/exchanges/{self.vhost}/{name}/bindings/source"
        try:
            return list(await self._get(RABBITMQ, url, auth=self._auth()))
        except NotThere:
            return []

    async def queues(self) -> list[dict[str, Any]]:
        """The fleet's queues (those with its prefix), with their depth, consumers and rates."""
        url = f"{self.settings.rabbitmq_api_url}/queues/{self.vhost}"
        columns = "name,messages,messages_ready,messages_unacknowledged,consumers,message_stats"
        queues = await self._get(RABBITMQ, url, {"columns": columns}, auth=self._auth())
        prefix = self.settings.amqp_queue_prefix
        return [q for q in queues if str(q.get("name", "")).startswith(prefix)]
