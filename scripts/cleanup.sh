#!/usr/bin/env bash
# Stops everything; with --volumes also deletes every engine's data and the logs.
# --test-fleets: stops nothing, removes what test fleets left on the engines.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ "${1:-}" == "--test-fleets" ]]; then
  # Keeps everything running; removes only what test fleets left (names e2e_<hex>...).
  .venv/bin/python -c 'from tests.support import remove_test_fleet_leftovers as r; print("[cleanup] removed", r())'
  exit 0
fi
scripts/stop-dev.sh
if [[ "${1:-}" == "--volumes" ]]; then
  echo "[cleanup] deleting .data (every engine's data and the logs)" >&2
  rm -rf "$ROOT/.data"
  rm -rf /var/lib/tp4-ticketing/postgres-"$(printf '%s' "$ROOT/.data" | cksum | cut -d' ' -f1)"
else
  echo "[cleanup] services and engines stopped; data kept (use --volumes to delete it)" >&2
fi
