"""Alembic environment of agent-sessions: runs on the connection the caller hands over.

Besides the version table, every applied revision is recorded in the migration ledger
(``agent_sessions_migration_ledger``) with the SHA-256 of its source, in the same transaction
as the version bump; a downgrade removes the row.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from alembic import context
from alembic.migration import MigrationContext, MigrationInfo
from alembic.script import Script
from sqlalchemy import Connection

from agent_sessions.infrastructure.database.engine import create_database_engine
from agent_sessions.infrastructure.database.migration_history import (
    ledger_table,
    record_applied,
    record_reverted,
    source_sha256,
)
from agent_sessions.infrastructure.database.models import Base

config = context.config
target_metadata = Base.metadata
VERSION_TABLE = config.get_main_option("version_table") or "agent_sessions_alembic_version"
LIBRARY_VERSION = config.attributes.get("library_version", "unknown")


def _record(
    ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]
) -> None:
    """Keep the ledger in step with the version table (Alembic's ``on_version_apply``)."""
    if step.is_stamp:
        return
    connection = ctx.connection
    assert connection is not None
    revision = step.up_revision_id
    assert revision is not None
    if step.is_upgrade:
        script = step.up_revision
        assert isinstance(script, Script)
        sha256 = source_sha256(Path(script.path))
        record_applied(connection, revision, sha256, LIBRARY_VERSION)
        config.attributes.setdefault("applied", []).append(revision)
    else:
        record_reverted(connection, revision)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transaction_per_migration=True,
        on_version_apply=_record,
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
        with engine.connect() as own_connection:
            ledger_table.create(own_connection, checkfirst=True)
            own_connection.commit()
            _run(own_connection)
            if own_connection.in_transaction():
                own_connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError(
        "agent-sessions migrations run online only: they need a live connection, not --sql"
    )
run_migrations_online()
