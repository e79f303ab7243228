"""Runs the shell blocks of the README and the docs as typed, one bash session per page.

Which blocks run:
- ```bash and ```sh blocks: every line, as a script typed into the shell;
- ```console blocks: a transcript; the lines starting with `$ ` are commands (with the lines
  after one ending in a backslash), every other line is output shown for reading, not checked;
- every other language (json, text, mermaid, …) is never run. A fence without a language is
  refused by the test, so no command can hide from it.

A block is marked, in the page, by an HTML comment on the line before its fence:
- `<!-- doc-test: skip — <why> -->`: not run (destructive, long, containers, starts the
  fleet the test already runs); the reason is reported;
- `<!-- doc-test: expect-http-error -->`: the block shows refusals: at least one of its curl
  calls must answer a status >= 400, and such answers do not fail it, except 401 and 403 (an
  example without its token); `<!-- doc-test: expect-http-error 401 403 -->` names the
  statuses allowed instead.

Each page runs in its own `bash` session, blocks in order (variables carry over), from the
checkout, with a PATH that has no `.venv/bin` and without the fleet's tokens (as a new
user's shell), but with a `curl` first on PATH that reads each answer's status: `curl -s` on
a 401 exits 22 instead of 0. A command that exits non-zero fails its block (an ERR trap with
`pipefail`); a curl answered >= 400 also fails it, with its status.

Where a page runs: a page that drives the fleet itself (`fleet start|stop|restart|status|lab`,
`scripts/`, `.data/run` or `.data/logs`, a `.venv/bin/python` program with its own settings, a
port written outside a `127.0.0.1:PORT` URL, an engine's port) needs the fleet on the default
ports, the one its commands name. Every other page talks to the services by their URLs only
(`needs_default_fleet`): the test runs those on a fleet of their own, beside the default one, each
`127.0.0.1:PORT` of the fleet's ports typed to that fleet's port, each `/tmp/` path to a folder of
the session's (the other pages write the same file names), and `fleet seed|demo|check|resume`
pointed at it by EVENT_URL, ..., SAGA_URL and AMQP_QUEUE_PREFIX (`Target`).

Also a command: `.venv/bin/python -m tests.docs.runner [PAGE...]` against a running fleet.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNABLE = ("bash", "sh", "console")
MARKER = re.compile(
    r"^\s*<!--\s*doc-test:\s*(?P<kind>[\w-]+)(?:(?:\s*[—:]\s*|\s+)(?P<reason>.*?))?\s*-->\s*$"
)
KINDS = ("skip", "expect-http-error")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[^\s`]*)\s*$")
# A command typed as `fleet …` or `python …` (not `python3`): neither is on a new user's PATH.
BARE_COMMAND = re.compile(r"(?:^|[;&|(]|\$\()\s*(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?P<cmd>fleet|python)(?=\s|$)")
# HTTPie's `:8081/path` shorthand given to curl.
HTTPIE_SHORTHAND = re.compile(r"\bcurl\b[^|;]*\s:\d+/")


# The fleet's ports, in the order of fleetctl.fleet.EVERYTHING, and the further instances' (3011, 3012).
FLEET_PORTS = (8080, 3000, 5000, 8081, 3001, 3002, 5001, 8090)
URL_PORT = re.compile(r"\b(?:127\.0\.0\.1|localhost):(?P<port>\d+)")
# A port as a shell types it outside a URL: `SAGA_PORT=3012`, `$((3001 + 1))`, `grep ':(8080|3000)'`.
PORT_OUTSIDE_URL = re.compile(
    r"""(?:PORT=|\$\(\(\s*|(?<!["\w]):|[(|])(?P<port>(?:80[89]\d|30\d\d|50\d\d))\b"""
)
# What only the default fleet's own shell can type: the fleet driven by its pid files and logs,
# the engine scripts, programs that read their settings (a database, an index) from the
# environment's defaults, and fleet commands other than the ones that take *_URL.
DEFAULT_FLEET_ONLY = re.compile(
    r"scripts/|\.data/(?!tokens\.env)|\.venv/bin/python\b|\.venv/bin/fleet\s+(?!(?:seed|demo|check|resume)\b)"
)


def pages() -> list[Path]:
    """README.md, docs/*.md and docs/fr/*.md, in that order."""
    docs = ROOT / "docs"
    return [ROOT / "README.md", *sorted(docs.glob("*.md")), *sorted((docs / "fr").glob("*.md"))]


@dataclass
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str  # the block's body (fence indentation removed)
    marker: str | None = None
    reason: str = ""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def runnable(self) -> bool:
        return self.lang in RUNNABLE

    def commands(self) -> list[str]:
        """The commands as typed: the whole body of a bash block; the `$ ` lines of a console
        block, joined with their backslash continuations."""
        if self.lang != "console":
            return [self.text]
        found: list[str] = []
        current: list[str] | None = None
        for line in self.text.splitlines():
            if current is not None:
                current.append(line)
            elif line.startswith("$ "):
                current = [line[2:]]
            if current is not None and not line.rstrip().endswith("\\"):
                found.append("\n".join(current))
                current = None
        if current is not None:
            found.append("\n".join(current))
        return found

    def script(self) -> str:
        return "\n".join(self.commands()) + "\n"


def parse(page: Path) -> list[Block]:
    """Every fenced block of a page, with the doc-test marker of the line before its fence."""
    lines = page.read_text().splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, start = len(fence["indent"]), i
        body: list[str] = []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        block = Block(page, start + 1, fence["lang"], "\n".join(body))
        previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.match(previous)
        if marker:
            block.marker, block.reason = marker["kind"], (marker["reason"] or "").strip()
        elif "doc-test" in previous:
            block.marker = f"unreadable: {previous.strip()}"
        blocks.append(block)
        i += 1
    return blocks


def problems(block: Block) -> list[str]:
    """What is wrong with a block whatever it does when run (checked for skipped ones too)."""
    found = []
    if not block.lang:
        found.append("a fence without a language: mark commands bash/console and output text/json")
    if block.marker is not None and block.marker not in KINDS:
        found.append(f"unknown doc-test marker {block.marker!r} (known: {', '.join(KINDS)})")
    if block.marker == "expect-http-error" and not re.fullmatch(r"(\d{3}\s*)*", block.reason):
        found.append("`doc-test: expect-http-error` takes nothing or HTTP statuses: `... 401 403 -->`")
    if block.marker == "skip" and not block.reason:
        found.append("`doc-test: skip` needs a reason: `<!-- doc-test: skip — why -->`")
    if block.marker and not block.runnable:
        found.append(f"a doc-test marker on a {block.lang or 'plain'} block, which never runs")
    if block.runnable:
        for command in block.commands():
            for line in command.splitlines():
                code = "" if line.lstrip().startswith("#") else line.split(" #", 1)[0]
                bare = BARE_COMMAND.search(code)
                if bare:
                    name = bare["cmd"]
                    found.append(f"`{name}` is not on PATH: type .venv/bin/{name} ({line.strip()})")
                if HTTPIE_SHORTHAND.search(code):
                    found.append(f"curl takes a full URL, not HTTPie's `:port/…` ({line.strip()})")
    return found


def needs_default_fleet(page: Path) -> bool:
    """Whether a page's blocks drive the fleet on the default ports themselves (module doc)."""
    for block in parse(page):
        if not block.runnable or block.marker == "skip":
            continue
        text = block.script()
        if DEFAULT_FLEET_ONLY.search(text):
            return True
        urls = [m for m in URL_PORT.finditer(text)]
        if any(int(m["port"]) not in FLEET_PORTS for m in urls):
            return True  # an engine's port, or a further instance's: the default fleet's names
        in_urls = {m.start("port") for m in urls}
        for found in PORT_OUTSIDE_URL.finditer(text):
            if found.start("port") not in in_urls:
                return True  # a port typed outside a URL (`$((3001 + ...))`, `SAGA_PORT=3012`)
    return False


@dataclass
class Target:
    """Where a page's commands go: the default fleet as typed (`port_offset` 0), or a fleet of
    its own, its URLs and `/tmp/` paths retyped, its settings in the session's environment."""

    port_offset: int = 0
    env: dict[str, str] = field(default_factory=dict)

    @property
    def isolated(self) -> bool:
        return self.port_offset != 0

    def retype(self, text: str, files: Path) -> str:
        if not self.isolated:
            return text

        def port(match: re.Match[str]) -> str:
            number = int(match["port"])
            if number not in FLEET_PORTS:
                return match[0]
            return match[0][: match.start("port") - match.start()] + str(number + self.port_offset)

        return URL_PORT.sub(port, text).replace("/tmp/", f"{files}/")


# --- running ---------------------------------------------------------------------------------

_CURL = """#!/usr/bin/env bash
# doc-test: curl, failing on an HTTP status >= 400 as `curl -s` does not (its headers are
# dumped aside to read the status; the output is curl's own).
# Only the page's own commands: a script or a tool the page runs (test-system.sh asks for
# refusals on purpose) gets curl as it is.
if ! tr '\\0' ' ' < /proc/$PPID/cmdline 2>/dev/null | grep -qF "$DOC_TEST_SCRIPT"; then
  exec "{real}" "$@"
fi
headers=$(mktemp)
"{real}" -D "$headers" "$@"
rc=$?
# The last answer's status (earlier ones: redirects, or retries of `--retry`).
status=$(grep -aoE '^HTTP/[0-9.]+ [0-9]{{3}}' "$headers" | tail -1 | cut -d' ' -f2 | awk '$1 >= 400')
rm -f "$headers"
[ "$rc" = 0 ] && [ -n "$status" ] || exit $rc
allowed="${{DOC_TEST_EXPECT_HTTP_ERROR:-}}"
if [ "$allowed" = any ] && [ "$status" != 401 ] && [ "$status" != 403 ]; then allowed=$status; fi
if [[ " $allowed " == *" $status "* ]]; then
  echo "http-error $DOC_TEST_BLOCK $status" >> "$DOC_TEST_STATUS"
  exit 0
fi
echo "http-refused $DOC_TEST_BLOCK $status curl $*" | tr '\\n' ' ' >> "$DOC_TEST_STATUS"
echo >> "$DOC_TEST_STATUS"
echo "doc-test: curl: HTTP $status" >&2
exit 22
"""


@dataclass
class BlockResult:
    block: Block
    seconds: float | None = None  # None: not reached
    failures: list[str] = field(default_factory=list)
    http_errors: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class PageResult:
    page: Path
    results: list[BlockResult]
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def skipped(self) -> list[Block]:
        return [r.block for r in self.results if r.block.marker == "skip"]

    def report(self) -> str:
        lines = [f"{self.page.relative_to(ROOT)} ({self.seconds:.1f} s)"]
        for r in self.results:
            timing = "not reached" if r.seconds is None else f"{r.seconds:6.2f} s"
            if r.block.marker == "skip":
                timing = f"skipped: {r.block.reason}"
            lines.append(f"  {'✓' if r.ok else '✗'} {r.block.where:<45} {timing}")
            lines.extend(f"      {failure}" for failure in r.failures)
        if not self.ok:
            tail = self.output[-6000:]
            lines.append("  --- the session's output (end) ---")
            lines.extend(f"  | {line}" for line in tail.splitlines())
        return "\n".join(lines)


def session_env(tools: Path, status: Path) -> dict[str, str]:
    """A new user's shell: no virtualenv on PATH, no fleet tokens in the environment."""
    # Nor the suite's settings (tests/conftest.py turns tracing off): the fleet a page restarts
    # traces, as the README's does.
    private = ("SERVICE_TOKEN", "OPERATOR_TOKEN", "VIRTUAL_ENV", "TRACING_ENABLED")
    env = {k: v for k, v in os.environ.items() if k not in private}
    venv_bins = {str(ROOT / ".venv" / "bin"), str(Path(sys.prefix) / "bin")}
    path = [p for p in env.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p not in venv_bins]
    env["PATH"] = os.pathsep.join([str(tools), *path])
    env["DOC_TEST_STATUS"] = str(status)
    env["DOC_TEST_SCRIPT"] = str(status.parent / "page.sh")
    env.pop("PYTHONPATH", None)
    return env


def run_page(page: Path, *, timeout: float = 600.0, target: Target | None = None) -> PageResult:
    target = target or Target()
    blocks = parse(page)
    results = [BlockResult(b) for b in blocks if b.runnable]
    with tempfile.TemporaryDirectory(prefix="doc-test-") as tmp:
        tools, status, script = Path(tmp) / "bin", Path(tmp) / "status", Path(tmp) / "page.sh"
        files = Path(tmp) / "tmp"
        tools.mkdir()
        files.mkdir()
        real_curl = shutil.which("curl") or "/usr/bin/curl"
        (tools / "curl").write_text(_CURL.format(real=real_curl))
        (tools / "curl").chmod(0o755)
        status.touch()
        parts = [
            "set -E -o pipefail",
            # Every failing command, with its block; the session goes on (as a typed one would).
            'trap \'__dt_rc=$?; printf "fail %s %s %s\\n" "$DOC_TEST_BLOCK" "$__dt_rc" '
            '"${BASH_COMMAND//$\'\\n\'/ }" >> "$DOC_TEST_STATUS"\' ERR',
        ]
        for index, result in enumerate(results):
            block = result.block
            if block.marker == "skip":
                continue
            expect = (block.reason or "any") if block.marker == "expect-http-error" else ""
            parts += [
                f"export DOC_TEST_BLOCK={index} DOC_TEST_EXPECT_HTTP_ERROR='{expect}'",
                f'printf "begin {index} %s\\n" "$(date +%s%N)" >> "$DOC_TEST_STATUS"',
                f"echo '### {block.where}'",
                target.retype(block.script(), files),
                f'printf "end {index} %s\\n" "$(date +%s%N)" >> "$DOC_TEST_STATUS"',
            ]
        script.write_text("\n".join(parts) + "\n")
        started = time.monotonic()
        process = subprocess.Popen(
            ["bash", str(script)],
            cwd=ROOT,
            env={**session_env(tools, status), **target.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = False
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        else:
            # Whatever a block left running in the background (it should have stopped it).
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        seconds = time.monotonic() - started
        _read_status(status.read_text(), results)
    if timed_out:
        running = next((r for r in results if r.seconds is None and r.block.marker != "skip"), None)
        if running is not None:
            running.failures.append(f"still running after the page's {timeout:.0f} s")
    for result in results:
        expected = result.block.marker == "expect-http-error"
        if expected and result.seconds is not None and not result.http_errors:
            result.failures.append("marked expect-http-error, but no curl call answered a status >= 400")
    return PageResult(page, results, output.decode(errors="replace"), seconds)


def _read_status(text: str, results: list[BlockResult]) -> None:
    begun: dict[int, int] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        number, _, detail = rest.partition(" ")
        if not number.isdigit() or int(number) >= len(results):
            continue
        result = results[int(number)]
        if kind == "begin":
            begun[int(number)] = int(detail)
        elif kind == "end" and int(number) in begun:
            result.seconds = (int(detail) - begun[int(number)]) / 1e9
        elif kind == "fail":
            rc, _, command = detail.partition(" ")
            result.failures.append(f"exit {rc}: {command}")
        elif kind == "http-error":
            result.http_errors += 1
        elif kind == "http-refused":
            status, _, command = detail.partition(" ")
            command = re.sub(r"Bearer \S+", "Bearer …", command.strip())
            result.failures.append(f"HTTP {status} from: {command}")


def main(argv: list[str] | None = None) -> int:
    """Run the pages named (default: all) against the fleet running on the default ports."""
    chosen = [Path(p).resolve() for p in (argv if argv is not None else sys.argv[1:])] or pages()
    failed = 0
    for page in chosen:
        result = run_page(page)
        print(result.report(), flush=True)
        failed += not result.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
