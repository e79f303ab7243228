#!/usr/bin/env bash
# Stops everything; with --volumes also deletes every engine's data and the logs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/stop-dev.sh
if [[ "${1:-}" == "--volumes" ]]; then
  echo "[cleanup] deleting .data (every engine's data and the logs)" >&2
  rm -rf "$ROOT/.data"
  rm -rf /var/lib/tp4-ticketing/postgres-"$(printf '%s' "$ROOT/.data" | cksum | cut -d' ' -f1)"
else
  echo "[cleanup] services and engines stopped; data kept (use --volumes to delete it)" >&2
fi
