"""Type lines into a command as a person at a terminal would (used by scripts/test-compose.sh).

    python3 scripts/typist.py WAIT COMMAND [LINE...]

Runs COMMAND (through bash) in a pseudo-terminal of 50 rows and 200 columns and types each LINE
followed by Enter (a carriage return, as a terminal sends it) as a person does: once the
program shows its prompt (the screen ends with "> ", "=> " or "# ") and at least three
seconds after it started, or WAIT seconds after the previous line if no prompt shows. Copies
everything the program prints to stdout and exits with its status (124 after 120 s, as
`timeout` does).

It answers the cursor-position query (ESC [6n) the way a terminal emulator does. Line editors
such as redis-cli's ask for it when the terminal's size reads 0, which is what `docker exec -it`
shows a program until the client's resize reaches the container; `script` never answers, so
the program waited for ever on a reply that a real terminal sends at once.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

ROWS, COLS = 50, 200
GUARD_SECONDS = 120.0
CURSOR_QUERY = b"\x1b[6n"
FAR_RIGHT = b"\x1b[999C"
# `docker exec -it` gives the container's terminal its size a moment after the program starts
# (Docker 20.10 ignores the size sent with the start); a line typed before that reaches psql
# while its terminal reads 0 rows, and psql pipes a one-row answer into its pager. A person
# never types that fast.
SETTLE_SECONDS = 3.0
# What a prompt looks like once colours and cursor moves are taken out: psql's "db=> " and
# "db=# ", mongosh's "test> ", redis-cli's "127.0.0.1:6379> ".
PROMPT = re.compile(rb"[>#] $")
CONTROL = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\r")


def main(argv: list[str]) -> int:
    wait, command, lines = float(argv[0]), argv[1], argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("bash", ["bash", "-c", command])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    start = last_typed = time.monotonic()
    screen = b""  # what the program printed since the last line was typed
    tail = b""
    out = sys.stdout.buffer
    while time.monotonic() - start < GUARD_SECONDS:
        shown = CONTROL.sub(b"", screen)
        settled = time.monotonic() - start >= SETTLE_SECONDS
        if lines and ((settled and PROMPT.search(shown)) or time.monotonic() - last_typed >= wait):
            os.write(fd, lines.pop(0).encode() + b"\r")
            last_typed, screen = time.monotonic(), b""
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the program closed the terminal
            break
        if not chunk:
            break
        out.write(chunk)
        out.flush()
        screen += chunk
        seen = tail + chunk
        *queries, rest = seen.split(CURSOR_QUERY)
        for before in queries:
            # A line editor measures the width by moving far right (ESC [999C) and asking again.
            column = COLS if before.endswith(FAR_RIGHT) else 1
            os.write(fd, b"\x1b[%d;%dR" % (ROWS, column))
        tail = rest[-(len(FAR_RIGHT) + len(CURSOR_QUERY) - 1) :]
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return 124
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
