"""PostgreSQL plumbing: async engines, Alembic migrations at start, the tables every
PostgreSQL service has (outbox, idempotency keys), and the errors that mean "PostgreSQL is
down"."""

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# What a consumer's handler raises when PostgreSQL cannot be reached (Broker's engine_down).
ENGINE_DOWN: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)

# Migration runs of several processes (two orchestrators starting together) take turns.
MIGRATION_LOCK_ID = 7_340_001


def make_engine(url: str, *, pool_size: int = 24) -> AsyncEngine:
    # The pool keeps what a busy service uses at once (the orchestrator drives up to 64 sagas,
    # each holding a connection only per write): connections past it are opened and closed on
    # every checkout (its cost: docs/performance.md).
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=16, pool_pre_ping=True, pool_recycle=1800
    )


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))


def _upgrade(url: str, migrations: Path) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes["url"] = url
    command.upgrade(config, "head")


async def migrate(url: str, migrations: Path) -> None:
    """Bring the schema to the newest Alembic revision (run at every start, idempotent)."""
    await asyncio.to_thread(_upgrade, url, migrations)


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


def create_messaging_tables() -> None:
    """Revision 0001 of every PostgreSQL service: the outbox and idempotency keys defined
    above, and the `inbox` table of that time (never used; a later revision drops it)."""
    from alembic import op

    bind = op.get_bind()
    inbox_0001 = sa.Table(
        "inbox",
        sa.MetaData(),
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("consumer", sa.String(128), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    for table in (outbox, inbox_0001, idempotency_keys):
        table.create(bind, checkfirst=True)
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["id"], postgresql_where=sa.text("published_at IS NULL")
    )
