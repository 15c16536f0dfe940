"""SQLAlchemy adapters of the repository ports.

Both repositories work on a ``Connection`` inside the caller's transaction, or on an ``Engine``
when used on their own, in which case every method is its own transaction, retried whole on a
transient error (see :func:`~agent_sessions.infrastructure.database.retry.database_retry`).
They use Core statements on the model tables: one round trip per call where the dialect allows.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Self

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from agent_sessions.domain import ports
from agent_sessions.domain.entities import (
    FileEvent,
    FileEventType,
    FileTouch,
    MessageRole,
    NewMessage,
    Session,
    SessionMessage,
)
from agent_sessions.domain.errors import DatabaseError
from agent_sessions.infrastructure.database.direct import DirectStatement
from agent_sessions.infrastructure.database.mapping import (
    file_event_from_row,
    file_event_to_values,
    message_from_row,
    message_to_values,
    session_from_row,
    session_to_values,
)
from agent_sessions.infrastructure.database.models import (
    SessionFileEventModel,
    SessionMessageModel,
    SessionModel,
    SessionTokenUsageModel,
)
from agent_sessions.infrastructure.database.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    database_retry,
)
from agent_sessions.infrastructure.database.types import JSON_DOCUMENT, LONG_TEXT, UTCDateTime

__all__ = ["FileEventRepository", "SessionMessageRepository", "SessionRepository"]

_sessions: Table = SessionModel.__table__  # type: ignore[assignment]
_messages: Table = SessionMessageModel.__table__  # type: ignore[assignment]
_token_usage: Table = SessionTokenUsageModel.__table__  # type: ignore[assignment]
_file_events: Table = SessionFileEventModel.__table__  # type: ignore[assignment]
_ONE_MICROSECOND = timedelta(microseconds=1)

# The hot path's statements, built once: executing a prebuilt statement with a parameter dict
# skips SQLAlchemy's per-call construction and cache-key walk, which cost more than SQLite's
# own work for a small append.
_AT = bindparam("p_at", type_=UTCDateTime())
_RESERVE = (
    update(_sessions)
    .where(_sessions.c.id == bindparam("p_session_id"))
    .values(
        message_count=_sessions.c.message_count + bindparam("p_added", type_=Integer()),
        updated_at=case((_sessions.c.updated_at < _AT, _AT), else_=_sessions.c.updated_at),
    )
)
_RESERVE_RETURNING = _RESERVE.returning(_sessions.c.message_count, _sessions.c.updated_at)
_RESERVED = select(_sessions.c.message_count, _sessions.c.updated_at).where(
    _sessions.c.id == bindparam("p_session_id")
)
_INSERT_MESSAGE = insert(_messages)
_BUMPED = _RESERVE_RETURNING.cte("bumped")
_APPEND_IN_ONE = (
    # PostgreSQL runs a data-modifying CTE: the counter bump and the insert in one statement,
    # one round trip, with the same row lock as the two statements take elsewhere.
    insert(_messages)
    .from_select(
        [
            "id",
            "session_id",
            "sequence",
            "role",
            "content",
            "metadata",
            "token_count",
            "created_at",
        ],
        select(
            bindparam("p_message_id", type_=String()),
            bindparam("p_session_id", type_=String()),
            _BUMPED.c.message_count,
            bindparam("p_role", type_=String()),
            bindparam("p_content", type_=LONG_TEXT),
            bindparam("p_metadata", type_=JSON_DOCUMENT),
            bindparam("p_token_count", type_=BigInteger()),
            _BUMPED.c.updated_at,
        ),
    )
    .returning(_messages.c.sequence, _messages.c.created_at)
)
_RECENT_MESSAGES = (
    select(_messages)
    .where(_messages.c.session_id == bindparam("p_session_id"))
    .order_by(_messages.c.sequence.desc())
    .limit(bindparam("p_limit", type_=Integer()))
)
_PAGE_AFTER = (
    select(_messages)
    .where(
        _messages.c.session_id == bindparam("p_session_id"),
        _messages.c.sequence > bindparam("p_after", type_=Integer()),
    )
    .order_by(_messages.c.sequence)
    .limit(bindparam("p_limit", type_=Integer()))
)
_MESSAGE_BY_ID = select(_messages).where(_messages.c.id == bindparam("p_message_id"))

# The hot statements run on the driver's cursor (see direct.py): the SQL is still the Core
# statement above, compiled once per dialect.
_DIRECT_RESERVE = DirectStatement(_RESERVE)
_DIRECT_RESERVE_RETURNING = DirectStatement(_RESERVE_RETURNING)
_DIRECT_RESERVED = DirectStatement(_RESERVED)
_DIRECT_INSERT_MESSAGE = DirectStatement(_INSERT_MESSAGE)
_DIRECT_APPEND_IN_ONE = DirectStatement(_APPEND_IN_ONE)
_DIRECT_RECENT_MESSAGES = DirectStatement(_RECENT_MESSAGES)
_DIRECT_PAGE_AFTER = DirectStatement(_PAGE_AFTER)
_DIRECT_MESSAGE_BY_ID = DirectStatement(_MESSAGE_BY_ID)
_DIRECT_INSERT_FILE_EVENT = DirectStatement(insert(_file_events))


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
    def get_by_external_id(self, actor_name: str, external_id: str) -> Session | None:
        """Return the actor's session with this external id, or None (by the unique index)."""
        return self._find_by_external_id(actor_name, external_id, lock=False)

    @database_retry
    def create_or_get_by_external_id(self, session: Session) -> Session:
        """Insert ``session`` unless its ``(actor_name, external_id)`` is taken; return the holder.

        The insert runs in a savepoint: when a concurrent transaction committed the same pair
        first, the unique index refuses the row, the savepoint rolls back, and a locking read
        (which sees the latest committed row even under MariaDB's REPEATABLE READ) returns the
        session that won.
        """
        assert session.external_id is not None, "only sessions with an external id"
        existing = self._find_by_external_id(session.actor_name, session.external_id, lock=False)
        if existing is not None:
            return existing
        connection = self._connection
        try:
            with connection.begin_nested():
                connection.execute(insert(_sessions).values(session_to_values(session)))
        except IntegrityError:
            existing = self._find_by_external_id(session.actor_name, session.external_id, lock=True)
            if existing is None:
                raise
            return existing
        return session

    def _find_by_external_id(
        self, actor_name: str, external_id: str, *, lock: bool
    ) -> Session | None:
        query = select(_sessions).where(
            _sessions.c.actor_name == actor_name, _sessions.c.external_id == external_id
        )
        if lock:
            query = query.with_for_update()
        row = self._connection.execute(query).first()
        return None if row is None else session_from_row(row)

    @database_retry
    def list_touching(self, file_path: str, *, limit: int) -> builtins.list[Session]:
        """Return the sessions with an event on ``file_path`` (found by its index), newest first."""
        touched = select(_file_events.c.session_id).where(_file_events.c.file_path == file_path)
        query = (
            select(_sessions)
            .where(_sessions.c.id.in_(touched))
            .order_by(_sessions.c.created_at.desc(), _sessions.c.id.desc())
            .limit(limit)
        )
        return [session_from_row(row) for row in self._connection.execute(query)]

    @database_retry
    def list_all(
        self,
        *,
        actor_name: str | None = None,
        limit: int = 50,
        offset: int = 0,
        after: tuple[datetime, str] | None = None,
    ) -> builtins.list[Session]:
        """Return sessions newest first (``created_at`` then ``id``, both descending).

        ``after`` continues a listing by keyset: ``created_at <= t AND (created_at < t OR
        id < i)``, a form every backend's optimiser turns into an index range scan (row-value
        comparisons are not, on MariaDB).
        """
        query = select(_sessions)
        if actor_name is not None:
            query = query.where(_sessions.c.actor_name == actor_name)
        if after is not None:
            moment, session_id = after
            at = literal(moment, UTCDateTime())
            query = query.where(
                _sessions.c.created_at <= at,
                or_(_sessions.c.created_at < at, _sessions.c.id < session_id),
            )
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
        if connection.dialect.name == "postgresql":
            rows = _DIRECT_APPEND_IN_ONE.rows(
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
            reserved = self._reserve_sequences(session_id, 1, created_at)
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
        if connection.dialect.name != "postgresql":  # the CTE above inserted it already
            _DIRECT_INSERT_MESSAGE.run(connection, message_to_values(message))
        return message

    @database_retry
    def append_many(
        self,
        session_id: str,
        *,
        message_ids: Sequence[str],
        messages: Sequence[NewMessage],
        created_at: datetime,
    ) -> builtins.list[SessionMessage] | None:
        """Reserve ``len(messages)`` sequences with one ``UPDATE``, then insert them in one go."""
        reserved = self._reserve_sequences(session_id, len(messages), created_at)
        if reserved is None:
            return None
        last, stored_at = reserved
        first = last - len(messages) + 1
        stored = [
            SessionMessage(
                id=message_id,
                session_id=session_id,
                sequence=first + offset,
                role=MessageRole(message.role),
                content=message.content,
                metadata=message.metadata or {},
                token_count=message.token_count,
                created_at=stored_at,
            )
            for offset, (message_id, message) in enumerate(zip(message_ids, messages, strict=True))
        ]
        _DIRECT_INSERT_MESSAGE.run_many(self._connection, [message_to_values(m) for m in stored])
        return stored

    def _reserve_sequences(
        self, session_id: str, count: int, created_at: datetime
    ) -> tuple[int, datetime] | None:
        """Bump ``message_count`` by ``count`` under the session's row lock.

        Returns the new ``message_count`` (the last reserved sequence) and the session's new
        ``updated_at`` (``created_at``, or the later time the session already had), or None
        when the session does not exist. The ``UPDATE`` both takes the row lock (PostgreSQL,
        MariaDB) or the database write lock (SQLite) and allocates the sequences: concurrent
        appenders queue on it, and each one reads the count its predecessor committed.
        """
        connection = self._connection
        parameters = {"p_session_id": session_id, "p_added": count, "p_at": created_at}
        if connection.dialect.update_returning:
            rows = _DIRECT_RESERVE_RETURNING.rows(connection, parameters)
        else:
            if _DIRECT_RESERVE.run(connection, parameters) == 0:
                return None
            rows = _DIRECT_RESERVED.rows(connection, {"p_session_id": session_id})
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
            update(_sessions)
            .where(_sessions.c.id == session_id, _sessions.c.message_count > 0)
            .values(
                message_count=_sessions.c.message_count - 1,
                updated_at=_not_before(_sessions.c.updated_at, updated_at),
            )
        )
        if connection.dialect.update_returning:
            remaining = connection.execute(release.returning(_sessions.c.message_count)).scalar()
        elif connection.execute(release).rowcount == 0:
            remaining = None
        else:
            remaining = connection.execute(
                select(_sessions.c.message_count).where(_sessions.c.id == session_id)
            ).scalar_one()
        if remaining is None:
            return None
        sequence = int(remaining) + 1
        row = connection.execute(
            select(_messages)
            .where(_messages.c.session_id == session_id, _messages.c.sequence == sequence)
            .with_for_update()
        ).first()
        if row is None:
            raise DatabaseError(
                f"session {session_id} counts {sequence} messages but holds none at sequence "
                f"{sequence}; nothing was removed (run verify to see what is damaged)"
            )
        message = message_from_row(row)
        connection.execute(delete(_file_events).where(_file_events.c.message_id == message.id))
        connection.execute(delete(_messages).where(_messages.c.id == message.id))
        return message

    @database_retry
    def get_by_id(self, message_id: str) -> SessionMessage | None:
        """Return the message with this id, or None."""
        rows = _DIRECT_MESSAGE_BY_ID.rows(self._connection, {"p_message_id": message_id})
        return message_from_row(rows[0]) if rows else None

    @database_retry
    def insert_many(self, messages: Sequence[SessionMessage]) -> None:
        """Insert messages exactly as given, in one ``executemany``."""
        if messages:
            _DIRECT_INSERT_MESSAGE.run_many(
                self._connection, [message_to_values(message) for message in messages]
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
    def ids_for_sequences(self, session_id: str, sequences: Sequence[int]) -> dict[int, str]:
        """Return the ids of the session's messages at ``sequences``, by sequence."""
        if not sequences:
            return {}
        query = select(_messages.c.sequence, _messages.c.id).where(
            _messages.c.session_id == session_id, _messages.c.sequence.in_(sorted(set(sequences)))
        )
        return {int(row.sequence): row.id for row in self._connection.execute(query)}

    @database_retry
    def page_after(
        self, session_id: str, after_sequence: int, limit: int
    ) -> builtins.list[SessionMessage]:
        """Return up to ``limit`` messages after ``after_sequence``, read along the index."""
        parameters = {"p_session_id": session_id, "p_after": after_sequence, "p_limit": limit}
        return [
            message_from_row(row) for row in _DIRECT_PAGE_AFTER.rows(self._connection, parameters)
        ]

    @database_retry
    def recent_for_session(self, session_id: str, n: int) -> builtins.list[SessionMessage]:
        """Return the last ``n`` messages in ascending sequence (read by the unique index)."""
        rows = _DIRECT_RECENT_MESSAGES.rows(
            self._connection, {"p_session_id": session_id, "p_limit": n}
        )
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


class FileEventRepository(_Repository, ports.FileEventRepository):
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

        The event's time is ``created_at``, or one microsecond past the session's
        ``updated_at`` when that is not earlier; the session's ``updated_at`` moves to it.
        Returns None when the session does not exist.
        """
        connection = self._connection
        row = connection.execute(
            select(_sessions.c.updated_at).where(_sessions.c.id == session_id).with_for_update()
        ).first()
        if row is None:
            return None
        updated_at: datetime = row.updated_at
        moment = created_at if created_at > updated_at else updated_at + _ONE_MICROSECOND
        connection.execute(
            update(_sessions).where(_sessions.c.id == session_id).values(updated_at=moment)
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
        connection.execute(insert(_file_events).values(file_event_to_values(event)))
        return event

    @database_retry
    def get_by_id(self, event_id: str) -> FileEvent | None:
        """Return the event with this id, or None."""
        row = self._connection.execute(
            select(_file_events).where(_file_events.c.id == event_id)
        ).first()
        return None if row is None else file_event_from_row(row)

    @database_retry
    def insert_many(self, events: Sequence[FileEvent]) -> None:
        """Insert events exactly as given, in one ``executemany``."""
        if events:
            _DIRECT_INSERT_FILE_EVENT.run_many(
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
        query = select(_file_events).where(_file_events.c.session_id == session_id)
        if event_type is not None:
            query = query.where(_file_events.c.event_type == event_type.value)
        if file_path is not None:
            query = query.where(_file_events.c.file_path == file_path)
        query = (
            query.order_by(_file_events.c.created_at, _file_events.c.id).limit(limit).offset(offset)
        )
        return [file_event_from_row(row) for row in self._connection.execute(query)]

    @database_retry
    def page_with_sequences(
        self, session_id: str, *, after: datetime | None, until: datetime, limit: int
    ) -> builtins.list[tuple[FileEvent, int]]:
        """Return a keyset page of events with their messages' sequences (one join)."""
        query = (
            select(_file_events, _messages.c.sequence.label("message_sequence"))
            .select_from(_file_events.join(_messages, _messages.c.id == _file_events.c.message_id))
            .where(
                _file_events.c.session_id == session_id,
                _file_events.c.created_at <= literal(until, UTCDateTime()),
            )
            .order_by(_file_events.c.created_at)
            .limit(limit)
        )
        if after is not None:
            query = query.where(_file_events.c.created_at > literal(after, UTCDateTime()))
        return [
            (file_event_from_row(row), int(row.message_sequence))
            for row in self._connection.execute(query)
        ]

    @database_retry
    def files_touched(self, session_id: str) -> builtins.list[FileTouch]:
        """Group the session's events by path and type in one query over its index.

        Paths come back in code-point order (the same on every backend), each with its
        counts by type and the time of its latest event.
        """
        query = (
            select(
                _file_events.c.file_path,
                _file_events.c.event_type,
                func.count().label("events"),
                func.max(_file_events.c.created_at).label("last_event_at"),
            )
            .where(_file_events.c.session_id == session_id, _file_events.c.file_path.is_not(None))
            .group_by(_file_events.c.file_path, _file_events.c.event_type)
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
