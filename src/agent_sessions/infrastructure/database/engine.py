"""Engine set-up: URL normalisation, driver checks and per-dialect connection settings."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from agent_sessions.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine
from agent_sessions.infrastructure.database.types import (
    dumps_exact_numbers,
    dumps_json,
    loads_json,
)

__all__ = [
    "DEFAULT_SQLITE_BUSY_TIMEOUT_MS",
    "create_async_database_engine",
    "create_database_engine",
    "normalise_url",
    "redact_url",
    "scrub_secrets",
    "sqlite_file_missing",
    "write_transactions",
]

DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 10_000
_ASYNC_DRIVERS = {
    "pysqlite": "aiosqlite",
    "aiosqlite": "aiosqlite",
    "psycopg": "psycopg_async",
    "psycopg_async": "psycopg_async",
    "asyncpg": "asyncpg",
    "pymysql": "aiomysql",
    "aiomysql": "aiomysql",
    "asyncmy": "asyncmy",
}
"""The asyncio driver for each driver a URL may name (keys), the async ones kept as they are."""
_ASYNC_MODULES = {
    "aiosqlite": "aiosqlite",
    "psycopg_async": "psycopg",
    "asyncpg": "asyncpg",
    "aiomysql": "aiomysql",
    "asyncmy": "asyncmy",
}
_WRITES: ContextVar[bool] = ContextVar("agent_sessions_write_transactions", default=False)

_DEFAULT_DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}
_DRIVER_MODULES = {"psycopg": "psycopg", "pymysql": "pymysql", "psycopg2": "psycopg2"}
_EXTRAS = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
_HIDDEN = "***"
_SECRET_QUERY_KEYS = frozenset({"password", "passwd", "pwd", "sslpassword", "secret"})


def redact_url(url: str | URL) -> str:
    """Return ``url`` as text with any password hidden as ``***``.

    Besides the password of the user part, this hides password-like query parameters
    (``?password=...``) and, when a password holding an unescaped ``@`` made the host start
    with its tail (``user:se@cret@host``), that tail too.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return "<unparseable URL>"
    host = parsed.host or ""
    if "@" in host:
        parsed = parsed.set(host=host.rsplit("@", 1)[1], password=_HIDDEN)
    hidden = {key: _HIDDEN for key in parsed.query if key.lower() in _SECRET_QUERY_KEYS}
    if hidden:
        parsed = parsed.update_query_dict(hidden)
    return parsed.render_as_string(hide_password=True).replace(quote(_HIDDEN), _HIDDEN)


def scrub_secrets(text: str, url: str | URL) -> str:
    """Return ``text`` with every secret of ``url`` replaced by ``***``.

    For driver error messages and other text that may echo the connection string: the
    password (also in its percent-encoded form), password-like query parameters, and the tail
    of a password with an unescaped ``@`` that was taken for part of the host.
    """
    for secret in sorted(_secrets(url), key=len, reverse=True):
        text = text.replace(secret, _HIDDEN)
    return text


def _secrets(url: str | URL) -> set[str]:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return set()
    secrets: set[str] = set()
    if parsed.password:
        secrets.add(str(parsed.password))
    host = parsed.host or ""
    if "@" in host:
        secrets.add(host.rsplit("@", 1)[0])
    for key, value in parsed.query.items():
        if key.lower() in _SECRET_QUERY_KEYS:
            secrets.update([value] if isinstance(value, str) else value)
    return {form for secret in secrets if secret for form in (secret, quote(secret, safe=""))}


