"""Every lab shows its invariant broken with its fault and holding without it, which also
proves the invariant checks are not vacuous. One isolated fleet per side serves every lab
(the faults of these labs live in different code paths, so they can be on together)."""

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from fleetctl.isolated import IsolatedFleet, isolated_fleet
from fleetctl.labs import LABS, BrokerLine, Lab, run_side, start
from tests.support import ROOT

SERVICES = sorted({name for lab in LABS.values() for name in lab.services})
TWINS = sorted({name for lab in LABS.values() for name in lab.twins})
ENV = {name: value for lab in LABS.values() for name, value in lab.env}


def _fleet(faults: str) -> Iterator[tuple[IsolatedFleet, BrokerLine]]:
    fleet = isolated_fleet()
    fleet.env["TEACHING_FAULTS"] = faults
    fleet.env.update(ENV)
    # Every service reaches RabbitMQ through a line the outage labs cut (this fleet's only).
    line = BrokerLine()
    fleet.env["AMQP_URL"] = line.amqp_url
    try:
        start(fleet, SERVICES, TWINS)
        yield fleet, line
    finally:
        fleet.discard()
        line.cut()


@pytest.fixture(scope="module")
def faulty() -> Iterator[tuple[IsolatedFleet, BrokerLine]]:
    yield from _fleet(",".join(lab.fault.value for lab in LABS.values()))


@pytest.fixture(scope="module")
def sound() -> Iterator[tuple[IsolatedFleet, BrokerLine]]:
    yield from _fleet("")


@pytest.mark.parametrize("lab", LABS.values(), ids=list(LABS))
def test_with_its_fault_the_invariant_breaks(lab: Lab, faulty: tuple[IsolatedFleet, BrokerLine]):
    side = run_side(lab, faulty[0], with_fault=True, broker_line=faulty[1])
    assert side.steps[0][0], side.steps
    assert not side.invariant_held, side.steps
    assert side.evidence and not side.steps[-1][0]


@pytest.mark.parametrize("lab", LABS.values(), ids=list(LABS))
def test_without_its_fault_the_invariant_holds(lab: Lab, sound: tuple[IsolatedFleet, BrokerLine]):
    side = run_side(lab, sound[0], with_fault=False, broker_line=sound[1])
    assert side.invariant_held, side.steps
    assert all(ok for ok, _ in side.steps), side.steps


def _fleet_command(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "fleetctl.fleet", *args]
    return subprocess.run(command, cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=300)


def test_the_command_lists_the_labs_and_refuses_an_unknown_one():
    listed = _fleet_command("lab", "--list")
    assert listed.returncode == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == list(LABS)
    unknown = _fleet_command("lab", "lost-updates")
    assert unknown.returncode == 2 and "unknown lab 'lost-updates'" in unknown.stdout


def test_one_lab_end_to_end_reports_both_sides_as_json_and_exits_0():
    """`fleet lab NAME --json` starts and removes its own fleets (the other labs run the same
    code on the shared fleets above)."""
    import json

    done = _fleet_command("lab", "stale-cache", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert (report["lab"], report["fault"]) == ("stale-cache", "stale-cache")
    assert report["withFault"]["invariantHeld"] is False
    assert report["withFault"]["evidence"]["readAfterRefund"] == "completed"
    assert report["withoutFault"] == {
        "invariantHeld": True,
        "evidence": {**report["withoutFault"]["evidence"], "readAfterRefund": "refunded"},
    }


def test_fleet_status_shows_the_faults_each_service_runs_with(faulty, capsys):
    from fleetctl.fleet import print_table

    print_table(faulty[0])
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    for name in SERVICES:
        assert "TEACHING FAULTS ON: " in rows[name], rows[name]
    assert "TEACHING FAULTS" not in rows["notification_service"]  # not started
