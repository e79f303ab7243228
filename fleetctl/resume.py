"""`fleet resume SAGA_ID ... | --all`: an operator's way back from COMPENSATION_FAILED, once
its cause is fixed (a participant back, the service tokens agreeing). Each saga is resumed
through the orchestrator's operator endpoint (`POST /api/saga/{id}/resume`, docs/saga.md):
its failed calls run again under their idempotency keys, and the command waits for its end.
The orchestrator is SAGA_URL, else the native port; the operator token is OPERATOR_TOKEN,
else the data folder's (`fleet tokens`)."""

import argparse
import os
import sys
import time
from typing import Any

import httpx

from fleetctl.story import URL_ENV
from fleetctl.tokens import read_tokens, tokens_file

TERMINAL = frozenset({"COMPLETED", "COMPENSATED", "COMPENSATION_FAILED"})
# The orchestrator pages its list by at most this many sagas.
PAGE_SIZE = 100


def add_command(sub: Any) -> None:
    cmd = sub.add_parser(
        "resume",
        help="resume COMPENSATION_FAILED sagas once their cause is fixed (operator)",
        description="Resume each COMPENSATION_FAILED saga named (or --all of them): its failed "
        "compensations (or a cancellation's unanswered step) run again under their idempotency "
        "keys; waits for each to end. The orchestrator is SAGA_URL, else 127.0.0.1:3002; the "
        "operator token is OPERATOR_TOKEN, else .data/tokens.env. Exit 0 when every one ended "
        "COMPENSATED (or, a cancellation, COMPLETED).",
    )
    cmd.add_argument("sagas", nargs="*", metavar="SAGA_ID", help="the sagas to resume")
    cmd.add_argument("--all", action="store_true", help="every COMPENSATION_FAILED saga")
    cmd.add_argument("--wait", type=float, default=60.0, metavar="S", help="seconds to wait for each end")


def _failed_sagas(client: httpx.Client) -> list[str]:
    found: list[str] = []
    page = 1
    while True:
        answer = client.get(
            "/api/saga", params={"status": "COMPENSATION_FAILED", "page": page, "size": PAGE_SIZE}
        )
        answer.raise_for_status()
        items = answer.json().get("items") or []
        found += [str(item["sagaId"]) for item in items]
        if len(items) < PAGE_SIZE:
            return found
        page += 1


def _ended(client: httpx.Client, saga_id: str, wait: float) -> dict[str, Any]:
    deadline = time.monotonic() + wait
    while True:
        left = max(0.0, min(30.0, deadline - time.monotonic()))
        saga: dict[str, Any] = client.get(f"/api/saga/{saga_id}", params={"wait": round(left, 1)}).json()
        if saga.get("status") in TERMINAL or time.monotonic() >= deadline:
            return saga


def run_command(args: argparse.Namespace) -> int:
    env, port = URL_ENV["saga"]
    url = os.environ.get(env, f"http://127.0.0.1:{port}")
    token = os.environ.get("OPERATOR_TOKEN") or read_tokens().get("OPERATOR_TOKEN")
    if not token:
        print(
            f"no OPERATOR_TOKEN in the environment nor in {tokens_file()}: run `fleet tokens`",
            file=sys.stderr,
        )
        return 2
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=40) as client:
        sagas = list(args.sagas) + (_failed_sagas(client) if args.all else [])
        if not sagas:
            print("no saga to resume (name some, or --all)")
            return 0 if args.all else 2
        ok = True
        for saga_id in sagas:
            answer = client.post(f"/api/saga/{saga_id}/resume")
            if answer.status_code != 202:
                ok = False
                print(f"{saga_id}: {answer.status_code} {answer.json().get('detail', answer.text)}")
                continue
            saga = _ended(client, saga_id, args.wait)
            status = saga.get("status")
            ok = ok and status in ("COMPENSATED", "COMPLETED")
            print(
                f"{saga_id}: resumed, now {status}" + (f" ({saga.get('error')})" if saga.get("error") else "")
            )
    return 0 if ok else 1
