"""The benchmark's HTTP client: aiohttp behind the few httpx-like calls the scenarios make.

The load generator shares the machine with the fleet it measures, so it must cost as little
as possible. On the 2-core machine httpx spent 0.56 ms of CPU per request at 1 client and
1.08 ms at 16 (more than the event store spent answering the append), aiohttp 0.18 and
0.13 ms: with httpx the client, not the service, was the limit of the append benchmark. The
services call each other through the same aiohttp helper (shared/http.py).
"""

import os
from typing import Any

import aiohttp

from fleetctl.tokens import read_tokens
from shared.http import Answer, fetch


def service_token() -> str | None:
    """The fleet's service token (the environment's, else the data folder's): the bench
    drives internal endpoints (payments, event store appends) as the fleet's services do."""
    return os.environ.get("SERVICE_TOKEN") or read_tokens().get("SERVICE_TOKEN")


class LoadClient:
    """`async with LoadClient(base_url) as client: await client.get("/path", params=...)`,
    or `aclose()` when done."""

    def __init__(self, base_url: str, *, connections: int = 32, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._connections = connections
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        token = service_token()
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}

    async def __aenter__(self) -> "LoadClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        # Made at the first call, as shared.http.ServiceClient does: a session belongs to the
        # running event loop.
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._connections)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        sent = {**self._auth, **(headers or {})}
        return await fetch(
            self._session, method, self.base_url + path, json=json, params=params, headers=sent
        )

    async def get(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("DELETE", path, **kwargs)
