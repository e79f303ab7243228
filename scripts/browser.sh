#!/usr/bin/env bash
# Installs the browser the console's browser tests drive: Debian's chromium (and its driver),
# when /usr/bin/chromium is missing. Playwright drives it as it is; its own browser download
# (`playwright install`) is never used.
set -euo pipefail
[[ -x /usr/bin/chromium ]] && exit 0
echo "[browser] installing chromium and chromium-driver (about a minute)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium chromium-driver >/dev/null
