"""A service migrates its schema at start in a child process: the schema reaches the newest
revision, a second start changes nothing, a failure is reported with what the child said, and
the service's own process never loads Alembic (it would hold it for its whole life)."""

import json
import os
import subprocess
import sys

import psycopg
import pytest
from sqlalchemy.engine import make_url

from shared import sql
from tests.support import ROOT, create_pg_database

MIGRATIONS = ROOT / "event_service" / "migrations"
HEAD = sorted(p.name.split("_")[0] for p in (MIGRATIONS / "versions").glob("[0-9]*.py"))[-1]

PROBE = """
import asyncio, json, os, sys
from pathlib import Path
from shared import sql
asyncio.run(sql.migrate(os.environ["PROBE_URL"], Path(sys.argv[1])))
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def _tables_and_revision(url: str) -> tuple[set[str], str]:
    parts = make_url(url)
    with psycopg.connect(
        host=parts.host, port=parts.port, user=parts.username, password=parts.password, dbname=parts.database
    ) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert revision is not None
    return tables, revision[0]


def test_a_service_process_migrates_without_loading_alembic() -> None:
    url = create_pg_database("events")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(MIGRATIONS)],
        cwd=ROOT,
        env={**os.environ, "PROBE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "alembic" not in loaded and "mako" not in loaded
    tables, revision = _tables_and_revision(url)
    assert {"events", "outbox", "idempotency_keys"} <= tables
    assert revision == HEAD


async def test_migrating_again_changes_nothing() -> None:
    url = create_pg_database("events")
    await sql.migrate(url, MIGRATIONS)
    first = _tables_and_revision(url)
    await sql.migrate(url, MIGRATIONS)
    assert _tables_and_revision(url) == first


async def test_a_failed_migration_says_why() -> None:
    url = create_pg_database("events")
    wrong = make_url(url).set(password="not-the-password").render_as_string(hide_password=False)
    with pytest.raises(sql.MigrationFailed) as failed:
        await sql.migrate(wrong, MIGRATIONS)
    assert "password authentication failed" in str(failed.value)


# The head revision each service's databases reached before its migrations were squashed into
# one baseline; the baseline keeps that id, so those databases are up to date as they are.
SQUASHED_HEADS = {"event_service": "0003", "payment_service": "0003", "saga_orchestrator": "0004"}
ROLES = {"event_service": "events", "payment_service": "payments", "saga_orchestrator": "sagas"}


@pytest.mark.parametrize("service", sorted(SQUASHED_HEADS))
async def test_each_service_has_one_baseline_at_the_old_head(service: str) -> None:
    """One revision without a parent, the baseline, at the old head; the revisions since
    (the outbox's trace context, docs/tracing.md) follow it."""
    migrations = ROOT / service / "migrations"
    revisions = sorted(p.name.split("_")[0] for p in (migrations / "versions").glob("[0-9]*.py"))
    assert revisions[0] == SQUASHED_HEADS[service]
    roots = [
        p.name for p in (migrations / "versions").glob("[0-9]*.py") if "down_revision = None" in p.read_text()
    ]
    assert [name.split("_")[0] for name in roots] == [SQUASHED_HEADS[service]]
    url = create_pg_database(ROLES[service])
    await sql.migrate(url, migrations)
    tables, revision = _tables_and_revision(url)
    assert revision == revisions[-1]
    assert {"outbox", "idempotency_keys"} <= tables
    assert "inbox" not in tables


async def test_a_schema_at_the_head_starts_without_a_migrating_process(monkeypatch) -> None:
    """A restart (the schema at the head already) spares the child process; a schema behind
    the head, or a database without one, still gets it."""
    url = create_pg_database("events")
    real = sql.asyncio.create_subprocess_exec
    children: list[tuple[object, ...]] = []

    async def counted(*args, **kwargs):
        children.append(args)
        return await real(*args, **kwargs)

    monkeypatch.setattr(sql.asyncio, "create_subprocess_exec", counted)
    await sql.migrate(url, MIGRATIONS)
    assert len(children) == 1  # a new database: migrated by the child
    await sql.migrate(url, MIGRATIONS)
    assert len(children) == 1  # at the head: no child
    parts = make_url(url)
    with psycopg.connect(
        host=parts.host, port=parts.port, user=parts.username, password=parts.password, dbname=parts.database
    ) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'older'")
    with pytest.raises(sql.MigrationFailed):  # Alembic knows no revision 'older': the child said so
        await sql.migrate(url, MIGRATIONS)
    assert len(children) == 2


def test_the_head_revision_is_read_from_the_scripts(tmp_path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_a.py").write_text('revision = "0001"\ndown_revision = None\n')
    (versions / "0002_b.py").write_text('revision: str = "0002"\ndown_revision: str | None = "0001"\n')
    assert sql.head_revision(tmp_path) == "0002"
    (versions / "0003_c.py").write_text("revision = '0003'\ndown_revision = '0001'\n")
    assert sql.head_revision(tmp_path) is None  # two heads: the migration run decides
    assert sql.head_revision(ROOT / "event_service" / "migrations") == HEAD


@pytest.mark.parametrize("service", sorted(SQUASHED_HEADS))
async def test_a_database_at_the_baseline_gains_the_outbox_trace_context(service: str) -> None:
    """A database migrated before the trace context existed (at the baseline, its outbox made
    without the column) upgrades to a head whose outbox has it."""
    migrations = ROOT / service / "migrations"
    url = create_pg_database(ROLES[service])
    parts = make_url(url)
    dsn = dict(
        host=parts.host, port=parts.port, user=parts.username, password=parts.password, dbname=parts.database
    )
    await sql.migrate(url, migrations)
    with psycopg.connect(**dsn) as conn:  # type: ignore[arg-type]
        # Back to what the baseline made before the column joined the outbox table.
        conn.execute("ALTER TABLE outbox DROP COLUMN trace_context")
        if service == "saga_orchestrator":
            conn.execute("ALTER TABLE sagas DROP COLUMN trace_context")
        conn.execute("UPDATE alembic_version SET version_num = %s", (SQUASHED_HEADS[service],))
    await sql.migrate(url, migrations)
    with psycopg.connect(**dsn) as conn:  # type: ignore[arg-type]
        columns = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'outbox'"
            )
        }
    assert "trace_context" in columns
