"""Alembic environment of agent-sessions: runs on the connection the caller hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from agent_sessions.infrastructure.database.engine import create_database_engine
from agent_sessions.infrastructure.database.models import Base

config = context.config
target_metadata = Base.metadata
VERSION_TABLE = config.get_main_option("version_table") or "agent_sessions_alembic_version"


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate on the connection the library hands over, else on ``-x url=...``.

    The second form serves developers running Alembic itself with ``migrations/alembic.ini``;
    without ``-x url`` it falls back to the ini file's ``sqlalchemy.url``.
    """
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no connection handed to env.py and no -x url=... given")
    engine = create_database_engine(url)
    try:
        with engine.begin() as own_connection:
            _run(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError(
        "agent-sessions migrations run online only: they need a live connection, not --sql"
    )
run_migrations_online()
