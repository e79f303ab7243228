"""The benchmark's HTTP client: aiohttp behind the few httpx-like calls the scenarios make.

The load generator shares the machine with the fleet it measures, so it must cost as little
as possible. On the 2-core machine httpx spent 0.56 ms of CPU per request at 1 client and
1.08 ms at 16 (more than the event store spent answering the append), aiohttp 0.18 and
0.13 ms: with httpx the client, not the service, was the limit of the append benchmark. The
services themselves still call each other with httpx (shared/http.py); see the README's
Performance section for what that costs them.
"""

import json
from dataclasses import dataclass
from typing import Any

import aiohttp


class HTTPStatusError(Exception):
    pass


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: dict[str, str]  # lower-case names
    content: bytes
    url: str

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        if not self.is_success:
            raise HTTPStatusError(f"{self.status_code} from {self.url}: {self.text[:300]}")


class LoadClient:
    """`async with LoadClient(base_url) as client: await client.get("/path", params=...)`."""

    def __init__(self, base_url: str, *, connections: int = 32, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._connections = connections
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "LoadClient":
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._connections), timeout=self._timeout
        )
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
        if self._session is None:
            raise RuntimeError("LoadClient used outside `async with`")
        url = self.base_url + path
        query = {k: str(v) for k, v in (params or {}).items()}
        async with self._session.request(method, url, json=json, params=query, headers=headers) as answer:
            content = await answer.read()
            return Answer(answer.status, {k.lower(): v for k, v in answer.headers.items()}, content, url)

    async def get(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("DELETE", path, **kwargs)
