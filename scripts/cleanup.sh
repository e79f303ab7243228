#!/usr/bin/env bash
# Stops everything; with --volumes also deletes every engine's data and the logs, and, when the
# docker-compose fleet is in use here (docker-compose.yml with a .env, Docker answering), takes
# it down with its volumes (`docker-compose down -v`).
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
  # The compose route (docs/docker-compose.md): its containers and named volumes. Compose needs
  # .env to read the file (required passwords), so without one compose was never used here.
  if [[ -f .env ]] && command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    compose=(docker-compose)
    command -v docker-compose >/dev/null || compose=(docker compose)
    echo "[cleanup] ${compose[*]} down -v (the compose fleet's containers and volumes)" >&2
    "${compose[@]}" down -v --remove-orphans \
      || echo "[cleanup] WARNING: ${compose[*]} down -v failed; see above" >&2
  fi
else
  echo "[cleanup] services and engines stopped; data kept (use --volumes to delete it)" >&2
fi
