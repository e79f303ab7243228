#!/usr/bin/env bash
# One command for a running fleet: installs what is missing (Debian packages, the Rust and Maven
# builds, the Python environment), starts the engines (Zipkin among them), the seven services and the console,
# waits until every /ready answers 200 and prints their URLs (the console's: http://127.0.0.1:8090).
# Harmless to run twice: only what is down starts. `--slow 1500` starts the orchestrator in slow
# motion (a pause before each saga step).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/bootstrap.sh
scripts/infra.sh up
# The service and operator tokens (shared/callers.py): made once, then reused; fleet start
# hands them to the services.
.venv/bin/fleet tokens
.venv/bin/fleet start "$@"
