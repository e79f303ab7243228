"""A pytest session leaves the shared engines as it found them, even when a test fails: a
child session makes a PostgreSQL database, an app's exchange, queues and MongoDB database,
leaks a queue no harness knows about, and fails. Afterwards nothing carrying one of its
tokens is on any engine, the leak was reported, and what other sessions own was not touched."""

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.support import RABBITMQ_API, ROOT, engine_inventory

CHILD = Path(__file__).with_name("leaky_session.py")


def test_a_failing_session_leaves_nothing_of_its_own_and_touches_nothing_else(tmp_path: Path):
    # Another session's exchange (a token this session never handed out): it must survive.
    foreign = f"other_{uuid.uuid4().hex[:10]}.events"
    api = httpx.Client(base_url=RABBITMQ_API, auth=("guest", "guest"), timeout=30)
    api.put(f"/exchanges/%2F/{quote(foreign, safe='')}", json={"type": "topic", "durable": True})
    tokens = tmp_path / "tokens"
    try:
        before = engine_inventory(patience=90)
        child = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(CHILD)],
            cwd=ROOT,
            env={**os.environ, "TP4_SESSION_TOKENS_FILE": str(tokens)},
            capture_output=True,
            text=True,
            timeout=240,
        )
        output = child.stdout + child.stderr
        assert child.returncode != 0, output
        assert "fails on purpose" in output
        assert "left on the shared engines" in output and "leak_" in output, output
        handed_out = tokens.read_text().split()
        assert len(handed_out) >= 3
        after = engine_inventory(patience=90)
        assert set(after) == set(before), "every engine answered"
        for kind, names in after.items():
            left = sorted(n for n in names if any(t in n for t in handed_out))
            assert not left, f"{kind} left by the child session: {left}"
        assert foreign in after["exchanges"]
    finally:
        api.delete(f"/exchanges/%2F/{quote(foreign, safe='')}")
        api.close()
