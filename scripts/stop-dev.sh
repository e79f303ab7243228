#!/usr/bin/env bash
# Stops the seven services, then the engines this project started (data is kept).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -x .venv/bin/fleet ]]; then .venv/bin/fleet stop; fi
scripts/infra.sh down