def normalise_url(url: str | URL) -> URL:
    """Parse ``url`` and give a bare ``postgresql://`` or ``mysql://`` its supported driver.

    Raises:
        InvalidInputError: the URL cannot be parsed, names an unknown backend, or needs a
            driver that is not installed.

    """
    if not isinstance(url, str | URL):
        raise InvalidInputError("url", f"must be a string, got {type(url).__name__}")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInputError("url", "cannot be parsed as a database URL") from None
    except ValueError as exc:
        reason = scrub_secrets(str(exc), url)
        raise InvalidInputError("url", f"cannot be parsed as a database URL: {reason}") from None
    parsed = _split_credentials_at_last_at(parsed)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "mysql", "mariadb"):
        raise InvalidInputError(
            "url",
            f"backend {backend!r} is not supported; use sqlite, postgresql, mysql or mariadb",
        )
    if "+" not in parsed.drivername and backend in _DEFAULT_DRIVERS:
        parsed = parsed.set(drivername=f"{backend}+{_DEFAULT_DRIVERS[backend]}")
    driver = parsed.get_driver_name()
    module = _DRIVER_MODULES.get(driver)
    if module is not None and importlib.util.find_spec(module) is None:
        raise InvalidInputError(
            "url",
            f"the {backend} driver {module!r} is not installed; "
            f"install it with: pip install 'agent-sessions[{_EXTRAS[backend]}]'",
        )
    return parsed


def _split_credentials_at_last_at(parsed: URL) -> URL:
    """Read ``user:pass@word@host`` as the password ``pass@word``, as browsers and urllib do.

    SQLAlchemy ends the credentials at the first ``@``, so an unescaped ``@`` in a password
    would send the rest of the password to the driver, and to its error messages, as the host.
    """
    host = parsed.host or ""
    if "@" not in host:
        return parsed
    tail, _, real_host = host.rpartition("@")
    if parsed.password is None:
        return parsed.set(username=f"{parsed.username or ''}@{tail}", host=real_host)
    return parsed.set(password=f"{parsed.password}@{tail}", host=real_host)


def create_database_engine(
    url: str | URL,
    *,
    sqlite_busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
    **engine_options: Any,
) -> Engine:
    """Create an engine for ``url`` with the settings agent-sessions relies on.

    SQLite gets foreign keys on, WAL journaling, a busy timeout, and ``BEGIN IMMEDIATE`` for
    write transactions (so that two writers queue on the lock instead of deadlocking on a lock
    upgrade). Server databases get no ``pool_pre_ping``: a ping is one more round trip on every
    transaction, a third of a small append on PostgreSQL, and a connection that dropped while
    idle fails its first statement instead, which invalidates the pool's connections and is
    retried whole like any transient error (writes are exactly-once across retries). Pass
    ``pool_pre_ping=True`` to ping anyway.
    """
    parsed = _prepared(normalise_url(url), engine_options)
    engine: Engine = _create(parsed, engine_options)
    return _configured(engine, sqlite_busy_timeout_ms)


def create_async_database_engine(
    url: str | URL,
    *,
    sqlite_busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
    **engine_options: Any,
) -> AsyncEngine:
    """Create an asyncio engine for ``url``, set up as :func:`create_database_engine` does.

    A synchronous URL gets the asyncio driver of its backend: ``sqlite`` becomes
    ``sqlite+aiosqlite``, ``postgresql+psycopg`` becomes ``postgresql+psycopg_async`` (psycopg's
    own async mode) and ``mysql+pymysql`` (or ``mariadb+pymysql``) becomes ``+aiomysql``; a URL
    that already names an asyncio driver is kept. The settings (pragmas, ``BEGIN IMMEDIATE``,
    JSON codecs, ``pool_recycle``) go on the engine's synchronous core, which the async
    service runs on.
    """
    parsed = _prepared(normalise_url(url), engine_options)
    driver = _ASYNC_DRIVERS.get(parsed.get_driver_name(), parsed.get_driver_name())
    if driver not in _ASYNC_DRIVERS.values():
        # A driver SQLAlchemy does not know is refused as the sync service refuses it.
        _create(parsed, {}, factory=lambda url: url.get_dialect())
        raise InvalidInputError(
            "url",
            f"the driver {parsed.get_driver_name()!r} has no asyncio mode; use "
            f"{', '.join(sorted(set(_ASYNC_DRIVERS.values())))}",
        )
    for module in ("greenlet", _ASYNC_MODULES[driver]):
        if importlib.util.find_spec(module) is None:
            raise InvalidInputError(
                "url",
                f"the asyncio driver {driver!r} needs {module!r}, which is not installed; "
                "install it with: pip install 'agent-sessions[asyncio]'",
            )
    parsed = parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}")
    from sqlalchemy.ext.asyncio import create_async_engine  # only the async service needs it

    engine: AsyncEngine = _create(parsed, engine_options, factory=create_async_engine)
    _configured(engine.sync_engine, sqlite_busy_timeout_ms)
    return engine


