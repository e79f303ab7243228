"""Readiness probe for a MongoDB-wire server: sends {ping: 1} as OP_MSG, standard library only."""

import socket
import struct
import sys


def bson_document(fields: list[tuple[str, object]]) -> bytes:
    body = b""
    for key, value in fields:
        name = key.encode() + b"\x00"
        if isinstance(value, int):
            body += b"\x10" + name + struct.pack("<i", value)
        else:
            text = str(value).encode() + b"\x00"
            body += b"\x02" + name + struct.pack("<i", len(text)) + text
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def ping(host: str, port: int) -> bool:
    payload = struct.pack("<I", 0) + b"\x00" + bson_document([("ping", 1), ("$db", "admin")])
    header = struct.pack("<iiii", 16 + len(payload), 1, 0, 2013)  # 2013 = OP_MSG
    with socket.create_connection((host, port), timeout=2) as conn:
        conn.sendall(header + payload)
        reply = conn.recv(4096)
    # The reply's document carries ok: 1.0 as a double.
    return len(reply) > 21 and b"ok\x00" + struct.pack("<d", 1.0) in reply


if __name__ == "__main__":
    try:
        sys.exit(0 if ping(sys.argv[1], int(sys.argv[2])) else 1)
    except OSError:
        sys.exit(1)
