"""Alembic as an API: upgrade, downgrade, current revision, head and the schema check.

The migration scripts ship inside the package (``agent_sessions/infrastructure/database/
migrations``), so everything here works from an installed wheel, from any folder. The
Alembic ``Config`` is built in code and the caller's connection is handed to ``env.py``.
The version table is ``agent_sessions_alembic_version``, so that the library's history never
mixes with the host application's own Alembic history in a shared database.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, MetaData, Table, text

from agent_sessions.domain.errors import (
    DatabaseTimeoutError,
    MigrationHistoryError,
    SchemaMismatchError,
)
from agent_sessions.infrastructure.database.engine import redact_url, write_transactions
from agent_sessions.infrastructure.database.migration_history import (
    MigrationLock,
    ledger_table,
    read_ledger,
    record_applied,
    shipped_lock_path,
    verify_ledger,
)
from agent_sessions.infrastructure.database.models import Base
from agent_sessions.infrastructure.database.schema_doctor import include_own_objects

__all__ = [
    "VERSION_TABLE",
    "MigrationSource",
    "alembic_config",
    "check_schema",
    "current_revision",
    "downgrade",
    "head_revision",
    "library_version",
    "packaged_source",
    "schema_differences",
    "script_directory",
    "upgrade",
    "verify_history",
]

VERSION_TABLE = "agent_sessions_alembic_version"
_SCRIPT_LOCATION = "agent_sessions.infrastructure.database:migrations"
_LOCK_NAME = "agent_sessions_migrate"
_POSTGRES_LOCK_KEY = 0x6167656E745F7365  # "agent_se", a fixed advisory-lock key
_MYSQL_LOCK_TIMEOUT_SECONDS = 300


@dataclass(frozen=True, slots=True)
class MigrationSource:
    """Where the revisions and their lock file are: the packaged ones unless a test says not."""

    script_location: str
    lock_path: Path


def packaged_source() -> MigrationSource:
    """Return the migrations that ship with this library, and their lock file."""
    return MigrationSource(_SCRIPT_LOCATION, shipped_lock_path())


def alembic_config(
    connection: Connection | None = None, source: MigrationSource | None = None
) -> Config:
    """Return an Alembic ``Config`` for the scripts of ``source``, optionally on a connection."""
    config = Config()
    config.set_main_option(
        "script_location", (source.script_location if source else _SCRIPT_LOCATION)
    )
    config.set_main_option("version_table", VERSION_TABLE)
    config.attributes["library_version"] = library_version()
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def library_version() -> str:
    """Return the installed version of agent-sessions (``0+unknown`` in a bare source tree)."""
    try:
        return metadata.version("agent-sessions")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def script_directory(source: MigrationSource | None = None) -> ScriptDirectory:
    """Return the migration scripts of ``source`` (default: the packaged ones)."""
    return ScriptDirectory.from_config(alembic_config(source=source))


def head_revision(source: MigrationSource | None = None) -> str:
    """Return the newest revision id this code expects, e.g. ``0001_session_persistence``."""
    head = script_directory(source).get_current_head()
    assert head is not None, "the packaged migrations have no head"
    return head


def current_revision(engine: Engine) -> str | None:
    """Return the database's revision, or None when it has never been migrated."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


@contextlib.contextmanager
def _migration_lock(connection: Connection) -> Iterator[None]:
    """Hold a database-wide lock so that concurrent starts migrate exactly once.

    SQLite: the whole run is one ``BEGIN IMMEDIATE`` transaction (the write lock; with the
    library's BEGIN, SQLite DDL rolls back too). PostgreSQL: a session advisory lock, with
    one transaction per revision. MariaDB/MySQL: ``GET_LOCK``; their DDL commits implicitly.
    The ledger table is created under the lock, before Alembic starts.
    """
    dialect = connection.dialect.name
    if dialect == "sqlite":
        with write_transactions(), connection.begin():
            ledger_table.create(connection, checkfirst=True)
            yield
        return
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _POSTGRES_LOCK_KEY})
        release = text("SELECT pg_advisory_unlock(:key)")
        parameters: dict[str, Any] = {"key": _POSTGRES_LOCK_KEY}
    else:
        got = connection.execute(
            text("SELECT GET_LOCK(:name, :timeout)"),
            {"name": _LOCK_NAME, "timeout": _MYSQL_LOCK_TIMEOUT_SECONDS},
        ).scalar()
        if got != 1:
            raise DatabaseTimeoutError(
                f"waited {_MYSQL_LOCK_TIMEOUT_SECONDS} s for the migration lock "
                f"'{_LOCK_NAME}' that another process holds"
            )
        release = text("SELECT RELEASE_LOCK(:name)")
        parameters = {"name": _LOCK_NAME}
    try:
        ledger_table.create(connection, checkfirst=True)
        connection.commit()
        yield
        if connection.in_transaction():
            connection.commit()
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.execute(release, parameters)
        connection.commit()


