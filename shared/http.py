"""Calls to other services: timeouts, bounded retries with backoff on transient errors only,
and the correlation id forwarded."""

import asyncio
import logging
import random
from typing import Any

import httpx

from shared.logging import CORRELATION_HEADER, current_correlation_id

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class ServiceUnreachable(Exception):
    """The other service did not answer (connection refused, timeout) after every retry."""


class ServiceClient:
    """One other service. A POST is retried only when it carries an Idempotency-Key, since
    otherwise a retry after a lost answer could do the work twice."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
            transport=transport,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        retries: int | None = None,
    ) -> httpx.Response:
        sent = {CORRELATION_HEADER: current_correlation_id(), **(headers or {})}
        if idempotency_key:
            sent["Idempotency-Key"] = idempotency_key
        may_retry = method.upper() in IDEMPOTENT_METHODS or idempotency_key is not None
        attempts = 1 + (self.retries if retries is None else retries) if may_retry else 1
        last_error: Exception | None = None
        for attempt in range(1, attempts + 1):
            try:
                response = await self._client.request(method, path, json=json, params=params, headers=sent)
            except httpx.TransportError as exc:
                last_error = exc
                log.warning(
                    "%s %s%s failed (attempt %d/%d): %r", method, self.base_url, path, attempt, attempts, exc
                )
            else:
                if response.status_code not in TRANSIENT_STATUSES or attempt == attempts:
                    return response
                log.warning(
                    "%s %s%s answered %d (attempt %d/%d)",
                    method,
                    self.base_url,
                    path,
                    response.status_code,
                    attempt,
                    attempts,
                )
            if attempt < attempts:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1) * (0.5 + random.random()))
        raise ServiceUnreachable(f"{method} {self.base_url}{path}: {last_error!r}")

    async def aclose(self) -> None:
        await self._client.aclose()
