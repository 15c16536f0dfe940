"""The rows of an in-memory store, their indexes, and the undo log that rolls a transaction back.

:class:`MemoryTables` plays the part of the SQL schema: six tables of domain objects keyed as
the SQL tables are, the indexes the repositories read by, and the constraints (primary keys,
unique keys, foreign keys) that the ``insert_*`` methods enforce. The ``put_*`` and
``delete_*`` methods write a row as they are told, constraints and cascades aside, as a hand
edit of a database would: the repositories keep the rules (counters, cascades, times), and a
test may use these methods to damage a store on purpose, for example to see what ``verify``
reports.

Every change made while a transaction is open is logged with what it replaced, so that
:meth:`MemoryTables.rollback` restores the tables and their indexes exactly.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, Protocol, TypeVar

from agent_sessions.domain.entities import Compaction, FileEvent, Rewind, Session, SessionMessage
from agent_sessions.domain.errors import DatabaseError

__all__ = ["MemoryTables", "detached"]

_Row = TypeVar("_Row", Session, SessionMessage, Compaction)
_ABSENT: Any = object()
"""What the undo log records for a key that had no value before the change."""


class _Owned(Protocol):
    """A row of one session, found by its own id."""

    @property
    def id(self) -> str: ...

    @property
    def session_id(self) -> str: ...


_OwnedRow = TypeVar("_OwnedRow", bound=_Owned)


def detached(row: _Row) -> _Row:
    """Return ``row`` with a metadata dict of its own, so no caller shares the stored one.

    A SQL store hands out new objects on every read; a caller that changes the metadata of a
    session, message or compaction it was given must not change the stored row.
    """
    if not row.metadata:
        return row
    return dataclasses.replace(row, metadata=copy.deepcopy(row.metadata))


def _violation(constraint: str, detail: str) -> DatabaseError:
    return DatabaseError(f"in-memory store: {constraint} violated: {detail}; nothing was written")


class MemoryTables:
    """Sessions, messages, file events, receipts, rewinds and compactions, with their indexes.

    Read the attributes freely; change them only through the methods, which keep the indexes
    and the undo log right.

    Attributes:
        sessions: the sessions by id.
        messages: the messages by id.
        file_events: the file events by id.
        token_usage: ``(prompt_tokens, completion_tokens)`` by ``(session_id, usage_key)``.
        rewinds: the rewinds by id, undone ones included.
        compactions: the compactions by id, hidden ones included.

    """

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.messages: dict[str, SessionMessage] = {}
        self.file_events: dict[str, FileEvent] = {}
        self.token_usage: dict[tuple[str, str], tuple[int, int]] = {}
        self.rewinds: dict[str, Rewind] = {}
        self.compactions: dict[str, Compaction] = {}
        self._rewinds_of: dict[str, dict[str, None]] = {}
        self._compactions_of: dict[str, dict[str, None]] = {}
        self._by_external_id: dict[tuple[str, str], str] = {}
        self._by_sequence: dict[tuple[str, int], str] = {}
        self._messages_of: dict[str, dict[str, None]] = {}
        self._events_of: dict[str, dict[str, None]] = {}
        self._events_of_message: dict[str, dict[str, None]] = {}
        self._undo: list[tuple[MutableMapping[Any, Any], Any, Any]] | None = None

    # --- transactions -------------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        """True between :meth:`begin` and :meth:`commit` or :meth:`rollback`."""
        return self._undo is not None

    def begin(self) -> None:
        """Start logging changes, so that :meth:`rollback` can undo them."""
        self._undo = []

    def commit(self) -> None:
        """Keep every change since :meth:`begin` and stop logging."""
        self._undo = None

    def rollback(self) -> None:
        """Undo every change since :meth:`begin`, newest first, and stop logging."""
        undo, self._undo = self._undo or [], None
        for mapping, key, previous in reversed(undo):
            if previous is _ABSENT:
                del mapping[key]
            else:
                mapping[key] = previous

    def _set(self, mapping: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        if self._undo is not None:
            self._undo.append((mapping, key, mapping.get(key, _ABSENT)))
        mapping[key] = value

    def _pop(self, mapping: MutableMapping[Any, Any], key: Any) -> None:
        if key in mapping:
            if self._undo is not None:
                self._undo.append((mapping, key, mapping[key]))
            del mapping[key]

    def _add_to(self, index: dict[str, dict[str, None]], owner: str, member: str) -> None:
        members = index.get(owner)
        if members is None:
            members = {}
            self._set(index, owner, members)
        self._set(members, member, None)

    def _remove_from(self, index: dict[str, dict[str, None]], owner: str, member: str) -> None:
        members = index.get(owner)
        if members is not None:
            self._pop(members, member)

    # --- rows as given: no constraint, no cascade ----------------------------------------------

    def put_session(self, session: Session) -> None:
        """Store ``session`` under its id, replacing the row it had (if any)."""
        old = self.sessions.get(session.id)
        if old is not None and old.external_id is not None:
            self._drop_index_entry(self._by_external_id, (old.actor_name, old.external_id), old.id)
        self._set(self.sessions, session.id, detached(session))
        if session.external_id is not None:
            self._set(self._by_external_id, (session.actor_name, session.external_id), session.id)

    def delete_session(self, session_id: str) -> None:
        """Remove the session row only: its messages, events and receipts stay."""
        old = self.sessions.get(session_id)
        if old is None:
            return
        if old.external_id is not None:
            self._drop_index_entry(self._by_external_id, (old.actor_name, old.external_id), old.id)
        self._pop(self.sessions, session_id)

    def put_message(self, message: SessionMessage) -> None:
        """Store ``message`` under its id, replacing the row it had (if any)."""
        self.delete_message(message.id)
        self._set(self.messages, message.id, detached(message))
        self._set(self._by_sequence, (message.session_id, message.sequence), message.id)
        self._add_to(self._messages_of, message.session_id, message.id)

    def delete_message(self, message_id: str) -> None:
        """Remove the message row only: its session's counter and its events stay."""
        old = self.messages.get(message_id)
        if old is None:
            return
        self._drop_index_entry(self._by_sequence, (old.session_id, old.sequence), old.id)
        self._remove_from(self._messages_of, old.session_id, old.id)
        self._pop(self.messages, message_id)

    def put_file_event(self, event: FileEvent) -> None:
        """Store ``event`` under its id, replacing the row it had (if any)."""
        self.delete_file_event(event.id)
        self._set(self.file_events, event.id, event)
        self._add_to(self._events_of, event.session_id, event.id)
        self._add_to(self._events_of_message, event.message_id, event.id)

    def delete_file_event(self, event_id: str) -> None:
        """Remove the event row."""
        old = self.file_events.get(event_id)
        if old is None:
            return
        self._remove_from(self._events_of, old.session_id, old.id)
        self._remove_from(self._events_of_message, old.message_id, old.id)
        self._pop(self.file_events, event_id)

    def put_token_usage(self, session_id: str, usage_key: str, usage: tuple[int, int]) -> None:
        """Record ``usage`` under ``(session_id, usage_key)``."""
        self._set(self.token_usage, (session_id, usage_key), usage)

    def delete_token_usage(self, session_id: str) -> None:
        """Remove every receipt of the session."""
        for key in [key for key in self.token_usage if key[0] == session_id]:
            self._pop(self.token_usage, key)

    def put_rewind(self, rewind: Rewind) -> None:
        """Store ``rewind`` under its id, replacing the row it had (if any)."""
        self._put_owned(self.rewinds, self._rewinds_of, rewind)

    def delete_rewind(self, rewind_id: str) -> None:
        """Remove the rewind row only: the messages and compactions it hid keep its id."""
        self._delete_owned(self.rewinds, self._rewinds_of, rewind_id)

    def put_compaction(self, compaction: Compaction) -> None:
        """Store ``compaction`` under its id, replacing the row it had (if any)."""
        self._put_owned(self.compactions, self._compactions_of, detached(compaction))

    def delete_compaction(self, compaction_id: str) -> None:
        """Remove the compaction row."""
        self._delete_owned(self.compactions, self._compactions_of, compaction_id)

    def _put_owned(
        self, rows: dict[str, _OwnedRow], index: dict[str, dict[str, None]], row: _OwnedRow
    ) -> None:
        """Store a row of a session under its id, and list it under the session."""
        self._delete_owned(rows, index, row.id)
        self._set(rows, row.id, row)
        self._add_to(index, row.session_id, row.id)

    def _delete_owned(
        self, rows: dict[str, _OwnedRow], index: dict[str, dict[str, None]], row_id: str
    ) -> None:
        old = rows.get(row_id)
        if old is not None:
            self._remove_from(index, old.session_id, old.id)
            self._pop(rows, row_id)

    def _drop_index_entry(self, index: dict[Any, str], key: Any, row_id: str) -> None:
        """Remove ``key`` from a unique index when it points at ``row_id`` (not at another row)."""
        if index.get(key) == row_id:
            self._pop(index, key)

    # --- rows checked against the schema's constraints ----------------------------------------

    def insert_session(self, session: Session) -> None:
        """Insert a new session; its id and ``(actor_name, external_id)`` must be free.

        A fork point goes with a parent, and is 0 or more.
        """
        if session.id in self.sessions:
            raise _violation("primary key sessions.id", f"session {session.id} exists")
        holder = self.session_by_external_id(session.actor_name, session.external_id)
        if holder is not None:
            raise _violation(
                "unique key sessions(actor_name, external_id)",
                f"session {holder.id} already carries that external id",
            )
        point = session.forked_at_sequence
        if (session.parent_session_id is None) != (point is None) or (point or 0) < 0:
            raise _violation(
                "check constraint ck_sessions_fork_point_with_parent",
                f"parent_session_id {session.parent_session_id}, forked_at_sequence {point}",
            )
        self.put_session(session)

    def insert_message(self, message: SessionMessage) -> None:
        """Insert a new message of a stored session, at a sequence that is free."""
        self._check_keys("session_messages", "message", self.messages, message)
        if (message.session_id, message.sequence) in self._by_sequence:
            raise _violation(
                "unique key session_messages(session_id, sequence)",
                f"session {message.session_id} holds a message at sequence {message.sequence}",
            )
        self._check_rewound_by("session_messages", message.rewound_by)
        self.put_message(message)

    def insert_file_event(self, event: FileEvent) -> None:
        """Insert a new event of a stored session and a stored message."""
        self._check_keys("session_file_events", "event", self.file_events, event)
        if event.message_id not in self.messages:
            raise _violation(
                "foreign key session_file_events.message_id", f"no message {event.message_id}"
            )
        self.put_file_event(event)

    def insert_token_usage(self, session_id: str, usage_key: str, usage: tuple[int, int]) -> None:
        """Record a new receipt; the key must be new for the session."""
        if (session_id, usage_key) in self.token_usage:
            raise _violation(
                "primary key session_token_usage(session_id, usage_key)",
                f"{usage_key!r} is recorded for session {session_id}",
            )
        self.put_token_usage(session_id, usage_key, usage)

    def insert_rewind(self, rewind: Rewind) -> None:
        """Insert a new rewind of a stored session, its sequences in order."""
        self._check_keys("session_rewinds", "rewind", self.rewinds, rewind)
        if not 0 <= rewind.to_sequence < rewind.through_sequence:
            raise _violation(
                "check constraint ck_session_rewinds_sequences_ordered",
                f"to_sequence {rewind.to_sequence}, through_sequence {rewind.through_sequence}",
            )
        self.put_rewind(rewind)

    def insert_compaction(self, compaction: Compaction) -> None:
        """Insert a new compaction of a stored session, covering at least its first sequence."""
        self._check_keys("session_compactions", "compaction", self.compactions, compaction)
        if compaction.through_sequence < 1:
            raise _violation(
                "check constraint ck_session_compactions_through_sequence_positive",
                f"through_sequence {compaction.through_sequence}",
            )
        self._check_rewound_by("session_compactions", compaction.rewound_by)
        self.put_compaction(compaction)

    def _check_keys(self, table: str, noun: str, rows: Mapping[str, _Owned], row: _Owned) -> None:
        """Refuse a row whose id is taken, or whose session is not stored."""
        if row.id in rows:
            raise _violation(f"primary key {table}.id", f"{noun} {row.id} exists")
        if row.session_id not in self.sessions:
            raise _violation(f"foreign key {table}.session_id", f"no session {row.session_id}")

    def _check_rewound_by(self, table: str, rewind_id: str | None) -> None:
        if rewind_id is not None and rewind_id not in self.rewinds:
            raise _violation(f"foreign key {table}.rewound_by", f"no rewind {rewind_id}")

    # --- reads by index -----------------------------------------------------------------------

    def session_by_external_id(self, actor_name: str, external_id: str | None) -> Session | None:
        """Return the actor's session with this external id, or None."""
        if external_id is None:
            return None
        session_id = self._by_external_id.get((actor_name, external_id))
        return None if session_id is None else self.sessions[session_id]

    def message_at(self, session_id: str, sequence: int) -> SessionMessage | None:
        """Return the session's message at ``sequence``, or None."""
        message_id = self._by_sequence.get((session_id, sequence))
        return None if message_id is None else self.messages[message_id]

    def messages_of(self, session_id: str) -> list[SessionMessage]:
        """Return the session's messages in ascending sequence."""
        ids = self._messages_of.get(session_id, {})
        return sorted((self.messages[i] for i in ids), key=lambda m: m.sequence)

    def events_of(self, session_id: str) -> list[FileEvent]:
        """Return the session's events in the order recorded (``created_at``, then ``id``)."""
        ids = self._events_of.get(session_id, {})
        return sorted((self.file_events[i] for i in ids), key=lambda e: (e.created_at, e.id))

    def events_of_message(self, message_id: str) -> Iterator[FileEvent]:
        """Yield the events that name the message."""
        for event_id in list(self._events_of_message.get(message_id, {})):
            yield self.file_events[event_id]

    def rewinds_of(self, session_id: str) -> list[Rewind]:
        """Return the session's rewinds in the order recorded (``created_at``, then ``id``)."""
        ids = self._rewinds_of.get(session_id, {})
        return sorted((self.rewinds[i] for i in ids), key=lambda r: (r.created_at, r.id))

    def compactions_of(self, session_id: str) -> list[Compaction]:
        """Return the session's compactions in the order recorded (``created_at``, then ``id``)."""
        ids = self._compactions_of.get(session_id, {})
        return sorted((self.compactions[i] for i in ids), key=lambda c: (c.created_at, c.id))
