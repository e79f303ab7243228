"""shared.http.ServiceClient over real TCP: transient answers are retried, a POST without an
Idempotency-Key is not (a retry could do the work twice), a closed port is ServiceUnreachable."""

import socket

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.http import ServiceClient, ServiceUnreachable
from shared.logging import correlation_id
from tests.support import serving


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Flaky:
    """An app that answers 503 to the first `failures` calls of each path, then 200."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: dict[str, list[dict[str, str]]] = {}
        self.app = FastAPI()
        self.app.add_api_route("/{path:path}", self.handle, methods=["GET", "POST", "PUT"])

    async def handle(self, path: str, request: Request) -> JSONResponse:
        seen = self.calls.setdefault(f"{request.method} /{path}", [])
        seen.append(dict(request.headers))
        if len(seen) <= self.failures:
            return JSONResponse({"detail": "busy"}, status_code=503)
        return JSONResponse({"ok": True, "attempt": len(seen)})


async def test_a_503_is_retried_then_the_answer_returned_with_the_correlation_id_forwarded():
    flaky = Flaky(failures=2)
    async with serving(flaky.app) as url:
        client = ServiceClient(url, timeout=2, retries=3, backoff=0.01)
        token = correlation_id.set("corr-42")
        try:
            answer = await client.request("GET", "/api/things/1")
        finally:
            correlation_id.reset(token)
            await client.aclose()
    assert answer.status_code == 200 and answer.json() == {"ok": True, "attempt": 3}
    calls = flaky.calls["GET /api/things/1"]
    assert len(calls) == 3
    assert {c["x-correlation-id"] for c in calls} == {"corr-42"}


async def test_a_post_is_retried_only_with_an_idempotency_key():
    flaky = Flaky(failures=1)
    async with serving(flaky.app) as url:
        client = ServiceClient(url, timeout=2, retries=3, backoff=0.01)
        try:
            bare = await client.request("POST", "/api/bare", json={"n": 1})
            keyed = await client.request("POST", "/api/keyed", json={"n": 1}, idempotency_key="saga-1:PAY")
        finally:
            await client.aclose()
    assert bare.status_code == 503, "the transient answer is returned, not retried"
    assert len(flaky.calls["POST /api/bare"]) == 1
    assert keyed.status_code == 200
    keyed_calls = flaky.calls["POST /api/keyed"]
    assert len(keyed_calls) == 2
    assert {c["idempotency-key"] for c in keyed_calls} == {"saga-1:PAY"}


async def test_retries_that_run_out_return_the_last_transient_answer():
    flaky = Flaky(failures=10)
    async with serving(flaky.app) as url:
        client = ServiceClient(url, timeout=2, retries=2, backoff=0.01)
        try:
            answer = await client.request("PUT", "/api/things/1", json={})
        finally:
            await client.aclose()
    assert answer.status_code == 503
    assert len(flaky.calls["PUT /api/things/1"]) == 3


async def test_a_closed_port_raises_service_unreachable():
    client = ServiceClient(f"http://127.0.0.1:{_free_port()}", timeout=1, retries=2, backoff=0.01)
    try:
        with pytest.raises(ServiceUnreachable, match="ClientConnectorError Cannot connect"):
            await client.request("GET", "/api/things/1")
    finally:
        await client.aclose()
