"""`fleet nemesis --faults latency,partition,reset`: an isolated fleet whose every link (each
service to each of its engines, the orchestrator to each participant) goes through Toxiproxy,
under load while latency, partitions and connection resets are put on those links; afterwards
every invariant of the ledger holds, and the JSON names the links each kind was put on."""

from pathlib import Path

import pytest

from fleetctl.toxiproxy import LINK_NAMES
from tests.chaos.tools import nemesis_run

KINDS = ("latency", "partition", "reset")


@pytest.mark.timeout(1200)
def test_network_faults_on_two_links_each_leave_every_invariant_holding(tmp_path: Path):
    stdout, result = nemesis_run(tmp_path, "--minutes", "1.5", "--seed", "5", "--faults", ",".join(KINDS))
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
    assert "links through Toxiproxy" in stdout
