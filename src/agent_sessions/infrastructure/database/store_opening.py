"""Opening a SQLAlchemy-backed :class:`SessionStore` for a URL: the adapter's entry point."""

from __future__ import annotations

import logging
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from agent_sessions.domain.errors import InvalidInputError, SchemaMismatchError
from agent_sessions.infrastructure.database.async_runner import GreenletRunner
from agent_sessions.infrastructure.database.engine import (
    DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
    create_async_database_engine,
    create_database_engine,
    redact_url,
    sqlite_file_missing,
)
from agent_sessions.infrastructure.database.error_translation import translate_error
from agent_sessions.infrastructure.database.migration_runner import (
    MigrationSource,
    check_schema,
    head_revision,
    upgrade,
    verify_history,
)
from agent_sessions.infrastructure.database.retry import DEFAULT_POLICY, RetryPolicy
from agent_sessions.infrastructure.database.schema_doctor import (
    DriftReport,
    diagnose,
    raise_for_drift,
)
from agent_sessions.infrastructure.database.session_store import SqlAlchemySessionStore

__all__ = ["DriftPolicy", "open_async_store", "open_store"]


DriftPolicy = Literal["raise", "warn", "off"]
_DRIFT_POLICIES = ("raise", "warn", "off")
logger = logging.getLogger("agent_sessions.schema")


def open_store(
    url: str,
    *,
    migrate: bool = False,
    on_drift: DriftPolicy = "raise",
    retry_policy: RetryPolicy = DEFAULT_POLICY,
    sqlite_busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
    migration_source: MigrationSource | None = None,
    asyncio_driver: bool = False,
    **engine_options: Any,
) -> SqlAlchemySessionStore:
    """Open the database at ``url`` and check (or, with ``migrate``, bring) its schema to head.

    Opening checks, in order: the revision (or migrates, under a database lock, so that
    concurrent starts migrate once); the migration ledger against the shipped lock file; and
    the live schema against the models (the drift doctor), once.

    Args:
        url: a SQLAlchemy URL; ``postgresql://`` and ``mysql://`` get their default drivers.
        migrate: run ``upgrade head`` first instead of only checking the revision.
        on_drift: ``"raise"`` (default) refuses a schema with fatal drift; ``"warn"`` logs the
            report and opens anyway; ``"off"`` skips the comparison.
        retry_policy: how transient errors are retried.
        sqlite_busy_timeout_ms: how long SQLite waits for a lock before it reports "busy".
        migration_source: other revisions and lock file than the packaged ones (tests).
        asyncio_driver: open the URL with its backend's asyncio driver and run the store on
            that engine's synchronous core; call it inside SQLAlchemy's greenlet bridge, as
            :func:`open_async_store` does.
        **engine_options: passed to ``sqlalchemy.create_engine`` (``pool_size``, ``echo``...).

    Raises:
        InvalidInputError: the URL is malformed, of an unsupported backend, or lacks its driver;
            or ``on_drift`` is not one of its values.
        SchemaMismatchError: without ``migrate``, the database is not at the head revision.
        MigrationHistoryError: an applied revision was edited, or a newer release wrote it.
        SchemaDriftError: the live schema lacks or breaks what the code reads or writes.
        DatabaseError: the database cannot be reached or the migration failed.

    """
    if on_drift not in _DRIFT_POLICIES:
        raise InvalidInputError("on_drift", f"must be one of {', '.join(_DRIFT_POLICIES)}")
    engine = (
        create_async_database_engine(
            url, sqlite_busy_timeout_ms=sqlite_busy_timeout_ms, **engine_options
        ).sync_engine
        if asyncio_driver
        else create_database_engine(
            url, sqlite_busy_timeout_ms=sqlite_busy_timeout_ms, **engine_options
        )
    )
    return _open_on(engine, migrate, on_drift, retry_policy, migration_source)


async def open_async_store(
    url: str, *, migrate: bool = False, **options: Any
) -> tuple[SqlAlchemySessionStore, GreenletRunner]:
    """Open the database at ``url`` on an asyncio engine, with the checks of :func:`open_store`.

    Takes the options of :func:`open_store`. Returns the store, which runs on the asyncio
    engine's synchronous core, and the runner that calls into it from an event loop (each
    database wait becomes an ``await``); the checks at open run through that runner too.
    """
    runner = GreenletRunner()
    store = await runner.run(open_store, url, migrate=migrate, asyncio_driver=True, **options)
    return store, runner


def _open_on(
    engine: Engine,
    migrate: bool,
    on_drift: DriftPolicy,
    retry_policy: RetryPolicy,
    migration_source: MigrationSource | None,
) -> SqlAlchemySessionStore:
    try:
        if not migrate and sqlite_file_missing(engine):
            raise SchemaMismatchError(None, head_revision(migration_source), redact_url(engine.url))
        if migrate:
            upgrade(engine, source=migration_source)
        else:
            check_schema(engine, migration_source)
        report: DriftReport | None = None

        def schema_is_clean() -> bool:
            nonlocal report
            report = diagnose(engine)
            return report.is_clean

        verify_history(engine, migration_source, schema_is_clean=schema_is_clean)
        if on_drift != "off":
            _check_drift(report or diagnose(engine), engine, on_drift)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise translate_error(exc, engine.url, doing="open") from exc
    except BaseException:
        engine.dispose()
        raise
    return SqlAlchemySessionStore(engine, retry_policy=retry_policy)


def _check_drift(report: DriftReport, engine: Engine, on_drift: DriftPolicy) -> None:
    if report.is_clean:
        return
    if on_drift == "raise":
        raise_for_drift(report, engine.url)
    logger.warning("schema drift in %s:\n%s", redact_url(engine.url), report.render())
