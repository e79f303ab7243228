"""`fleet nemesis --minutes 2 --seed 1`: an isolated fleet under load while every kind of fault
(service crashes and pauses, engine restarts, a duplicate and a poison message) is injected and
healed; afterwards every invariant of the ledger holds, and the JSON says so line by line."""

from pathlib import Path

import pytest

from fleetctl.nemesis import FAULT_KINDS
from tests.chaos.tools import nemesis_run


@pytest.mark.timeout(1200)
def test_a_seeded_nemesis_run_leaves_every_invariant_holding(tmp_path: Path):
    stdout, result = nemesis_run(tmp_path, "--minutes", "2", "--seed", "1")
    # Every kind was injected, and healed without an error.
    assert {f["kind"] for f in result["faults"]} == set(FAULT_KINDS)
    assert not [f for f in result["faults"] if f["error"]]
    # Real work went through: bookings accepted and ended, and the only dead letters are poison.
    assert result["operations"]["booking accepted"] > 20
    assert sum(result["sagas"].values()) >= result["operations"]["booking accepted"]
    queues = next(r for r in result["invariants"] if r["key"] == "queues")
    dead_letters = [note for note in queues["notes"] if ".dlq: " in note]
    assert dead_letters and all("nemesis-poison-" in note for note in dead_letters)
    assert "✓" in stdout and "fault timeline:" in stdout
