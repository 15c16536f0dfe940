"""The SQLAlchemy transaction boundary: :class:`SqlAlchemySessionStore` and its unit of work."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from agent_sessions.domain import ports
from agent_sessions.domain.errors import DatabaseError
from agent_sessions.infrastructure.database.engine import WRITE_TRANSACTION_OPTION, redact_url
from agent_sessions.infrastructure.database.repositories import (
    SessionMessageRepository,
    SessionRepository,
)
from agent_sessions.infrastructure.database.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    is_transient_error,
    run_with_retry,
)

__all__ = ["SqlAlchemySessionStore", "SqlAlchemyUnitOfWork", "describe_error"]

T = TypeVar("T")


class SqlAlchemyUnitOfWork(ports.UnitOfWork):
    """The repositories of one open transaction, all on the same connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.sessions = SessionRepository(connection)
        self.messages = SessionMessageRepository(connection)


class SqlAlchemySessionStore(ports.SessionStore):
    """Runs units of work in transactions on a SQLAlchemy engine, retrying transient errors.

    The store owns the engine it is given and disposes of it on :meth:`close`.
    """

    def __init__(self, engine: Engine, *, retry_policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._engine = engine
        self._retry_policy = retry_policy

    def transaction(self, work: Callable[[ports.UnitOfWork], T], *, writes: bool) -> T:
        """Run ``work`` in one transaction, commit, and retry it whole on transient errors."""

        def attempt() -> T:
            with self._engine.connect() as connection:
                if writes:
                    connection.execution_options(**{WRITE_TRANSACTION_OPTION: True})
                with connection.begin():
                    return work(SqlAlchemyUnitOfWork(connection))

        try:
            return run_with_retry(attempt, self._retry_policy)
        except SQLAlchemyError as exc:
            raise self._translate(exc) from exc

    def close(self) -> None:
        """Dispose of the engine's connection pool."""
        self._engine.dispose()

    def _translate(self, exc: SQLAlchemyError) -> DatabaseError:
        kind = "transient error persisted after retries" if is_transient_error(exc) else "error"
        return DatabaseError(
            f"database {kind} on {redact_url(self._engine.url)}: {describe_error(exc)}"
        )


def describe_error(exc: SQLAlchemyError) -> str:
    """Return the driver error's class and first line, without SQL or parameters."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip()
    first_line = text.splitlines()[0] if text else repr(cause)
    return f"{type(cause).__name__}: {first_line}"
