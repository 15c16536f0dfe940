"""Alembic as an API: upgrade, downgrade, current revision, head and the schema check.

The migration scripts ship inside the package (``agent_sessions/infrastructure/database/
migrations``), so everything here works from an installed wheel, from any folder. The
Alembic ``Config`` is built in code and the caller's connection is handed to ``env.py``.
The version table is ``agent_sessions_alembic_version``, so that the library's history never
mixes with the host application's own Alembic history in a shared database.
"""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, Table

from agent_sessions.domain.errors import SchemaMismatchError
from agent_sessions.infrastructure.database.engine import redact_url
from agent_sessions.infrastructure.database.models import Base

__all__ = [
    "VERSION_TABLE",
    "alembic_config",
    "check_schema",
    "current_revision",
    "downgrade",
    "head_revision",
    "schema_differences",
    "upgrade",
]

VERSION_TABLE = "agent_sessions_alembic_version"
_SCRIPT_LOCATION = "agent_sessions.infrastructure.database:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an Alembic ``Config`` for the packaged scripts, optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", _SCRIPT_LOCATION)
    config.set_main_option("version_table", VERSION_TABLE)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    """Return the packaged migration scripts."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """Return the newest revision id this code expects, e.g. ``0001_session_persistence``."""
    head = script_directory().get_current_head()
    assert head is not None, "the packaged migrations have no head"
    return head


def current_revision(engine: Engine) -> str | None:
    """Return the database's revision, or None when it has never been migrated."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to ``revision`` (default: the head) in one transaction."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database down to ``revision``; ``base`` removes every table of the library.

    At ``base`` the version table goes too, so nothing of the library is left behind.
    """
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)
        if revision == "base":
            Table(VERSION_TABLE, MetaData()).drop(connection, checkfirst=True)


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaMismatchError` unless the database is exactly at the head revision."""
    current = current_revision(engine)
    expected = head_revision()
    if current != expected:
        raise SchemaMismatchError(current, expected, redact_url(engine.url))


def schema_differences(engine: Engine) -> list[Any]:
    """Return Alembic's autogenerate differences between the live schema and the models.

    Only the library's own tables are compared; an empty list means models and database
    agree (columns, types, nullability, indexes, unique constraints and foreign keys).
    """
    own_tables = set(Base.metadata.tables)

    def include_object(
        obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        if type_ == "table":
            return name in own_tables
        table = getattr(obj, "table", None)
        return table is None or table.name in own_tables

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "version_table": VERSION_TABLE,
                "compare_type": True,
                "compare_server_default": True,
                "include_object": include_object,
            },
        )
        return list(compare_metadata(context, Base.metadata))
