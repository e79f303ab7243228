"""PostgreSQL plumbing: async engines, Alembic migrations at start, the tables every
PostgreSQL service has (outbox, idempotency keys), and the errors that mean "PostgreSQL is
down"."""

import asyncio
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.ext.asyncio
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import tracing

if TYPE_CHECKING:
    from shared.contracts import Envelope
    from shared.idempotency import Idempotency

# What a consumer's handler raises when PostgreSQL cannot be reached (Broker's engine_down).
ENGINE_DOWN: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)

# Migration runs of several processes (two orchestrators starting together) take turns.
MIGRATION_LOCK_ID = 7_340_001


def make_engine(url: str, *, pool_size: int = 24) -> AsyncEngine:
    # The pool keeps what a busy service uses at once (the orchestrator drives up to 64 sagas,
    # each holding a connection only per write): connections past it are opened and closed on
    # every checkout (its cost: docs/performance.md).
    # Through the module, not a name imported at load time: the tracing instrumentation wraps
    # the module's function, and each statement becomes a span of the work that ran it.
    tracing.instrument("sqlalchemy")
    return sqlalchemy.ext.asyncio.create_async_engine(
        url, pool_size=pool_size, max_overflow=16, pool_pre_ping=True, pool_recycle=1800
    )


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))


async def page(
    engine: AsyncEngine,
    table: sa.Table,
    where: Sequence[sa.ColumnElement[bool]],
    order_by: Sequence[sa.ColumnElement[Any]],
    offset: int,
    limit: int,
) -> "tuple[list[sa.RowMapping], int]":
    """One page of `table`'s rows matching `where`, in `order_by` order, and how many match."""
    async with engine.connect() as conn:
        count = sa.select(sa.func.count()).select_from(table).where(*where)
        total = (await conn.execute(count)).scalar_one()
        rows = sa.select(table).where(*where).order_by(*order_by).offset(offset).limit(limit)
        return list((await conn.execute(rows)).mappings()), total


# The child process that migrates reads the database URL here (never on its command line,
# which any user of the machine can read).
MIGRATION_URL_VARIABLE = "TP4_MIGRATION_URL"


class MigrationFailed(RuntimeError):
    """The migrating process failed; the message ends with what it printed."""


def upgrade(url: str, migrations: Path) -> None:
    """Bring the schema to the newest Alembic revision, in this process."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes["url"] = url
    command.upgrade(config, "head")


# A migration script's own id and its parents', as Alembic's generated scripts spell them.
_REVISION = re.compile(r"""^revision(?:\s*:[^=]*)?\s*=\s*["']([^"']+)["']""", re.M)
_DOWN_REVISION = re.compile(r"^down_revision(?:\s*:[^=]*)?\s*=\s*(.+)$", re.M)


def head_revision(migrations: Path) -> str | None:
    """The migrations folder's one head revision, read from the scripts' text (Alembic is not
    imported); None when the text does not tell (a script spelled otherwise, several heads)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (migrations / "versions").glob("*.py"):
        text = script.read_text()
        revision, down = _REVISION.search(text), _DOWN_REVISION.search(text)
        if revision is None or down is None:
            return None
        revisions.add(revision[1])
        parents.update(re.findall(r"""["']([^"']+)["']""", down[1]))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def _at_revision(url: str, revision: str) -> bool:
    """Whether the database's schema is at `revision` already; False when it cannot tell."""
    engine = sqlalchemy.ext.asyncio.create_async_engine(url, poolclass=sa.pool.NullPool)
    try:
        async with engine.connect() as conn:
            found = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalars().all()
    except Exception:  # no such table yet, or no connection: the migration run decides and says why
        return False
    finally:
        await engine.dispose()
    return found == [revision]


async def migrate(url: str, migrations: Path) -> None:
    """Bring the schema to the newest Alembic revision (run at every start, idempotent).

    In a child process (`python -m shared.migrate`): Alembic, Mako and the migration scripts
    are loaded there and leave with it, instead of staying in the service's memory for its
    whole life (docs/performance.md). A schema already at the head revision (every restart)
    needs no child: one query instead of a Python process importing Alembic, about a third of
    a PostgreSQL service's start."""
    head = head_revision(migrations)
    if head is not None and await _at_revision(url, head):
        return
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.migrate",
        str(migrations),
        env={**os.environ, MIGRATION_URL_VARIABLE: url},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await process.communicate()
    except BaseException:
        # The service is stopping (or failed) while migrating: the child goes with it. A
        # migration cut short rolls back (one transaction per revision).
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if process.returncode != 0:
        said = output.decode(errors="replace").strip()[-2000:]
        raise MigrationFailed(f"migrating {migrations} exited with {process.returncode}: {said}")


