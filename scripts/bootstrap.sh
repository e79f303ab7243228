#!/usr/bin/env bash
# Creates .venv and installs the project with its dev tools; reinstalls when pyproject.toml changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [[ -x .venv/bin/python && -f $stamp ]]; then
  exit 0
fi
echo "[bootstrap] creating the Python environment in .venv" >&2
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --upgrade pip >&2
.venv/bin/pip install -q -e ".[dev]" >&2
rm -f .venv/.installed-*
touch "$stamp"
