#!/usr/bin/env bash
# The test command: installs and starts what the tests need, then runs lint, types and pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/bootstrap.sh
scripts/infra.sh up
scripts/browser.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy shared fleetctl event_service reservation_service payment_service analytics_service bench \
  event_store_service saga_orchestrator notification_service console
.venv/bin/pytest "$@"