def run_alembic_env() -> None:
    """Body of every service's migrations/env.py: online migrations under an advisory lock."""
    from alembic import context

    url = context.config.attributes.get("url") or context.config.get_main_option("sqlalchemy.url")
    assert url, "migrations need a database URL"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        try:
            context.configure(connection=connection, transaction_per_migration=True)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
    engine.dispose()


metadata = sa.MetaData()

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("message_id", sa.String(64), nullable=False, unique=True),
    sa.Column("routing_key", sa.String(128), nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("published_at", sa.DateTime(timezone=True)),
    # The trace context of the work that wrote the row (W3C headers, shared/tracing.py): the
    # relay publishes in that trace, which a consumer then joins. NULL outside a trace.
    sa.Column("trace_context", JSONB(none_as_null=True)),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)


def writes_hung_on(rows: sa.CTE, *, keep_answer: bool) -> list[sa.CTE]:
    """The outbox row (and, with `keep_answer`, the answer kept under the Idempotency-Key)
    inserted from the rows of a data-modifying CTE: they exist exactly when it wrote, in one
    statement. Their values are the bind parameters p_message_id, p_routing_key, p_payload,
    p_trace_context (and p_scope, p_key, p_fingerprint, p_status_code, p_response)."""
    message = sa.select(
        sa.bindparam("p_message_id", type_=sa.String),
        sa.bindparam("p_routing_key", type_=sa.String),
        sa.bindparam("p_payload", type_=JSONB),
        sa.bindparam("p_trace_context", type_=JSONB(none_as_null=True)),
    ).select_from(rows)
    columns = ["message_id", "routing_key", "payload", "trace_context"]
    writes = [outbox.insert().from_select(columns, message).cte("queued")]
    if keep_answer:
        answer = sa.select(
            sa.bindparam("p_scope", type_=sa.String),
            sa.bindparam("p_key", type_=sa.String),
            sa.bindparam("p_fingerprint", type_=sa.String),
            sa.bindparam("p_status_code", type_=sa.Integer),
            sa.bindparam("p_response", type_=JSONB),
        ).select_from(rows)
        writes.append(
            idempotency_keys.insert()
            .from_select(["scope", "key", "fingerprint", "status_code", "response"], answer)
            .cte("kept")
        )
    return writes


def kept_answer() -> sa.Subquery:
    """The answer kept under the bind parameters p_scope and p_key (no row when none is), for
    a statement that reads it along with the row it is about, in one round trip."""
    keys = idempotency_keys
    return (
        sa.select(keys.c.fingerprint, keys.c.status_code, keys.c.response)
        .where(
            keys.c.scope == sa.bindparam("p_scope", type_=sa.String),
            keys.c.key == sa.bindparam("p_key", type_=sa.String),
        )
        .subquery()
    )


def message_values(message: "Envelope") -> dict[str, Any]:
    """The bind parameters of the outbox row `writes_hung_on` inserts."""
    return {
        "p_message_id": message.message_id,
        "p_routing_key": message.type,
        "p_payload": message.as_document(),
        "p_trace_context": tracing.carrier(),
    }


def hung_values(
    message: "Envelope", idem: "Idempotency | None", *, scope: str, status_code: int, response: Any
) -> dict[str, Any]:
    """The bind parameters of `writes_hung_on`'s rows: the message, and the answer kept under
    the caller's key (none without one)."""
    values = message_values(message)
    if idem is not None:
        values.update(
            p_scope=scope,
            p_key=idem.key,
            p_fingerprint=idem.fingerprint,
            p_status_code=status_code,
            p_response=response,
        )
    return values


def add_outbox_trace_context() -> None:
    """In the revision after the baseline of every PostgreSQL service: the outbox's
    trace_context column. IF NOT EXISTS: a database made by the baseline since the column
    joined the `outbox` table above already has it."""
    from alembic import op

    op.execute("ALTER TABLE outbox ADD COLUMN IF NOT EXISTS trace_context JSONB")


def create_messaging_tables() -> None:
    """In the baseline revision of every PostgreSQL service: the outbox and idempotency keys
    defined above."""
    from alembic import op

    bind = op.get_bind()
    for table in (outbox, idempotency_keys):
        table.create(bind, checkfirst=True)
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["id"], postgresql_where=sa.text("published_at IS NULL")
    )
