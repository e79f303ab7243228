"""`fleet nemesis --faults latency,partition,reset`: an isolated fleet whose every link (each
service to each of its engines, the orchestrator to each participant) goes through Toxiproxy,
under load while latency, partitions and connection resets are put on those links; afterwards
every invariant of the ledger holds, and the JSON names the links each kind was put on."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fleetctl.nemesis import INVARIANTS
from fleetctl.toxiproxy import LINK_NAMES
from tests.support import ROOT

KINDS = ("latency", "partition", "reset")


@pytest.mark.timeout(1200)
def test_network_faults_on_two_links_each_leave_every_invariant_holding(tmp_path: Path):
    out = tmp_path / "nemesis.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "fleetctl.fleet",
            "nemesis",
            "--minutes",
            "1.5",
            "--seed",
            "5",
            "--faults",
            ",".join(KINDS),
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
    # Each requested kind was put on at least two different links of the fleet, and healed.
    assert set(result["links"]) == set(KINDS)
    for kind in KINDS:
        assert len(result["links"][kind]) >= 2, result["links"]
        assert set(result["links"][kind]) <= set(LINK_NAMES)
    assert not [f for f in result["faults"] if f["error"]]
    for fault in result["faults"]:
        assert fault["kind"] in KINDS and fault["target"] in LINK_NAMES and fault["params"]["stream"]
    # Real work went through the faulty links.
    assert result["operations"]["booking accepted"] > 20
    assert sum(result["sagas"].values()) >= result["operations"]["booking accepted"]
    assert "links through Toxiproxy" in run.stdout
