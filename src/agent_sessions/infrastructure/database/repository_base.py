"""What every SQLAlchemy repository holds: its bind and the retry policy of standalone calls."""

from __future__ import annotations

from typing import Self

from sqlalchemy import Connection, Engine

from agent_sessions.infrastructure.database.retry import DEFAULT_POLICY, RetryPolicy

__all__ = ["BoundRepository"]


class BoundRepository:
    """Holds the bind (engine or connection) and the retry policy of standalone calls.

    Bound to a ``Connection``, a repository works inside the caller's transaction; bound to an
    ``Engine`` on its own, every method is its own transaction, retried whole on a transient
    error (see :func:`~agent_sessions.infrastructure.database.retry.database_retry`).
    """

    def __init__(
        self, bind: Engine | Connection, *, retry_policy: RetryPolicy = DEFAULT_POLICY
    ) -> None:
        self._bind = bind
        self._retry_policy = retry_policy

    @property
    def bind(self) -> Engine | Connection:
        """The engine (standalone use) or the connection of an enclosing transaction."""
        return self._bind

    @property
    def retry_policy(self) -> RetryPolicy:
        """The policy for standalone calls."""
        return self._retry_policy

    def bound_to(self, connection: Connection) -> Self:
        """Return a copy of this repository that works inside ``connection``'s transaction."""
        return type(self)(connection, retry_policy=self._retry_policy)

    @property
    def _connection(self) -> Connection:
        assert isinstance(self._bind, Connection), "called outside database_retry"
        return self._bind
