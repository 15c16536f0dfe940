"""The SQLAlchemy transaction boundary: :class:`SqlAlchemySessionStore`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from agent_sessions.domain import ports
from agent_sessions.infrastructure.database.engine import redact_url, write_transactions
from agent_sessions.infrastructure.database.error_translation import translate_error
from agent_sessions.infrastructure.database.retry import (
    DEFAULT_POLICY,
    RetryOutcome,
    RetryPolicy,
    run_with_retry,
)
from agent_sessions.infrastructure.database.unit_of_work import SqlAlchemyUnitOfWork

__all__ = ["SqlAlchemySessionStore"]

T = TypeVar("T")


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
            raise translate_error(exc, self._engine.url, outcome=outcome) from exc

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine the store runs its transactions on."""
        return self._engine

    def close(self) -> None:
        """Dispose of the engine's connection pool."""
        self._engine.dispose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact_url(self._engine.url)!r})"
