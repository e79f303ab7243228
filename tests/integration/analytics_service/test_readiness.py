"""OpenSearch down when the service starts: it still starts, answers 503 on /ready and on its
API, and creates its indices in the background as soon as OpenSearch answers."""

import asyncio
import contextlib
import socket

from tests.integration.analytics_service.service import analytics_service
from tests.support import eventually


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


async def _relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
    # A stand-in for OpenSearch coming back: a TCP relay to the real node.
    server_reader, server_writer = await asyncio.open_connection("127.0.0.1", 9200)
    await asyncio.gather(_pipe(client_reader, server_writer), _pipe(server_reader, client_writer))


async def test_the_service_starts_without_opensearch_and_catches_up():
    port = _free_port()
    async with analytics_service(opensearch_url=f"http://127.0.0.1:{port}", wait_ready=False) as service:
        _, _, client = service
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["opensearch"].startswith("down")
        assert (await client.get("/health")).status_code == 200
        overview = await client.get("/api/analytics")
        assert overview.status_code == 503
        assert overview.headers["content-type"] == "application/problem+json"

        relay = await asyncio.start_server(_relay, "127.0.0.1", port)
        try:

            async def ready_now():
                return (await client.get("/ready")).status_code == 200

            await eventually(ready_now, timeout=20)
            assert (await client.get("/api/analytics")).json()["totalEvents"] == 0
        finally:
            relay.close()
            await relay.wait_closed()