def upgrade(
    engine: Engine, revision: str = "head", *, source: MigrationSource | None = None
) -> list[str]:
    """Bring the database up to ``revision`` (default: the head) under the migration lock.

    Returns the revisions this call applied, in order: empty when another process (or an
    earlier run) had already done the work.
    """
    with engine.connect() as connection, _migration_lock(connection):
        current = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()
        if not _is_known(current, source):
            raise SchemaMismatchError(
                current, head_revision(source), redact_url(engine.url), newer=True
            )
        config = alembic_config(connection, source)
        command.upgrade(config, revision)
        return list(config.attributes.get("applied", []))


def downgrade(engine: Engine, revision: str, *, source: MigrationSource | None = None) -> None:
    """Take the database down to ``revision``; ``base`` removes every table of the library.

    At ``base`` the version and ledger tables go too, so nothing of the library is left.
    """
    with engine.connect() as connection, _migration_lock(connection):
        command.downgrade(alembic_config(connection, source), revision)
        if revision == "base":
            if connection.dialect.name != "sqlite" and connection.in_transaction():
                connection.commit()
            Table(VERSION_TABLE, MetaData()).drop(connection, checkfirst=True)
            ledger_table.drop(connection, checkfirst=True)


def check_schema(engine: Engine, source: MigrationSource | None = None) -> None:
    """Raise :class:`SchemaMismatchError` unless the database is exactly at the head revision.

    A revision this release does not ship means a newer release wrote the database; the
    error then says to upgrade the library rather than the database.
    """
    current = current_revision(engine)
    expected = head_revision(source)
    if current == expected:
        return
    raise SchemaMismatchError(
        current, expected, redact_url(engine.url), newer=not _is_known(current, source)
    )


def _is_known(revision: str | None, source: MigrationSource | None) -> bool:
    if revision is None:
        return True
    try:
        script_directory(source).get_revision(revision)
    except CommandError:  # Alembic's "no such revision"
        return False
    return True


def verify_history(
    engine: Engine,
    source: MigrationSource | None = None,
    *,
    schema_is_clean: Callable[[], bool],
) -> None:
    """Check the ledger of a database at head against the shipped lock file.

    Revisions that are applied but missing from the ledger (the database predates the ledger,
    whether or not it was upgraded since) are adopted, their rows written from the lock, only
    when ``schema_is_clean()`` says the schema has no drift.

    Raises:
        MigrationHistoryError: an applied revision was edited, is unknown, or the database
            has no ledger and its schema drifted.

    """
    source = source or packaged_source()
    lock = MigrationLock.read(source.lock_path)
    if not lock.entries:
        raise MigrationHistoryError(f"the migration lock file {source.lock_path} is missing")
    scripts = script_directory(source)
    url = redact_url(engine.url)
    with engine.connect() as connection:
        current = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()
        applied = (
            []
            if current is None
            else [
                script.revision
                for script in reversed(list(scripts.iterate_revisions(current, "base")))
            ]
        )
        ledger = read_ledger(connection)
    verify_ledger(ledger or [], lock, url)
    recorded = {row.revision for row in ledger or []}
    missing = [revision for revision in applied if revision not in recorded]
    if not missing:
        return
    if not schema_is_clean():
        raise MigrationHistoryError(
            f"database {url} has revision(s) {', '.join(missing)} applied but not in its "
            f"migration ledger (it predates the ledger) and its schema differs from the "
            f"models, so it cannot be adopted; run `agent-sessions db doctor` and repair the "
            f"drift first",
            revision=missing[0],
        )
    with engine.begin() as connection:
        ledger_table.create(connection, checkfirst=True)
        for revision in missing:
            entry = lock.entry(revision)
            if entry is None:
                raise MigrationHistoryError(
                    f"database {url} is at revision {revision}, which the lock file does not list",
                    revision=revision,
                )
            record_applied(connection, revision, entry.current_sha256, "adopted")


def schema_differences(engine: Engine) -> list[Any]:
    """Return Alembic's autogenerate differences between the live schema and the models.

    Only the library's own tables are compared; an empty list means models and database
    agree (columns, types, nullability, indexes, unique constraints and foreign keys).

    This is Alembic's raw diff, for writing a migration; it gives no verdict. Whether a
    database is fit to use is decided only by the drift doctor
    (:func:`~agent_sessions.infrastructure.database.schema_doctor.diagnose`), which store
    opening, ``agent-sessions db doctor`` and ``agent-sessions db check`` all use: a
    difference listed here (a missing index, say) may be only a warning there.
    """
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "version_table": VERSION_TABLE,
                "compare_type": True,
                "compare_server_default": True,
                "include_object": include_own_objects,
            },
        )
        return list(compare_metadata(context, Base.metadata))
