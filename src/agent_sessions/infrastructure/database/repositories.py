"""SQLAlchemy adapters of the repository ports.

Both repositories work on a ``Connection`` inside the caller's transaction, or on an ``Engine``
when used on their own, in which case every method is its own transaction, retried whole on a
transient error (see :func:`~agent_sessions.infrastructure.database.retry.database_retry`).
They use Core statements on the model tables: one round trip per call where the dialect allows.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Self

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)

from agent_sessions.domain import ports
from agent_sessions.domain.entities import MessageRole, Session, SessionMessage
from agent_sessions.infrastructure.database.mapping import (
    message_from_row,
    message_to_values,
    session_from_row,
    session_to_values,
)
from agent_sessions.infrastructure.database.models import (
    SessionMessageModel,
    SessionModel,
    SessionTokenUsageModel,
)
from agent_sessions.infrastructure.database.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    database_retry,
)
from agent_sessions.infrastructure.database.types import UTCDateTime

__all__ = ["SessionMessageRepository", "SessionRepository"]

_sessions: Table = SessionModel.__table__  # type: ignore[assignment]
_messages: Table = SessionMessageModel.__table__  # type: ignore[assignment]
_token_usage: Table = SessionTokenUsageModel.__table__  # type: ignore[assignment]


class _Repository:
    """Holds the bind (engine or connection) and the retry policy of standalone calls."""

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


def _not_before(column: ColumnElement[datetime], moment: datetime) -> ColumnElement[datetime]:
    """Return SQL for ``max(column, moment)`` that every dialect understands."""
    value = literal(moment, UTCDateTime())
    return case((column < value, value), else_=column)


class SessionRepository(_Repository, ports.SessionRepository):
    """Stores and finds sessions in the ``sessions`` table."""

    @database_retry
    def create(self, session: Session) -> Session:
        """Insert ``session`` as given and return it."""
        self._connection.execute(insert(_sessions).values(session_to_values(session)))
        return session

    @database_retry
    def get_by_id(self, session_id: str) -> Session | None:
        """Return the session with this id, or None."""
        row = self._connection.execute(
            select(_sessions).where(_sessions.c.id == session_id)
        ).first()
        return None if row is None else session_from_row(row)

    @database_retry
    def list_all(
        self, *, actor_name: str | None = None, limit: int = 50, offset: int = 0
    ) -> builtins.list[Session]:
        """Return sessions newest first (``created_at`` then ``id``, both descending)."""
        query = select(_sessions)
        if actor_name is not None:
            query = query.where(_sessions.c.actor_name == actor_name)
        query = (
            query.order_by(_sessions.c.created_at.desc(), _sessions.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [session_from_row(row) for row in self._connection.execute(query)]

    @database_retry
    def delete(self, session_id: str) -> bool:
        """Delete the session (its messages go by ON DELETE CASCADE); False if absent."""
        result = self._connection.execute(delete(_sessions).where(_sessions.c.id == session_id))
        return result.rowcount > 0

    @database_retry
    def update(
        self,
        session_id: str,
        *,
        add_prompt_tokens: int = 0,
        add_completion_tokens: int = 0,
        updated_at: datetime,
        usage_key: str | None = None,
    ) -> Session | None:
        """Add to the token counters in SQL and return the new row, or None if absent.

        With a ``usage_key`` the call is also recorded in ``session_token_usage``, in the same
        transaction, after the counters (so that the session row is locked first).
        """
        statement = (
            update(_sessions)
            .where(_sessions.c.id == session_id)
            .values(
                prompt_tokens=_sessions.c.prompt_tokens + add_prompt_tokens,
                completion_tokens=_sessions.c.completion_tokens + add_completion_tokens,
                updated_at=_not_before(_sessions.c.updated_at, updated_at),
            )
        )
        connection = self._connection
        if connection.dialect.update_returning:
            row = connection.execute(statement.returning(*_sessions.c)).first()
            updated = None if row is None else session_from_row(row)
        elif connection.execute(statement).rowcount == 0:
            updated = None
        else:
            updated = self.get_by_id(session_id)
        if updated is not None and usage_key is not None:
            connection.execute(
                insert(_token_usage).values(
                    session_id=session_id,
                    usage_key=usage_key,
                    prompt_tokens=add_prompt_tokens,
                    completion_tokens=add_completion_tokens,
                    recorded_at=updated_at,
                )
            )
        return updated

    @database_retry
    def recorded_token_usage(self, session_id: str, usage_key: str) -> tuple[int, int] | None:
        """Lock the session row, then return the usage recorded under ``usage_key``, if any.

        ``SELECT ... FOR UPDATE`` on PostgreSQL and MariaDB; SQLite writers already hold the
        database's write lock (``BEGIN IMMEDIATE``), and SQLAlchemy leaves the clause out there.
        """
        connection = self._connection
        connection.execute(
            select(_sessions.c.id).where(_sessions.c.id == session_id).with_for_update()
        ).first()
        row = connection.execute(
            select(_token_usage.c.prompt_tokens, _token_usage.c.completion_tokens).where(
                _token_usage.c.session_id == session_id, _token_usage.c.usage_key == usage_key
            )
        ).first()
        return None if row is None else (int(row.prompt_tokens), int(row.completion_tokens))


class SessionMessageRepository(_Repository, ports.SessionMessageRepository):
    """Stores and reads messages in the ``session_messages`` table."""

    @database_retry
    def append(
        self,
        session_id: str,
        *,
        message_id: str,
        role: MessageRole,
        content: str,
        metadata: dict[str, Any],
        token_count: int | None,
        created_at: datetime,
    ) -> SessionMessage | None:
        """Append at the next sequence under the session's row lock; None if it is absent.

        The ``UPDATE`` of the session row both takes the row lock (PostgreSQL, MariaDB) or the
        database write lock (SQLite) and allocates the sequence: concurrent appenders queue on
        it, and each one reads the count its predecessor committed.
        """
        connection = self._connection
        bump = (
            update(_sessions)
            .where(_sessions.c.id == session_id)
            .values(
                message_count=_sessions.c.message_count + 1,
                updated_at=_not_before(_sessions.c.updated_at, created_at),
            )
        )
        if connection.dialect.update_returning:
            row = connection.execute(
                bump.returning(_sessions.c.message_count, _sessions.c.updated_at)
            ).first()
        else:
            if connection.execute(bump).rowcount == 0:
                return None
            row = connection.execute(
                select(_sessions.c.message_count, _sessions.c.updated_at).where(
                    _sessions.c.id == session_id
                )
            ).first()
        if row is None:
            return None
        message = SessionMessage(
            id=message_id,
            session_id=session_id,
            sequence=row.message_count,
            role=role,
            content=content,
            metadata=metadata,
            token_count=token_count,
            created_at=row.updated_at,
        )
        connection.execute(insert(_messages).values(message_to_values(message)))
        return message

    @database_retry
    def get_by_id(self, message_id: str) -> SessionMessage | None:
        """Return the message with this id, or None."""
        row = self._connection.execute(
            select(_messages).where(_messages.c.id == message_id)
        ).first()
        return None if row is None else message_from_row(row)

    @database_retry
    def insert_many(self, messages: Sequence[SessionMessage]) -> None:
        """Insert messages exactly as given, in one ``executemany``."""
        if messages:
            self._connection.execute(
                insert(_messages), [message_to_values(message) for message in messages]
            )

    @database_retry
    def get_for_session(
        self, session_id: str, *, limit: int | None = None, offset: int = 0
    ) -> builtins.list[SessionMessage]:
        """Return the session's messages in ascending sequence, paginated by limit/offset."""
        query = (
            select(_messages)
            .where(_messages.c.session_id == session_id)
            .order_by(_messages.c.sequence)
            .limit(limit)
            .offset(offset)
        )
        return [message_from_row(row) for row in self._connection.execute(query)]

    @database_retry
    def recent_for_session(self, session_id: str, n: int) -> builtins.list[SessionMessage]:
        """Return the last ``n`` messages in ascending sequence (read by the unique index)."""
        query = (
            select(_messages)
            .where(_messages.c.session_id == session_id)
            .order_by(_messages.c.sequence.desc())
            .limit(n)
        )
        rows = self._connection.execute(query).all()
        return [message_from_row(row) for row in reversed(rows)]

    @database_retry
    def count_for_session(self, session_id: str) -> int:
        """Return how many messages the session holds."""
        count = self._connection.execute(
            select(func.count())
            .select_from(_messages)
            .where(and_(_messages.c.session_id == session_id))
        ).scalar_one()
        return int(count)
