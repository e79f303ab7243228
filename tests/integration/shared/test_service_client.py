"""shared.http.ServiceClient over real TCP: transient answers are retried, a POST without an
Idempotency-Key is not (a retry could do the work twice), a closed port is ServiceUnreachable."""

import socket

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.http import ServiceClient, ServiceUnreachable, TokenRefused
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


async def test_a_peer_refusing_the_token_is_noted_until_a_guarded_call_is_accepted():
    """401/403 mark the peer as refusing our token (what /ready reports); a public GET proves
    nothing, a non-GET call or the auth check answered otherwise clears it."""
    answers = {"POST /api/book": 401, "GET /api/public": 200, "GET /auth/check": 401}
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def handle(path: str, request: Request) -> JSONResponse:
        status = answers[f"{request.method} /{path}"]
        return JSONResponse({"detail": "refused" if status == 401 else "ok"}, status_code=status)

    async with serving(app) as url:
        plain = ServiceClient(url, timeout=2, retries=0)
        raising = ServiceClient(url, timeout=2, retries=0, raise_on_refused_token=True)
        try:
            assert (await plain.request("POST", "/api/book")).status_code == 401
            assert plain.refused == f"{url} answered 401 to POST /api/book"
            with pytest.raises(TokenRefused, match="401 refused our service token"):
                await raising.request("POST", "/api/book", idempotency_key="k")
            assert raising.refused is not None

            await plain.request("GET", "/api/public")
            assert plain.refused is not None  # a public GET says nothing of the token
            await plain.request("GET", "/auth/check")
            assert plain.refused == f"{url} answered 401 to GET /auth/check"

            answers.update({"GET /auth/check": 204, "POST /api/book": 422})
            await plain.request("GET", "/auth/check")
            assert plain.refused is None
            await raising.request("POST", "/api/book", idempotency_key="k")
            assert raising.refused is None
        finally:
            await plain.aclose()
            await raising.aclose()
