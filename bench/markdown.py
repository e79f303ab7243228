"""`python -m bench.markdown RESULTS.json`: the figures of a run as a Markdown table (for
docs/performance.md)."""

import json
import sys
from pathlib import Path
from typing import Any


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def table(
    result: dict[str, Any], *, skip: tuple[str, ...] = ("footprint.idle_rss_", "footprint.after_rss_")
) -> str:
    m = result["machine"]
    lines = [
        f"Machine: {m['name']} ({m['cores']} cores, {m['memoryGiB']} GiB, {m['cpu']}, Python {m['python']}); "
        f"size {result['size']}, {result['rounds']} rounds after a warm-up; {result['startedAt'][:16]} UTC.",
        "",
        "| figure | clients | median | min .. max | unit | samples |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for f in result["figures"]:
        key = f"{f['scenario']}.{f['name']}"
        if key.startswith(skip) and not key.endswith("_total"):
            continue  # one line per service: see the JSON
        lines.append(
            f"| {key} | {f['concurrency'] or '-'} | {_num(f['median'])} "
            f"| {_num(f['min'])} .. {_num(f['max'])} | {f['unit']} | {f['samples']} |"
        )
    lines += ["", "| check | value | ok |", "|---|---|---|"]
    for c in result["checks"]:
        value = (
            json.dumps(c["value"]) if not isinstance(c["value"], dict) or len(str(c["value"])) < 80 else "…"
        )
        lines.append(f"| {c['scenario']}.{c['name']} | {value} | {'yes' if c['ok'] else 'NO'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    print(table(json.loads(Path(args[0]).read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
