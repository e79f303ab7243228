"""The database shells of scripts/infra.sh (the native equivalents of the handout's
`docker exec … psql|mongosh|redis-cli`, docs/handout.md): each opens the database its service
uses, as that service's role, with arguments and stdin passed to the tool. Run against
throwaway databases through the same settings the services read (EVENT_DATABASE_URL, …)."""

import os
import subprocess
from pathlib import Path

import psycopg
import pymongo
import redis
from bson import ObjectId

from tests.support import MONGO_URL, create_pg_database, unique

INFRA = Path(__file__).resolve().parents[3] / "scripts" / "infra.sh"


def shell(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    answer = subprocess.run(
        [str(INFRA), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        # The first mongosh of a machine is installed from npm: minutes, once.
        timeout=900,
    )
    assert answer.returncode == 0, f"{args}: {answer.stdout}{answer.stderr}"
    return answer.stdout.strip()


def test_psql_opens_each_service_database_as_its_role():
    for name, role, db in (("events", "events", "events_db"), ("payments", "payments", "payments_db")):
        assert shell("psql", name, "-Atc", "select current_user, current_database()") == f"{role}|{db}"
    assert (
        shell("psql", "sagas", "-At", stdin="select current_user, current_database();\n") == "sagas|sagas_db"
    )


def test_psql_follows_the_service_setting_and_runs_a_real_query():
    url = create_pg_database("events", "shell_events")
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        conn.execute("CREATE TABLE events (id int PRIMARY KEY, booked_seats int, version int)")
        conn.execute("INSERT INTO events VALUES (1, 2, 2), (2, 0, 1)")
    env = {"EVENT_DATABASE_URL": url}
    assert shell("psql", "events", "-Atc", "select count(*) from events", env=env) == "2"
    piped = "select booked_seats, version from events where id = 1;\nselect sum(booked_seats) from events;\n"
    assert shell("psql", "events", "-At", env=env, stdin=piped).splitlines() == ["2|2", "2"]


def test_mongosh_reads_a_service_database_on_the_wire_server():
    database = unique("shell_reservations")
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(MONGO_URL)
    try:
        rid = ObjectId()
        client[database]["reservations"].insert_many(
            [
                {
                    "_id": rid,
                    "status": "confirmed",
                    "timeline": [{"status": "pending"}, {"status": "confirmed"}],
                },
                {"_id": ObjectId(), "status": "cancelled", "timeline": []},
            ]
        )
        env = {"RESERVATION_MONGO_DATABASE": database}
        found = shell(
            "mongosh",
            "reservations",
            "--quiet",
            "--eval",
            f"const r = db.reservations.findOne({{_id: ObjectId('{rid}')}});"
            " print(r.status, r.timeline.length)",
            env=env,
        )
        assert found == "confirmed 2"
        piped = "db.reservations.countDocuments({status: 'cancelled'})\n"
        assert shell("mongosh", "reservations", "--quiet", env=env, stdin=piped) == "1"
    finally:
        client.drop_database(database)
        client.close()
    for name, db in (("event_store", "event_store_db"), ("notifications", "notifications_db")):
        assert shell("mongosh", name, "--quiet", "--eval", "db.getName()") == db


def test_redis_cli_opens_the_payment_cache(redis_db: int):
    number = redis_db
    cache = redis.Redis(host="127.0.0.1", port=6379, db=number)
    cache.set("payment:42", '{"id": "42", "status": "completed"}', ex=3600)
    env = {"PAYMENT_REDIS_URL": f"redis://127.0.0.1:6379/{number}"}
    assert shell("redis-cli", "get", "payment:42", env=env) == '{"id": "42", "status": "completed"}'
    assert 0 < int(shell("redis-cli", "ttl", "payment:42", env=env)) <= 3600
    assert shell("redis-cli", env=env, stdin="EXISTS payment:42\nEXISTS payment:43\n").splitlines() == [
        "1",
        "0",
    ]
    cache.flushdb()


def test_an_unknown_database_is_refused_with_the_names():
    answer = subprocess.run([str(INFRA), "psql", "orders"], capture_output=True, text=True, timeout=60)
    assert answer.returncode != 0
    assert "events|payments|sagas" in answer.stderr
    answer = subprocess.run([str(INFRA), "mongosh", "orders"], capture_output=True, text=True, timeout=60)
    assert answer.returncode != 0
    assert "reservations|event_store|notifications" in answer.stderr
