"""The fleet's two bearer tokens (shared/callers.py), made once into the data folder.

`.data/tokens.env` (never committed: .data/ is ignored) holds SERVICE_TOKEN, sent by the
services to each other's internal endpoints, and OPERATOR_TOKEN, for repairs by hand. `fleet
tokens` makes the file when it is missing and prints where it is; `fleet start` hands both
tokens to the services it starts. A shell loads them with
`set -a; . .data/tokens.env; set +a`, then `curl -H "Authorization: Bearer $OPERATOR_TOKEN" ...`.
"""

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("SERVICE_TOKEN", "OPERATOR_TOKEN")


def tokens_file() -> Path:
    return Path(os.environ.get("TP4_DATA_DIR") or ROOT / ".data") / "tokens.env"


def read_tokens(path: Path | None = None) -> dict[str, str]:
    """NAME=value lines of the tokens file; empty when there is none yet."""
    path = path or tokens_file()
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return {}
    found = {}
    for line in lines:
        name, _, value = line.partition("=")
        if name.strip() in NAMES and value.strip():
            found[name.strip()] = value.strip()
    return found


def ensure_tokens(path: Path | None = None) -> Path:
    """Make the tokens that are missing (existing ones are kept); the file is the owner's only."""
    path = path or tokens_file()
    tokens = read_tokens(path)
    if all(name in tokens for name in NAMES):
        return path
    for name in NAMES:
        tokens.setdefault(name, secrets.token_urlsafe(32))
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write("".join(f"{name}={tokens[name]}\n" for name in NAMES))
    return path
