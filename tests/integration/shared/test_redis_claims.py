"""A Redis database number claimed by one process (a test worker, a fleet's holder) is never
handed to another, nor emptied by it: parallel workers and other test runs on the machine
share one Redis server."""

import subprocess
import sys

import redis

from fleetctl.isolated import REDIS_DBS, claim_redis_db, release_redis_db
from tests.support import ROOT

# Claims every number it can get (without waiting), prints them, gives them back on exit.
GREEDY = """
from fleetctl.isolated import claim_redis_db
got = []
while True:
    try:
        got.append(claim_redis_db(wait=0))
    except RuntimeError:
        break
print(" ".join(map(str, got)))
"""


def _claimed_elsewhere() -> set[int]:
    child = subprocess.run(
        [sys.executable, "-c", GREEDY], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return {int(n) for n in child.stdout.split()}


def test_a_claimed_number_is_neither_handed_out_nor_emptied_elsewhere():
    mine = claim_redis_db()
    try:
        assert mine in REDIS_DBS and mine != 0  # 0 is the dev fleet's
        cache = redis.Redis(host="127.0.0.1", port=6379, db=mine)
        cache.set("payment:1", "kept")
        elsewhere = _claimed_elsewhere()
        assert elsewhere, "the other process got no number at all"
        assert mine not in elsewhere
        assert cache.get("payment:1") == b"kept"
    finally:
        release_redis_db(mine)


def test_one_process_never_gets_the_same_number_twice():
    first, second = claim_redis_db(), claim_redis_db()
    try:
        assert first != second
    finally:
        release_redis_db(first)
        release_redis_db(second)
