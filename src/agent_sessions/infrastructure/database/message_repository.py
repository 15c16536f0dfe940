"""The SQLAlchemy adapter of the message repository port: the ``session_messages`` table.

How it is bound and retried: :class:`~.repository_base.BoundRepository`.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update

from agent_sessions.domain import ports
from agent_sessions.domain.entities import MessageRole, NewMessage, SessionMessage
from agent_sessions.domain.timeline import appended_messages, check_expected_sequence
from agent_sessions.domain.verification import missing_last_message
from agent_sessions.infrastructure.database.mapping import message_from_row, message_to_values
from agent_sessions.infrastructure.database.repository_base import BoundRepository
from agent_sessions.infrastructure.database.retry import database_retry
from agent_sessions.infrastructure.database.statements import (
    DIRECT_APPEND_IN_ONE,
    DIRECT_INSERT_MESSAGE,
    DIRECT_LOCKED_COUNT,
    DIRECT_MESSAGE_BY_ID,
    DIRECT_PAGE_AFTER,
    DIRECT_RECENT_MESSAGES,
    DIRECT_RESERVE,
    DIRECT_RESERVE_RETURNING,
    DIRECT_RESERVED,
    FILE_EVENTS,
    MESSAGES,
    SESSIONS,
    never_before,
)

__all__ = ["SessionMessageRepository"]


class SessionMessageRepository(BoundRepository, ports.SessionMessageRepository):
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
        expected_sequence: int | None = None,
    ) -> SessionMessage | None:
        """Append at the next sequence under the session's row lock; None if it is absent.

        The ``UPDATE`` of the session row both takes the row lock (PostgreSQL, MariaDB) or the
        database write lock (SQLite) and allocates the sequence: concurrent appenders queue on
        it, and each one reads the count its predecessor committed. On PostgreSQL one
        statement bumps the counter and inserts the message, unless an ``expected_sequence``
        must be checked between the two (see :meth:`_reserve_sequences`).
        """
        connection = self._connection
        in_one = expected_sequence is None and connection.dialect.name == "postgresql"
        if in_one:
            rows = DIRECT_APPEND_IN_ONE.rows(
                connection,
                {
                    "p_session_id": session_id,
                    "p_added": 1,
                    "p_at": created_at,
                    "p_message_id": message_id,
                    "p_role": role.value,
                    "p_content": content,
                    "p_metadata": metadata,
                    "p_token_count": token_count,
                },
            )
            if not rows:
                return None
            last, stored_at = rows[0]
        else:
            reserved = self._reserve_sequences(session_id, 1, created_at, expected_sequence)
            if reserved is None:
                return None
            last, stored_at = reserved
        message = SessionMessage(
            id=message_id,
            session_id=session_id,
            sequence=last,
            role=role,
            content=content,
            metadata=metadata,
            token_count=token_count,
            created_at=stored_at,
        )
        if not in_one:  # else the CTE above inserted it already
            DIRECT_INSERT_MESSAGE.run(connection, message_to_values(message))
        return message

    @database_retry
    def append_many(
        self,
        session_id: str,
        *,
        message_ids: Sequence[str],
        messages: Sequence[NewMessage],
        created_at: datetime,
        expected_sequence: int | None = None,
    ) -> builtins.list[SessionMessage] | None:
        """Reserve ``len(messages)`` sequences with one ``UPDATE``, then insert them in one go."""
        reserved = self._reserve_sequences(session_id, len(messages), created_at, expected_sequence)
        if reserved is None:
            return None
        last, stored_at = reserved
        stored = appended_messages(
            session_id,
            first_sequence=last - len(messages) + 1,
            message_ids=message_ids,
            messages=messages,
            stored_at=stored_at,
        )
        DIRECT_INSERT_MESSAGE.run_many(self._connection, [message_to_values(m) for m in stored])
        return stored

    def _reserve_sequences(
        self,
        session_id: str,
        count: int,
        created_at: datetime,
        expected_sequence: int | None = None,
    ) -> tuple[int, datetime] | None:
        """Bump ``message_count`` by ``count`` under the session's row lock.

        Returns the new ``message_count`` (the last reserved sequence) and the session's new
        ``updated_at`` (``created_at``, or the later time the session already had), or None
        when the session does not exist. The ``UPDATE`` both takes the row lock (PostgreSQL,
        MariaDB) or the database write lock (SQLite) and allocates the sequences: concurrent
        appenders queue on it, and each one reads the count its predecessor committed.

        With an ``expected_sequence``, a ``SELECT ... FOR UPDATE`` first takes the row lock
        (SQLite's writers hold the write lock already) and reads the count, which
        :func:`~agent_sessions.domain.timeline.check_expected_sequence` compares; the lock is
        held to the commit, so no other writer moves the count between the check and the
        ``UPDATE``. ``FOR UPDATE`` reads the latest committed row even under MariaDB's
        ``REPEATABLE READ``. Appends without one never run the extra statement.
        """
        connection = self._connection
        if expected_sequence is not None:
            locked = DIRECT_LOCKED_COUNT.rows(connection, {"p_session_id": session_id})
            if not locked:
                return None
            check_expected_sequence(session_id, expected_sequence, int(locked[0][0]))
        parameters = {"p_session_id": session_id, "p_added": count, "p_at": created_at}
        if connection.dialect.update_returning:
            rows = DIRECT_RESERVE_RETURNING.rows(connection, parameters)
        else:
            if DIRECT_RESERVE.run(connection, parameters) == 0:
                return None
            rows = DIRECT_RESERVED.rows(connection, {"p_session_id": session_id})
        if not rows:
            return None
        count, updated_at = rows[0]
        return int(count), updated_at

    @database_retry
    def pop_last(self, session_id: str, *, updated_at: datetime) -> SessionMessage | None:
        """Step ``message_count`` back under the row lock, then delete the message at the old count.

        The ``UPDATE`` of the session row takes the lock (the write lock on SQLite), as an
        append's does, and reads the new count back by ``RETURNING`` (or, on MariaDB/MySQL, by
        a ``SELECT`` in the same transaction). The message is read with ``FOR UPDATE``, which
        sees the latest committed row even under MariaDB's ``REPEATABLE READ``. Its file events
        are deleted first, then the message. Returns None when no row matched (the session is
        absent or holds no messages).
        """
        connection = self._connection
        release = (
            update(SESSIONS)
            .where(SESSIONS.c.id == session_id, SESSIONS.c.message_count > 0)
            .values(
                message_count=SESSIONS.c.message_count - 1,
                updated_at=never_before(SESSIONS.c.updated_at, updated_at),
            )
        )
        if connection.dialect.update_returning:
            remaining = connection.execute(release.returning(SESSIONS.c.message_count)).scalar()
        elif connection.execute(release).rowcount == 0:
            remaining = None
        else:
            remaining = connection.execute(
                select(SESSIONS.c.message_count).where(SESSIONS.c.id == session_id)
            ).scalar_one()
        if remaining is None:
            return None
        sequence = int(remaining) + 1
        row = connection.execute(
            select(MESSAGES)
            .where(MESSAGES.c.session_id == session_id, MESSAGES.c.sequence == sequence)
            .with_for_update()
        ).first()
        if row is None:
            raise missing_last_message(session_id, sequence)
        message = message_from_row(row)
        connection.execute(delete(FILE_EVENTS).where(FILE_EVENTS.c.message_id == message.id))
        connection.execute(delete(MESSAGES).where(MESSAGES.c.id == message.id))
        return message

    @database_retry
    def get_by_id(self, message_id: str) -> SessionMessage | None:
        """Return the message with this id, or None."""
        rows = DIRECT_MESSAGE_BY_ID.rows(self._connection, {"p_message_id": message_id})
        return message_from_row(rows[0]) if rows else None

    @database_retry
    def insert_many(self, messages: Sequence[SessionMessage]) -> None:
        """Insert messages exactly as given, in one ``executemany``."""
        if messages:
            DIRECT_INSERT_MESSAGE.run_many(
                self._connection, [message_to_values(message) for message in messages]
            )

    @database_retry
    def get_for_session(
        self, session_id: str, *, limit: int | None = None, offset: int = 0
    ) -> builtins.list[SessionMessage]:
        """Return the session's messages in ascending sequence, paginated by limit/offset."""
        query = (
            select(MESSAGES)
            .where(MESSAGES.c.session_id == session_id)
            .order_by(MESSAGES.c.sequence)
            .limit(limit)
            .offset(offset)
        )
        return [message_from_row(row) for row in self._connection.execute(query)]

    @database_retry
    def ids_for_sequences(self, session_id: str, sequences: Sequence[int]) -> dict[int, str]:
        """Return the ids of the session's messages at ``sequences``, by sequence."""
        if not sequences:
            return {}
        query = select(MESSAGES.c.sequence, MESSAGES.c.id).where(
            MESSAGES.c.session_id == session_id, MESSAGES.c.sequence.in_(sorted(set(sequences)))
        )
        return {int(row.sequence): row.id for row in self._connection.execute(query)}

    @database_retry
    def page_after(
        self, session_id: str, after_sequence: int, limit: int
    ) -> builtins.list[SessionMessage]:
        """Return up to ``limit`` messages after ``after_sequence``, read along the index."""
        parameters = {"p_session_id": session_id, "p_after": after_sequence, "p_limit": limit}
        return [
            message_from_row(row) for row in DIRECT_PAGE_AFTER.rows(self._connection, parameters)
        ]

    @database_retry
    def recent_for_session(self, session_id: str, n: int) -> builtins.list[SessionMessage]:
        """Return the last ``n`` messages in ascending sequence (read by the unique index)."""
        rows = DIRECT_RECENT_MESSAGES.rows(
            self._connection, {"p_session_id": session_id, "p_limit": n}
        )
        return [message_from_row(row) for row in reversed(rows)]

    @database_retry
    def count_for_session(self, session_id: str) -> int:
        """Return how many messages the session holds."""
        count = self._connection.execute(
            select(func.count())
            .select_from(MESSAGES)
            .where(and_(MESSAGES.c.session_id == session_id))
        ).scalar_one()
        return int(count)
