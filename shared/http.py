"""Calls to other services: timeouts, bounded retries with backoff on transient errors only,
and the correlation id forwarded.

aiohttp, not httpx: it spends a fraction of httpx's CPU per request, and the orchestrator
makes five calls per saga (the choice: docs/design.md §6; the figures: docs/performance.md).
"""

import asyncio
import json as jsonlib
import logging
import random
from dataclasses import dataclass
from typing import Any

import aiohttp
from pydantic import SecretStr

from shared import tracing
from shared.callers import AUTH_CHECK_PATH
from shared.logging import CORRELATION_HEADER, current_correlation_id

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
# How a peer refuses our SERVICE_TOKEN (shared/callers.py): missing, unknown, or the other class's.
TOKEN_REFUSED = frozenset({401, 403})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Below uvicorn's 5 s keep-alive: a connection is never reused just as the server closes it.
KEEPALIVE_SECONDS = 4.0


class HTTPStatusError(Exception):
    pass


@dataclass(frozen=True)
class Answer:
    """A whole HTTP answer, read: status, headers (lower-case names) and body."""

    status_code: int
    headers: dict[str, str]
    content: bytes
    url: str

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return jsonlib.loads(self.content)

    def raise_for_status(self) -> None:
        if not self.is_success:
            raise HTTPStatusError(f"{self.status_code} from {self.url}: {self.text[:300]}")


async def fetch(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    json: Any = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    query = {k: str(v) for k, v in (params or {}).items()}
    async with session.request(method, url, json=json, params=query, headers=headers) as answer:
        content = await answer.read()
        return Answer(answer.status, {k.lower(): v for k, v in answer.headers.items()}, content, url)


class ServiceUnreachable(Exception):
    """The other service did not answer (connection refused, timeout) after every retry."""


class TokenRefused(Exception):
    """The other service answered 401/403: it refuses our SERVICE_TOKEN. A configuration
    fault, not an answer: nothing was done, and nothing will be until the tokens agree.
    Deliberately not a ServiceUnreachable: silence makes a saga compensate, this must not."""

    def __init__(self, status: int, what: str) -> None:
        super().__init__(f"{what}: {status} refused our service token")
        self.status = status


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
        token: SecretStr | None = None,
        raise_on_refused_token: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # Why this peer refuses our token (its last 401/403), None while it accepts it: what
        # /ready reports (shared/peers.py). `raise_on_refused_token`: such an answer raises
        # TokenRefused instead of being returned (the saga's participants never judge it).
        self.refused: str | None = None
        self._raise_on_refused = raise_on_refused_token
        # The fleet's service token, sent on every call: internal endpoints require it.
        self._auth = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        self.retries = retries
        self.backoff = backoff
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 2.0))
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Made at the first call: a session belongs to the running event loop.
        if self._session is None:
            tracing.instrument("aiohttp")  # each call a span, its context in `traceparent`
            connector = aiohttp.TCPConnector(limit=100, keepalive_timeout=KEEPALIVE_SECONDS)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

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
    ) -> Answer:
        sent = {CORRELATION_HEADER: current_correlation_id(), **self._auth, **(headers or {})}
        if idempotency_key:
            sent["Idempotency-Key"] = idempotency_key
        may_retry = method.upper() in IDEMPOTENT_METHODS or idempotency_key is not None
        attempts = 1 + (self.retries if retries is None else retries) if may_retry else 1
        last_error: Exception | None = None
        for attempt in range(1, attempts + 1):
            try:
                response = await fetch(
                    self._client(), method, self.base_url + path, json=json, params=params, headers=sent
                )
            except (aiohttp.ClientError, TimeoutError) as exc:
                last_error = exc
                log.warning(
                    "%s %s%s failed (attempt %d/%d): %r", method, self.base_url, path, attempt, attempts, exc
                )
            else:
                self._note_token(method.upper(), path, response.status_code)
                if response.status_code in TOKEN_REFUSED and self._raise_on_refused:
                    raise TokenRefused(response.status_code, f"{method.upper()} {self.base_url}{path}")
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
        reason = f"{type(last_error).__name__} {last_error or ''}".strip()
        raise ServiceUnreachable(f"{method} {self.base_url}{path}: {reason}")

    def _note_token(self, method: str, path: str, status: int) -> None:
        """Track whether the peer accepts our token. Every GET but the auth check is public
        (docs/security.md), so only a non-GET call or the check proves the token was accepted."""
        if status in TOKEN_REFUSED:
            if self.refused is None:
                log.error(
                    "%s answered %d to %s %s: it refuses our SERVICE_TOKEN (missing, or not the "
                    "fleet's); start every service with the tokens of .data/tokens.env: "
                    ".venv/bin/fleet restart",
                    self.base_url,
                    status,
                    method,
                    path,
                )
            self.refused = f"{self.base_url} answered {status} to {method} {path}"
        elif status not in TRANSIENT_STATUSES and (method != "GET" or path == AUTH_CHECK_PATH):
            if self.refused is not None:
                log.info("%s accepts our SERVICE_TOKEN again", self.base_url)
            self.refused = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
