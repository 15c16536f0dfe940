"""The SQLAlchemy transaction boundary: :class:`SqlAlchemySessionStore` and its unit of work."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from agent_sessions.domain import ports
from agent_sessions.domain.errors import DatabaseError
from agent_sessions.infrastructure.database.engine import (
    redact_url,
    scrub_secrets,
    write_transactions,
)
from agent_sessions.infrastructure.database.repositories import (
    FileEventRepository,
    SessionMessageRepository,
    SessionRepository,
)
from agent_sessions.infrastructure.database.retry import (
    DEFAULT_POLICY,
    RetryOutcome,
    RetryPolicy,
    is_transient_error,
    run_with_retry,
)
from agent_sessions.infrastructure.database.verification import SqlAlchemySessionVerifier

__all__ = ["SqlAlchemySessionStore", "SqlAlchemyUnitOfWork", "describe_error"]

T = TypeVar("T")


class SqlAlchemyUnitOfWork(ports.UnitOfWork):
    """The repositories of one open transaction, all on the same connection."""

    def __init__(self, connection: Connection, *, attempt: int = 1) -> None:
        self.connection = connection
        self.attempt = attempt

    # Each repository is built when first used: most transactions touch one of them.

    @functools.cached_property
    def sessions(self) -> SessionRepository:  # type: ignore[override]
        """Sessions, in this transaction."""
        return SessionRepository(self.connection)

    @functools.cached_property
    def messages(self) -> SessionMessageRepository:  # type: ignore[override]
        """Messages, in this transaction."""
        return SessionMessageRepository(self.connection)

    @functools.cached_property
    def file_events(self) -> FileEventRepository:  # type: ignore[override]
        """File events, in this transaction."""
        return FileEventRepository(self.connection)

    @functools.cached_property
    def verifier(self) -> SqlAlchemySessionVerifier:  # type: ignore[override]
        """The integrity checks, in this transaction."""
        return SqlAlchemySessionVerifier(self.connection)


class SqlAlchemySessionStore(ports.SessionStore):
    """Runs units of work in transactions on a SQLAlchemy engine, retrying transient errors.

    The store owns the engine it is given and disposes of it on :meth:`close`.
    """

    def __init__(self, engine: Engine, *, retry_policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._engine = engine
        self._retry_policy = retry_policy

    def transaction(self, work: Callable[[ports.UnitOfWork], T], *, writes: bool) -> T:
        """Run ``work`` in one transaction, commit, and retry it whole on transient errors.

        Each try gets a unit of work whose ``attempt`` says which try it is, so that a write
        can look for what an earlier try may have committed (see :class:`ports.UnitOfWork`).
        """
        outcome = RetryOutcome()

        def attempt() -> T:
            with self._engine.connect() as connection, connection.begin():
                return work(SqlAlchemyUnitOfWork(connection, attempt=outcome.attempts))

        try:
            with write_transactions() if writes else contextlib.nullcontext():
                return run_with_retry(attempt, self._retry_policy, outcome)
        except SQLAlchemyError as exc:
            raise self._translate(exc, outcome) from exc

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine the store runs its transactions on."""
        return self._engine

    def close(self) -> None:
        """Dispose of the engine's connection pool."""
        self._engine.dispose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact_url(self._engine.url)!r})"

    def _translate(self, exc: SQLAlchemyError, outcome: RetryOutcome) -> DatabaseError:
        where = redact_url(self._engine.url)
        detail = scrub_secrets(describe_error(exc), self._engine.url)
        if not is_transient_error(exc):
            return DatabaseError(f"database error on {where}: {detail}")
        return DatabaseError(
            f"database on {where} still failing after {outcome.attempts} attempt(s) over "
            f"{outcome.elapsed_seconds:.1f}s (the retry policy's bound): {detail}"
        )


def describe_error(exc: SQLAlchemyError) -> str:
    """Return the driver error's class and first line, without SQL or parameters."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip()
    first_line = text.splitlines()[0] if text else repr(cause)
    return f"{type(cause).__name__}: {first_line}"
