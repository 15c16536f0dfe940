"""Opening a SQLAlchemy-backed :class:`SessionStore` for a URL: the adapter's entry point."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from agent_sessions.domain.errors import DatabaseError, SchemaMismatchError
from agent_sessions.infrastructure.database.engine import (
    DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
    create_database_engine,
    redact_url,
    sqlite_file_missing,
)
from agent_sessions.infrastructure.database.migration_runner import (
    check_schema,
    head_revision,
    upgrade,
)
from agent_sessions.infrastructure.database.retry import DEFAULT_POLICY, RetryPolicy
from agent_sessions.infrastructure.database.unit_of_work import (
    SqlAlchemySessionStore,
    describe_error,
)

__all__ = ["open_store"]


def open_store(
    url: str,
    *,
    migrate: bool = False,
    retry_policy: RetryPolicy = DEFAULT_POLICY,
    sqlite_busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
    **engine_options: Any,
) -> SqlAlchemySessionStore:
    """Open the database at ``url`` and check (or, with ``migrate``, bring) its schema to head.

    Args:
        url: a SQLAlchemy URL; ``postgresql://`` and ``mysql://`` get their default drivers.
        migrate: run ``upgrade head`` first instead of only checking the revision.
        retry_policy: how transient errors are retried.
        sqlite_busy_timeout_ms: how long SQLite waits for a lock before it reports "busy".
        **engine_options: passed to ``sqlalchemy.create_engine`` (``pool_size``, ``echo``...).

    Raises:
        InvalidInputError: the URL is malformed, of an unsupported backend, or lacks its driver.
        SchemaMismatchError: without ``migrate``, the database is not at the head revision.
        DatabaseError: the database cannot be reached or the migration failed.

    """
    engine = create_database_engine(
        url, sqlite_busy_timeout_ms=sqlite_busy_timeout_ms, **engine_options
    )
    if not migrate and sqlite_file_missing(engine):
        engine.dispose()
        raise SchemaMismatchError(None, head_revision(), redact_url(engine.url))
    try:
        if migrate:
            upgrade(engine)
        else:
            check_schema(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise DatabaseError(f"cannot open {redact_url(engine.url)}: {describe_error(exc)}") from exc
    except BaseException:
        engine.dispose()
        raise
    return SqlAlchemySessionStore(engine, retry_policy=retry_policy)