def _prepared(parsed: URL, engine_options: dict[str, Any]) -> URL:
    """Add the library's engine settings to ``engine_options``; return the URL to open."""
    engine_options.setdefault("json_deserializer", loads_json)
    backend = parsed.get_backend_name()
    engine_options.setdefault(
        "json_serializer", dumps_exact_numbers if backend == "postgresql" else dumps_json
    )
    if backend in ("mysql", "mariadb"):
        # Servers close idle connections after wait_timeout (8 hours by default).
        engine_options.setdefault("pool_recycle", 3600)
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def _configured(engine: Engine, sqlite_busy_timeout_ms: int) -> Engine:
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, sqlite_busy_timeout_ms)
    elif engine.dialect.driver == "psycopg":
        # An instance attribute, so that only this engine's pings change.
        setattr(engine.dialect, "do_ping", _ping_psycopg)  # noqa: B010
    return engine


def _ping_psycopg(dbapi_connection: Any) -> bool:
    """Ping a pooled psycopg connection without hiding why a dead one failed.

    SQLAlchemy's psycopg ping turns autocommit on, runs an empty statement and turns
    autocommit off again in a ``finally`` block. When the server ends the connection during
    the ping (``pg_terminate_backend``, a restart), psycopg may still see the connection as
    busy and refuses that last step with ``ProgrammingError: can't change 'autocommit' now``,
    which replaces the real, transient error and so escapes the retry policy (see
    sqlalchemy/sqlalchemy#8008). Here autocommit is restored only after a successful ping; a
    failed ping raises the driver's own error and the pool discards the connection.
    """
    was_autocommit = bool(dbapi_connection.autocommit)
    if not was_autocommit:
        dbapi_connection.autocommit = True
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(";")
    finally:
        cursor.close()
    if not was_autocommit:
        dbapi_connection.autocommit = False
    return True


def _create(
    url: URL, options: dict[str, Any], *, factory: Callable[..., Any] = create_engine
) -> Any:
    try:
        return factory(url, **options)
    except (ArgumentError, TypeError) as exc:
        if options and "argument" in str(exc).lower():
            names = ", ".join(sorted(options))
            raise InvalidInputError(
                "options", f"{names}: not accepted by the database engine: {exc}"
            ) from exc
        reason = scrub_secrets(str(exc), url)
        raise InvalidInputError("url", f"cannot open {redact_url(url)}: {reason}") from exc
    except NoSuchModuleError as exc:
        reason = scrub_secrets(str(exc), url)
        raise InvalidInputError("url", f"cannot open {redact_url(url)}: {reason}") from exc


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let the dialect's begin hook below, not the driver, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    def do_begin(dbapi_connection: Any) -> None:
        # The dialect's own begin hook rather than a "begin" event listener: an engine with
        # listeners dispatches events around every begin, commit and statement, which cost a
        # tenth of a small append. SQLAlchemy wraps what this raises ("database is locked" is
        # transient) as it wraps any driver error.
        cursor = dbapi_connection.cursor()  # the asyncio driver's adapter has no execute()
        try:
            cursor.execute("BEGIN IMMEDIATE" if _WRITES.get() else "BEGIN")
        finally:
            cursor.close()

    setattr(engine.dialect, "do_begin", do_begin)  # noqa: B010


@contextlib.contextmanager
def write_transactions() -> Iterator[None]:
    """Begin the SQLite transactions started inside this block with ``BEGIN IMMEDIATE``.

    A write transaction takes SQLite's write lock when it begins, so that two writers queue on
    the lock (under the busy timeout) instead of deadlocking when both try to upgrade a read
    lock. Other backends ignore it. The flag is a context variable: it holds for this thread
    or task only.
    """
    token = _WRITES.set(True)
    try:
        yield
    finally:
        _WRITES.reset(token)


def sqlite_file_missing(engine: Engine) -> bool:
    """Return True for a SQLite file URL whose file does not exist yet.

    Connecting would create an empty file; commands that only read call this first so that a
    mistyped path is reported instead of silently created.
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return False
    if database.startswith("file:"):
        return False
    return not Path(database).exists()
