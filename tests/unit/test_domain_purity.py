"""Every service's domain module is pure: importing it loads no database driver, broker or
HTTP client, nor the web framework, and its code never reads the clock (time comes in as an
argument). Each import runs in a fresh interpreter, so what another test loaded cannot hide
what the domain pulls in."""

import ast
import json
import subprocess
import sys

import pytest

from tests.support import ROOT

DOMAINS = sorted(path.parent.name for path in ROOT.glob("*/domain.py"))

# Top-level packages that do I/O (drivers, broker and HTTP clients, servers) or are the web
# framework the api layer uses.
WITH_IO = {
    "aio_pika",
    "aiohttp",
    "aiormq",
    "anyio",
    "asyncpg",
    "bson",
    "fastapi",
    "httpx",
    "motor",
    "opensearchpy",
    "pamqp",
    "psycopg",
    "pymongo",
    "redis",
    "sqlalchemy",
    "starlette",
    "uvicorn",
}

CLOCK_READS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "time_ns"}


def test_every_service_has_a_domain_module():
    assert set(DOMAINS) >= {
        "analytics_service",
        "event_service",
        "event_store_service",
        "notification_service",
        "payment_service",
        "reservation_service",
        "saga_orchestrator",
    }


@pytest.mark.parametrize("service", DOMAINS)
def test_importing_the_domain_loads_nothing_with_io(service: str):
    probe = (
        "import importlib, json, sys\n"
        f"importlib.import_module('{service}.domain')\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert set(json.loads(loaded)) & WITH_IO == set()


@pytest.mark.parametrize("service", DOMAINS)
def test_the_domain_never_reads_the_clock(service: str):
    tree = ast.parse((ROOT / service / "domain.py").read_text())
    reads = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CLOCK_READS
    ]
    assert reads == []
