"""The SQLAlchemy adapter of the message repository port: the ``session_messages`` table.

How it is bound and retried: :class:`~.repository_base.BoundRepository`.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from agent_sessions.domain import ports
from agent_sessions.domain.entities import MessageRole, NewMessage, Rewind, SessionMessage
from agent_sessions.domain.history import POP_REWIND_REASON, pop_hides
from agent_sessions.domain.timeline import appended_messages, check_expected_sequence, event_time
from agent_sessions.domain.verification import missing_last_message
from agent_sessions.infrastructure.database.history_repository import (
    hide_after,
    latest_compaction_locked,
    message_at,
    visible_before,
)
from agent_sessions.infrastructure.database.mapping import message_from_row, message_to_values
from agent_sessions.infrastructure.database.repository_base import BoundRepository
from agent_sessions.infrastructure.database.retry import database_retry
from agent_sessions.infrastructure.database.session_lock import (
    lock_session,
    session_clock,
    touch_session,
)
from agent_sessions.infrastructure.database.statements import (
    DIRECT_APPEND_IN_ONE,
    DIRECT_INSERT_MESSAGE,
    DIRECT_INSERT_STORED_MESSAGE,
    DIRECT_LOCKED_COUNT,
    DIRECT_MESSAGE_BY_ID,
    DIRECT_PAGE_AFTER,
    DIRECT_PAGE_AFTER_VISIBLE,
    DIRECT_RECENT_MESSAGES,
    DIRECT_RECENT_VISIBLE_MESSAGES,
    DIRECT_RESERVE,
    DIRECT_RESERVE_RETURNING,
    DIRECT_RESERVED,
    FILE_EVENTS,
    MESSAGES,
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
    def pop_last(
        self, session_id: str, *, updated_at: datetime, rewind_id: str
    ) -> SessionMessage | None:
        """Delete the newest visible message, or hide it under a rewind when it may not go.

        Under the session row lock (:func:`~.session_lock.lock_session`), a locking read finds
        the newest visible message (``FOR UPDATE``, which sees the latest committed row even
        under MariaDB's ``REPEATABLE READ``) and another the compaction in force;
        :func:`~agent_sessions.domain.history.pop_hides` decides. A delete steps
        ``message_count`` back in the ``UPDATE`` that moves ``updated_at``, then deletes the
        message's file events and the message. A hide is the rewind
        :func:`~.history_repository.hide_after` writes, to the visible message before it.
        """
        connection = self._connection
        last_sequence = lock_session(connection, session_id)
        if last_sequence is None:
            return None
        newest = visible_before(connection, session_id, last_sequence + 1, limit=2)
        if not newest:
            return None
        message = newest[-1]
        if pop_hides(message, last_sequence, latest_compaction_locked(connection, session_id)):
            if (
                message.sequence != last_sequence
                and message_at(connection, session_id, last_sequence) is None
            ):
                raise missing_last_message(session_id, last_sequence)
            at = event_time(updated_at, session_clock(connection, session_id))
            hide_after(
                connection,
                Rewind(
                    id=rewind_id,
                    session_id=session_id,
                    to_sequence=newest[0].sequence if len(newest) == 2 else 0,
                    through_sequence=last_sequence,
                    reason=POP_REWIND_REASON,
                    created_at=at,
                ),
            )
            touch_session(connection, session_id, at)
            return dataclasses.replace(message, rewound_by=rewind_id)
        touch_session(connection, session_id, updated_at, released=1)
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
        """Insert messages exactly as given (``rewound_by`` included), in one ``executemany``."""
        if messages:
            DIRECT_INSERT_STORED_MESSAGE.run_many(
                self._connection, [message_to_values(message) for message in messages]
            )

    @database_retry
    def get_for_session(
        self,
        session_id: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        include_rewound: bool = False,
    ) -> builtins.list[SessionMessage]:
        """Return the session's visible (or all) messages in ascending sequence, by limit/offset."""
        query = select(MESSAGES).where(MESSAGES.c.session_id == session_id)
        if not include_rewound:
            query = query.where(MESSAGES.c.rewound_by.is_(None))
        query = query.order_by(MESSAGES.c.sequence).limit(limit).offset(offset)
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
        self,
        session_id: str,
        after_sequence: int,
        limit: int,
        *,
        include_rewound: bool = True,
    ) -> builtins.list[SessionMessage]:
        """Return up to ``limit`` messages (all, or visible ones) after ``after_sequence``.

        Read along the ``(session_id, sequence)`` index; the visible page skips rewound rows
        on the way.
        """
        statement = DIRECT_PAGE_AFTER if include_rewound else DIRECT_PAGE_AFTER_VISIBLE
        parameters = {"p_session_id": session_id, "p_after": after_sequence, "p_limit": limit}
        return [message_from_row(row) for row in statement.rows(self._connection, parameters)]

    @database_retry
    def recent_for_session(
        self, session_id: str, n: int, *, after_sequence: int = 0
    ) -> builtins.list[SessionMessage]:
        """Return the last ``n`` visible messages above ``after_sequence``, ascending.

        Reads the transcript's tail backwards along the ``(session_id, sequence)`` index, the
        one plan every backend takes for it. Only a tail that holds rewound messages (just
        after a rewind) is read again, skipping them: with ``rewound_by IS NULL`` in the
        first read, PostgreSQL, on a table it has not analysed yet, picks a bitmap scan of
        the whole session and a sort, tens of times slower.
        """
        parameters = {"p_session_id": session_id, "p_after": after_sequence, "p_limit": n}
        connection = self._connection
        tail = [
            message_from_row(row) for row in DIRECT_RECENT_MESSAGES.rows(connection, parameters)
        ]
        if any(message.rewound_by is not None for message in tail):
            rows = DIRECT_RECENT_VISIBLE_MESSAGES.rows(connection, parameters)
            tail = [message_from_row(row) for row in rows]
        tail.reverse()
        return tail

    @database_retry
    def at_sequence(self, session_id: str, sequence: int) -> SessionMessage | None:
        """Return the session's message at ``sequence``, visible or not, or None."""
        row = self._connection.execute(
            select(MESSAGES).where(
                MESSAGES.c.session_id == session_id, MESSAGES.c.sequence == sequence
            )
        ).first()
        return None if row is None else message_from_row(row)

    @database_retry
    def count_for_session(self, session_id: str) -> int:
        """Return how many messages the session's transcript holds, rewound ones included."""
        count = self._connection.execute(
            select(func.count()).select_from(MESSAGES).where(MESSAGES.c.session_id == session_id)
        ).scalar_one()
        return int(count)
