"""`fleet nemesis --minutes 2 --seed 1`: an isolated fleet under load while every kind of fault
(service crashes and pauses, engine restarts, a duplicate and a poison message) is injected and
healed; afterwards every invariant of the ledger holds, and the JSON says so line by line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fleetctl.nemesis import FAULT_KINDS, INVARIANTS
from tests.support import ROOT


@pytest.mark.timeout(1200)
def test_a_seeded_nemesis_run_leaves_every_invariant_holding(tmp_path: Path):
    out = tmp_path / "nemesis.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "fleetctl.fleet",
            "nemesis",
            "--minutes",
            "2",
            "--seed",
            "1",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1100,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["ok"] is True
    assert [r["key"] for r in result["invariants"]] == [key for key, _ in INVARIANTS]
    assert all(r["ok"] and not r["failures"] for r in result["invariants"])
    # Every kind was injected, and healed without an error.
    assert {f["kind"] for f in result["faults"]} == set(FAULT_KINDS)
    assert not [f for f in result["faults"] if f["error"]]
    # Real work went through: bookings accepted and ended, and the only dead letters are poison.
    assert result["operations"]["booking accepted"] > 20
    assert sum(result["sagas"].values()) >= result["operations"]["booking accepted"]
    queues = next(r for r in result["invariants"] if r["key"] == "queues")
    dead_letters = [note for note in queues["notes"] if ".dlq: " in note]
    assert dead_letters and all("nemesis-poison-" in note for note in dead_letters)
    assert "✓" in run.stdout and "fault timeline:" in run.stdout
