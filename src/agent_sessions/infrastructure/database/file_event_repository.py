"""The SQLAlchemy adapter of the file event repository port: the ``session_file_events`` table.

How it is bound and retried: :class:`~.repository_base.BoundRepository`.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, literal, select, update

from agent_sessions.domain import ports
from agent_sessions.domain.entities import FileEvent, FileEventType, FileTouch
from agent_sessions.domain.timeline import event_time
from agent_sessions.infrastructure.database.mapping import (
    file_event_from_row,
    file_event_to_values,
)
from agent_sessions.infrastructure.database.repository_base import BoundRepository
from agent_sessions.infrastructure.database.retry import database_retry
from agent_sessions.infrastructure.database.statements import (
    DIRECT_INSERT_FILE_EVENT,
    FILE_EVENTS,
    MESSAGES,
    SESSIONS,
    never_before,
)
from agent_sessions.infrastructure.database.types import UTCDateTime

__all__ = ["FileEventRepository"]


class FileEventRepository(BoundRepository, ports.FileEventRepository):
    """Stores and reads file events in the ``session_file_events`` table."""

    @database_retry
    def record(
        self,
        session_id: str,
        *,
        event_id: str,
        message_id: str,
        event_type: FileEventType,
        file_path: str | None,
        diff: str | None,
        command: str | None,
        created_at: datetime,
    ) -> FileEvent | None:
        """Lock the session row, time the event after everything before it, and insert it.

        The event's time is :func:`~agent_sessions.domain.timeline.event_time` of
        ``created_at`` and the locked ``updated_at``; the session's ``updated_at`` moves to
        it. Returns None when the session does not exist.
        """
        connection = self._connection
        row = connection.execute(
            select(SESSIONS.c.updated_at).where(SESSIONS.c.id == session_id).with_for_update()
        ).first()
        if row is None:
            return None
        moment = event_time(created_at, row.updated_at)
        connection.execute(
            update(SESSIONS)
            .where(SESSIONS.c.id == session_id)
            .values(updated_at=never_before(SESSIONS.c.updated_at, moment))
        )
        event = FileEvent(
            id=event_id,
            session_id=session_id,
            message_id=message_id,
            event_type=event_type,
            file_path=file_path,
            diff=diff,
            command=command,
            created_at=moment,
        )
        connection.execute(insert(FILE_EVENTS).values(file_event_to_values(event)))
        return event

    @database_retry
    def get_by_id(self, event_id: str) -> FileEvent | None:
        """Return the event with this id, or None."""
        row = self._connection.execute(
            select(FILE_EVENTS).where(FILE_EVENTS.c.id == event_id)
        ).first()
        return None if row is None else file_event_from_row(row)

    @database_retry
    def insert_many(self, events: Sequence[FileEvent]) -> None:
        """Insert events exactly as given, in one ``executemany``."""
        if events:
            DIRECT_INSERT_FILE_EVENT.run_many(
                self._connection, [file_event_to_values(event) for event in events]
            )

    @database_retry
    def list_for_session(
        self,
        session_id: str,
        *,
        event_type: FileEventType | None = None,
        file_path: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[FileEvent]:
        """Return the session's events in the order recorded, read along its index."""
        query = select(FILE_EVENTS).where(FILE_EVENTS.c.session_id == session_id)
        if event_type is not None:
            query = query.where(FILE_EVENTS.c.event_type == event_type.value)
        if file_path is not None:
            query = query.where(FILE_EVENTS.c.file_path == file_path)
        query = (
            query.order_by(FILE_EVENTS.c.created_at, FILE_EVENTS.c.id).limit(limit).offset(offset)
        )
        return [file_event_from_row(row) for row in self._connection.execute(query)]

    @database_retry
    def page_with_sequences(
        self, session_id: str, *, after: datetime | None, until: datetime, limit: int
    ) -> builtins.list[tuple[FileEvent, int]]:
        """Return a keyset page of events with their messages' sequences (one join)."""
        query = (
            select(FILE_EVENTS, MESSAGES.c.sequence.label("message_sequence"))
            .select_from(FILE_EVENTS.join(MESSAGES, MESSAGES.c.id == FILE_EVENTS.c.message_id))
            .where(
                FILE_EVENTS.c.session_id == session_id,
                FILE_EVENTS.c.created_at <= literal(until, UTCDateTime()),
            )
            .order_by(FILE_EVENTS.c.created_at)
            .limit(limit)
        )
        if after is not None:
            query = query.where(FILE_EVENTS.c.created_at > literal(after, UTCDateTime()))
        return [
            (file_event_from_row(row), int(row.message_sequence))
            for row in self._connection.execute(query)
        ]

    @database_retry
    def files_touched(self, session_id: str) -> builtins.list[FileTouch]:
        """Group the events of the session's visible messages by path and type, in one query.

        The events are read along their ``(session_id, created_at)`` index, each joined to
        its message by primary key to leave out those of rewound messages. Paths come back in
        code-point order (the same on every backend), each with its counts by type and the
        time of its latest event.
        """
        query = (
            select(
                FILE_EVENTS.c.file_path,
                FILE_EVENTS.c.event_type,
                func.count().label("events"),
                func.max(FILE_EVENTS.c.created_at).label("last_event_at"),
            )
            .select_from(FILE_EVENTS.join(MESSAGES, MESSAGES.c.id == FILE_EVENTS.c.message_id))
            .where(
                FILE_EVENTS.c.session_id == session_id,
                FILE_EVENTS.c.file_path.is_not(None),
                MESSAGES.c.rewound_by.is_(None),
            )
            .group_by(FILE_EVENTS.c.file_path, FILE_EVENTS.c.event_type)
        )
        touched: dict[str, tuple[dict[FileEventType, int], datetime]] = {}
        for row in self._connection.execute(query):
            counts, last = touched.setdefault(row.file_path, ({}, row.last_event_at))
            counts[FileEventType(row.event_type)] = int(row.events)
            if row.last_event_at > last:
                touched[row.file_path] = (counts, row.last_event_at)
        # Sorted here, by code point, so that every backend's collation gives the same order.
        return [
            FileTouch(file_path=path, counts=counts, last_event_at=last)
            for path, (counts, last) in sorted(touched.items())
        ]
