"""The goal table `python -m bench` prints: each row takes the run's figure at the goal's
client count (the highest one when the run has no 16), is judged against its bound, and says
so when the run did not measure it."""

from typing import Any

from bench.markdown import goals, goals_table


def _figure(scenario: str, name: str, concurrency: int | None, median: float) -> dict[str, Any]:
    return {"scenario": scenario, "name": name, "concurrency": concurrency, "median": median}


def _result(*figures: dict[str, Any]) -> dict[str, Any]:
    return {"figures": list(figures)}


def _row(rows: list[dict[str, Any]], figure: str, clients: int | None) -> dict[str, Any]:
    found = [r for r in rows if r["figure"] == figure and r["clients"] == clients]
    assert len(found) == 1, rows
    return found[0]


def test_rows_are_judged_at_their_client_count() -> None:
    rows = goals(
        _result(
            _figure("peer", "ratio_throughput_ours_to_dbos", 1, 0.43),
            _figure("peer", "ratio_throughput_ours_to_dbos", 16, 1.02),
            _figure("peer", "ratio_p99_ours_to_dbos", 16, 1.2),
            _figure("peer-http", "ratio_throughput_ours_to_peer_http", 16, 1.31),
            _figure("saga", "cpu_ms_per_saga_fleet_and_engines", 1, 20.0),
            _figure("saga", "cpu_ms_per_saga_fleet_and_engines", 16, 40.0),
            _figure("footprint", "idle_rss_services_total", None, 449.0),
        )
    )
    assert _row(rows, "peer.ratio_throughput_ours_to_dbos", 16)["met"] is True
    assert _row(rows, "peer.ratio_throughput_ours_to_dbos", 1)["met"] is False
    assert _row(rows, "peer.ratio_p99_ours_to_dbos", 16)["met"] is False  # at most 1.0
    assert _row(rows, "peer-http.ratio_throughput_ours_to_peer_http", 16)["met"] is True
    cpu = _row(rows, "saga.cpu_ms_per_saga_fleet_and_engines", 16)
    assert (cpu["value"], cpu["met"]) == (40.0, False)
    assert _row(rows, "footprint.idle_rss_services_total", None)["met"] is True


def test_a_run_without_16_clients_is_judged_at_its_highest_and_missing_figures_say_so() -> None:
    result = _result(
        _figure("peer-http", "ratio_throughput_ours_to_peer_http", 1, 0.9),
        _figure("peer-http", "ratio_throughput_ours_to_peer_http", 2, 1.4),
        _figure("eventstore", "ratio_append_to_raw_insert", 16, 0.4),
    )
    rows = goals(result)
    assert _row(rows, "peer-http.ratio_throughput_ours_to_peer_http", 2)["met"] is True
    assert _row(rows, "eventstore.ratio_append_to_raw_insert", 16)["met"] is False
    lag = _row(rows, "projection.lag_to_analytics_p95", 1)
    assert lag["value"] is None and lag["met"] is None
    table = goals_table(result)
    assert "| 1.40 | met |" in table and "not measured" in table


def test_the_table_says_how_busy_the_machine_was() -> None:
    result = {
        "figures": [],
        "machine": {"cores": 2},
        "loadAverage": {"start": [1.5, 1.0, 0.8], "end": [24.05, 13.4, 9.7]},
    }
    first = goals_table(result).splitlines()[0]
    assert first.startswith("Load average (1 min) 1.5 at the start, 24.1 at the end, on 2 cores")
    assert "contended" in first
    quiet = {**result, "loadAverage": {"start": [0.4, 0, 0], "end": [1.9, 0, 0]}}
    assert "contended" not in goals_table(quiet).splitlines()[0]
    assert goals_table({"figures": []}).startswith("| goal (issue 21) |")
