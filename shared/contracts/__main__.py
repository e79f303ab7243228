"""`python -m shared.contracts asyncapi [PATH]`: write the AsyncAPI document generated from the
models (docs/asyncapi.json by default); `--check` only tells whether PATH is up to date."""

import argparse
import sys
from pathlib import Path

from shared.contracts.asyncapi import render

DEFAULT_PATH = Path("docs/asyncapi.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.contracts")
    commands = parser.add_subparsers(dest="command", required=True)
    asyncapi = commands.add_parser("asyncapi", help="write the AsyncAPI 3.0 document of the messages")
    asyncapi.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    asyncapi.add_argument("--check", action="store_true", help="exit 1 when PATH differs, write nothing")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
        if current != text:
            print(f"{args.path} is out of date: run python -m shared.contracts asyncapi", file=sys.stderr)
            return 1
        return 0
    args.path.write_text(text, encoding="utf-8")
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
