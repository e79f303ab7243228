#!/usr/bin/env bash
# One command for a running fleet: installs what is missing (Debian packages, the Rust and Maven
# builds, the Python environment), starts the five engines and the seven services, waits until
# every /ready answers 200 and prints their URLs. Harmless to run twice: only what is down starts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/bootstrap.sh
scripts/infra.sh up
.venv/bin/fleet start "$@"
