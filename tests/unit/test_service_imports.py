"""Each service loads only the clients of the engines and services it talks to: a database
driver costs megabytes in every process that imports it, and seven services each loading
every driver was most of the fleet's idle memory (docs/performance.md). Checked in a fresh
interpreter per service: `python -m <service>` up to the moment uvicorn would start serving
(the app built and uvicorn's configuration loaded, no engine contacted: that is the
lifespan's work), then `sys.modules` read."""

import json
import subprocess
import sys

import pytest

from tests.support import ROOT

# Top-level packages of the engines' and services' clients, the migration tool, and the
# WebSocket libraries uvicorn loads unless told that no service speaks WebSocket.
CLIENTS = {
    "websockets",
    "wsproto",
    "sqlalchemy",
    "psycopg",
    "alembic",
    "pymongo",
    "bson",
    "redis",
    "opensearchpy",
    "aiohttp",
}

# service -> the clients it may load when its app is built (its own engines, HTTP to another
# service); the broker client (aio_pika) is every service's. alembic is no service's: the
# migrations run in a child process (shared/sql.py migrate).
USES = {
    "event_service": {"sqlalchemy", "psycopg"},
    "reservation_service": {"pymongo", "bson", "aiohttp"},
    "payment_service": {"sqlalchemy", "psycopg", "redis"},
    "analytics_service": {"opensearchpy", "aiohttp"},
    "event_store_service": {"pymongo", "bson"},
    "saga_orchestrator": {"sqlalchemy", "psycopg", "aiohttp"},
    "notification_service": {"pymongo", "bson"},
}

# Runs the service's __main__ with uvicorn.run replaced by what it does before serving.
PROBE = """
import json, runpy, sys
import uvicorn
uvicorn.run = lambda app, **options: uvicorn.Config(app, **options).load()
runpy.run_module(sys.argv[1], run_name="__main__")
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def loaded_by(service: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, service], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_every_service_is_listed() -> None:
    services = {path.parent.name for path in ROOT.glob("*/app.py") if path.parent.name != "console"}
    assert services == set(USES)


@pytest.mark.parametrize("service", sorted(USES))
def test_a_service_loads_only_the_clients_it_uses(service: str) -> None:
    loaded = loaded_by(service)
    assert "aio_pika" in loaded, "the probe did not build the app"
    assert sorted((loaded & CLIENTS) - USES[service]) == []
