"""The nemesis' seeded schedule (fleetctl/nemesis.py) and the toxics its network faults become
(fleetctl/toxiproxy.py): the same seed draws the same faults, each requested network kind lands
on two different links in the first round, and the JSON names the link and the toxic's settings."""

import json
from dataclasses import asdict

import pytest

from fleetctl.fleet import PACKAGES
from fleetctl.nemesis import FAULT_KINDS, NETWORK_FAULTS, Fault, Ledger, links_hit, pace, schedule
from fleetctl.toxiproxy import LINK_NAMES, LINKS, TOXICS, through, toxics_for

SERVICES = list(PACKAGES)


def draw(seed: int, kinds: list[str], seconds: float = 120.0) -> list[Fault]:
    return schedule(seed, seconds, kinds, SERVICES, 6.2, LINK_NAMES)


def test_the_same_seed_draws_the_same_network_faults_and_another_seed_others():
    kinds = ["latency", "partition", "reset", "kill"]
    first, again, other = draw(7, kinds), draw(7, kinds), draw(8, kinds)
    assert [asdict(f) for f in first] == [asdict(f) for f in again]
    assert [(f.kind, f.target, f.params) for f in first] != [(f.kind, f.target, f.params) for f in other]


@pytest.mark.parametrize("seed", range(1, 21))
def test_the_first_round_puts_each_network_kind_on_two_different_links(seed):
    kinds = [*NETWORK_FAULTS, "kill", "pause"]
    faults = draw(seed, kinds, seconds=10)  # shorter than the first round: only it is drawn
    first = [f for f in faults if f.first]
    assert len(first) == len(kinds) + len(NETWORK_FAULTS)
    for kind in NETWORK_FAULTS:
        links = [f.target for f in first if f.kind == kind]
        assert len(links) == 2 and len(set(links)) == 2, (kind, links)
        assert set(links) <= set(LINK_NAMES)
    assert {f.kind for f in first if f.kind not in NETWORK_FAULTS} == {"kill", "pause"}


def test_network_settings_stay_in_their_ranges():
    for seed in range(40):
        for fault in draw(seed, list(NETWORK_FAULTS), seconds=300):
            p = fault.params
            if fault.kind == "latency":
                assert 200 <= p["latency_ms"] <= 2500 and 0 < p["jitter_ms"] <= p["latency_ms"] // 2
                assert 4 <= fault.hold <= 10
            elif fault.kind == "partition":
                assert p["stream"] in ("both", "upstream", "downstream") and 2 <= fault.hold <= 9
            elif fault.kind == "reset":
                assert 0 <= p["after_ms"] <= 300
            elif fault.kind == "slow-close":
                assert 500 <= p["delay_ms"] <= 5000
            else:
                assert fault.kind == "bandwidth" and 1 <= p["kb_per_second"] <= 32


def test_a_run_without_network_kinds_draws_as_before_and_needs_no_links():
    faults = schedule(1, 120, list(FAULT_KINDS), SERVICES, 6.2)
    assert {f.kind for f in faults if f.first} == set(FAULT_KINDS)
    assert all(f.params == {} for f in faults)
    with pytest.raises(ValueError, match="links"):
        schedule(1, 120, ["latency"], SERVICES, 6.2)


def test_the_json_says_which_links_got_which_faults():
    faults = draw(3, ["latency", "partition", "reset"])
    for at, fault in enumerate(faults):
        fault.started, fault.healed = float(at), at + 0.5
    faults[0].error = "HTTPStatusError: refused"  # not injected: not counted as a hit
    hit = links_hit(faults)
    assert set(hit) == {"latency", "partition", "reset"}
    for kind, links in hit.items():
        expected = {f.target for f in faults if f.kind == kind and not f.error}
        assert links == sorted(expected)
    record = json.loads(json.dumps([asdict(f) for f in faults]))
    network = [r for r in record if r["kind"] in NETWORK_FAULTS]
    assert network and all(r["target"] in LINK_NAMES and r["params"]["stream"] for r in network)


def test_every_link_of_the_fleet_is_there_once():
    names = [link.name for link in LINKS]
    assert len(names) == len(set(names)) == 18
    for package in PACKAGES:  # every service reaches the broker through its own proxy
        assert f"{package}->rabbitmq" in names
    assert {n for n in names if n.startswith("saga_orchestrator->")} == {
        "saga_orchestrator->postgres",
        "saga_orchestrator->rabbitmq",
        "saga_orchestrator->event_service",
        "saga_orchestrator->reservation_service",
        "saga_orchestrator->payment_service",
    }
    assert "payment_service->redis" in names and "analytics_service->opensearch" in names


def test_each_kind_becomes_its_toxic_on_the_drawn_directions():
    assert set(TOXICS) == set(NETWORK_FAULTS)
    both = toxics_for("partition", {"stream": "both"})
    assert [(t["type"], t["stream"], t["attributes"]) for t in both] == [
        ("timeout", "upstream", {"timeout": 0}),
        ("timeout", "downstream", {"timeout": 0}),
    ]
    assert len({t["name"] for t in both}) == 2
    (latency,) = toxics_for("latency", {"stream": "downstream", "latency_ms": 800, "jitter_ms": 200})
    assert latency["attributes"] == {"latency": 800, "jitter": 200} and latency["toxicity"] == 1.0
    (reset,) = toxics_for("reset", {"stream": "upstream", "after_ms": 40})
    assert (reset["type"], reset["stream"], reset["attributes"]) == (
        "reset_peer",
        "upstream",
        {"timeout": 40},
    )
    assert toxics_for("slow-close", {"stream": "downstream", "delay_ms": 900})[0]["attributes"] == {
        "delay": 900
    }
    assert toxics_for("bandwidth", {"stream": "downstream", "kb_per_second": 5})[0]["attributes"] == {
        "rate": 5
    }
    with pytest.raises(ValueError):
        toxics_for("kill", {})


def test_a_proxied_url_keeps_its_user_path_and_options():
    assert (
        through("postgresql+psycopg://events:events@127.0.0.1:5432/e2e_events_1", "127.0.0.1:41234")
        == "postgresql+psycopg://events:events@127.0.0.1:41234/e2e_events_1"
    )
    assert (
        through("mongodb://127.0.0.1:27017/?directConnection=true", "127.0.0.1:40001")
        == "mongodb://127.0.0.1:40001/?directConnection=true"
    )
    assert through("redis://127.0.0.1:6379/7", "127.0.0.1:40002") == "redis://127.0.0.1:40002/7"


def test_the_orchestrators_calls_to_the_participants_are_drawn_more_than_an_engine_link():
    between = {"saga_orchestrator->event_service", "saga_orchestrator->reservation_service"}
    between.add("saga_orchestrator->payment_service")
    drawn = [f.target for seed in range(60) for f in draw(seed, ["latency"], seconds=600)]
    share = sum(target in between for target in drawn) / len(drawn)
    # 3 of 18 links, weighing 3 each: 9/24 of the draws, against 3/18 if drawn evenly.
    assert 0.3 < share < 0.45, share


def test_the_pace_counts_operations_not_their_retries():
    ledger = Ledger()
    ledger.ops.update({"booking accepted": 30, "booking retries": 12, "read": 20, "read failed": 10})
    assert pace(ledger, 10.0, 8.0) == {"asked": 8.0, "done": 6.0, "bookings_accepted": 3.0}
