#!/usr/bin/env bash
# The test command: installs and starts what the tests need, then runs lint, types and pytest,
# in two phases with one exit status: first every test that can share the machine, on
# TP4_TEST_WORKERS parallel workers (pytest-xdist; each worker makes its own databases, queues,
# exchanges, indices and Redis db), then the tests marked `serial` alone (they stop or restart
# a shared engine, or take the default ports).
#   scripts/test.sh              everything
#   scripts/test.sh --fast       the inner loop: lint, types, the unit and integration tests
#   scripts/test.sh ARGS         ARGS go to pytest in both phases (e.g. scripts/test.sh tests/unit -x)
# TP4_TEST_WORKERS=0 runs the first phase in one process as well.
# TP4_TEST_PHASE=parallel or =serial runs that phase only (lint and types go with the parallel
# one): .ci/run runs the compose route beside the serial phase.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

fast=0
if [[ "${1:-}" == "--fast" ]]; then
  fast=1
  shift
fi
# Three workers on two cores: most of a test's time is spent waiting on an engine or on a
# fleet of processes, so a third worker still shortens the run (docs/performance.md has the figures).
workers="${TP4_TEST_WORKERS:-3}"
phase="${TP4_TEST_PHASE:-both}"
case "$phase" in both | parallel | serial) ;; *) echo "TP4_TEST_PHASE: both, parallel or serial, not $phase" >&2; exit 2 ;; esac

scripts/bootstrap.sh
scripts/infra.sh up
if [[ "$phase" != serial ]]; then
  ((fast)) || scripts/browser.sh
  .venv/bin/ruff check .
  .venv/bin/ruff format --check .
  .venv/bin/mypy shared fleetctl event_service reservation_service payment_service analytics_service bench \
    event_store_service saga_orchestrator notification_service console
fi

paths=()
((fast)) && paths=(tests/unit tests/integration)
parallel=(-m "not serial")
if ((workers > 0)); then
  # loadgroup: a module's tests (a package's, when it shares a fixture) stay on one worker;
  # the order tests/conftest.py gives hands the longest first.
  parallel+=(-n "$workers" --dist loadgroup --no-loadscope-reorder)
fi

# Exit status 5 is "no test selected": fine for one phase (ARGS may name only serial tests),
# not for both.
first=5
if [[ "$phase" != serial ]]; then
  first=0
  .venv/bin/pytest "${parallel[@]}" "${paths[@]}" "$@" || first=$?
fi
second=0
stop_early=0
for arg in "$@"; do
  [[ "$arg" == -x || "$arg" == --exitfirst || "$arg" == --maxfail* ]] && stop_early=1
done
if [[ "$phase" == parallel ]]; then
  second=5
elif ((first != 0 && first != 5 && stop_early)); then
  echo "[test] serial phase not run: the parallel phase failed and ARGS ask to stop at the first failure"
  second=5
else
  echo "[test] serial phase: the tests marked serial, one at a time"
  .venv/bin/pytest -m serial "${paths[@]}" "$@" || second=$?
fi
echo "[test] parallel phase exit ${first}, serial phase exit ${second} (5: no test selected, or the phase not run)"
if ((first == 5 && second == 5)); then
  exit 5
fi
((first == 5)) && first=0
((second == 5)) && second=0
if ((first != 0)); then
  exit "$first"
fi
exit "$second"
