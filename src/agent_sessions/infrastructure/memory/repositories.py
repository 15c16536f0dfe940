"""The in-memory adapters of the repository ports, over :class:`MemoryTables`.

Each repository works inside the store's transaction (the store holds its lock and the tables'
undo log around the work), so a method reads and writes the tables directly: the "row lock" of
the SQL repositories is the store's one lock. The rules the ports state (sequences from the
session's counter, cascades) are kept here; those of a session's timeline (``updated_at``
never moving back, events strictly later than everything before them) are the domain's
:mod:`agent_sessions.domain.timeline`, which these call as the SQL adapter does; the
constraints live in the tables.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

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
from agent_sessions.domain.timeline import (
    appended_messages,
    check_expected_sequence,
    event_time,
    not_before,
)
from agent_sessions.domain.verification import missing_last_message
from agent_sessions.infrastructure.memory.tables import MemoryTables, detached

__all__ = [
    "InMemoryFileEventRepository",
    "InMemorySessionMessageRepository",
    "InMemorySessionRepository",
]


def _newest_first(sessions: builtins.list[Session]) -> builtins.list[Session]:
    return sorted(sessions, key=lambda s: (s.created_at, s.id), reverse=True)


def _page(rows: builtins.list[Any], limit: int | None, offset: int) -> builtins.list[Any]:
    return rows[offset:] if limit is None else rows[offset : offset + limit]


class _Repository:
    def __init__(self, tables: MemoryTables) -> None:
        self._tables = tables

    def _advance(self, session: Session, moment: datetime, **changes: Any) -> Session:
        """Store ``session`` with ``changes`` and ``updated_at`` moved to ``moment`` if later."""
        advanced = dataclasses.replace(
            session, updated_at=not_before(session.updated_at, moment), **changes
        )
        self._tables.put_session(advanced)
        return advanced


class InMemorySessionRepository(_Repository, ports.SessionRepository):
    """Stores and finds sessions in the tables' ``sessions``."""

    def create(self, session: Session) -> Session:
        """Insert ``session`` as given and return it."""
        self._tables.insert_session(session)
        return detached(session)

    def get_by_id(self, session_id: str) -> Session | None:
        """Return the session with this id, or None."""
        found = self._tables.sessions.get(session_id)
        return None if found is None else detached(found)

    def get_by_external_id(self, actor_name: str, external_id: str) -> Session | None:
        """Return the actor's session with this external id, or None."""
        found = self._tables.session_by_external_id(actor_name, external_id)
        return None if found is None else detached(found)

    def create_or_get_by_external_id(self, session: Session) -> Session:
        """Insert ``session`` unless its ``(actor_name, external_id)`` is taken; return the holder.

        Transactions run one at a time, so the look-up and the insert cannot be raced.
        """
        assert session.external_id is not None, "only sessions with an external id"
        holder = self.get_by_external_id(session.actor_name, session.external_id)
        return holder if holder is not None else self.create(session)

    def list_touching(self, file_path: str, *, limit: int) -> builtins.list[Session]:
        """Return the sessions with an event on ``file_path``, newest first."""
        events = self._tables.file_events.values()
        touching = {e.session_id for e in events if e.file_path == file_path}
        found = [self._tables.sessions[i] for i in touching if i in self._tables.sessions]
        return [detached(s) for s in _newest_first(found)[:limit]]

    def list_all(
        self,
        *,
        actor_name: str | None = None,
        limit: int = 50,
        offset: int = 0,
        after: tuple[datetime, str] | None = None,
    ) -> builtins.list[Session]:
        """Return sessions newest first (``created_at`` then ``id``, both descending)."""
        found = [
            s
            for s in self._tables.sessions.values()
            if (actor_name is None or s.actor_name == actor_name)
            and (after is None or (s.created_at, s.id) < after)
        ]
        return [detached(s) for s in _page(_newest_first(found), limit, offset)]

    def delete(self, session_id: str) -> bool:
        """Delete the session with its messages, events and receipts; False if it was absent."""
        tables = self._tables
        if session_id not in tables.sessions:
            return False
        for event in tables.events_of(session_id):
            tables.delete_file_event(event.id)
        for message in tables.messages_of(session_id):
            tables.delete_message(message.id)
        tables.delete_token_usage(session_id)
        tables.delete_session(session_id)
        return True

    def update(
        self,
        session_id: str,
        *,
        add_prompt_tokens: int = 0,
        add_completion_tokens: int = 0,
        updated_at: datetime,
        usage_key: str | None = None,
    ) -> Session | None:
        """Add to the token counters and return the new row, or None if the session is absent."""
        session = self._tables.sessions.get(session_id)
        if session is None:
            return None
        updated = self._advance(
            session,
            updated_at,
            prompt_tokens=session.prompt_tokens + add_prompt_tokens,
            completion_tokens=session.completion_tokens + add_completion_tokens,
        )
        if usage_key is not None:
            usage = (add_prompt_tokens, add_completion_tokens)
            self._tables.insert_token_usage(session_id, usage_key, usage)
        return detached(updated)

    def recorded_token_usage(self, session_id: str, usage_key: str) -> tuple[int, int] | None:
        """Return the usage recorded under ``usage_key``, if any (the store's lock is held)."""
        return self._tables.token_usage.get((session_id, usage_key))


class InMemorySessionMessageRepository(_Repository, ports.SessionMessageRepository):
    """Stores and reads messages in the tables' ``messages``."""

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
        """Append at the session's next sequence; None if the session is absent."""
        stored = self.append_many(
            session_id,
            message_ids=[message_id],
            messages=[NewMessage(role, content, metadata, token_count)],
            created_at=created_at,
            expected_sequence=expected_sequence,
        )
        return None if stored is None else stored[0]

    def append_many(
        self,
        session_id: str,
        *,
        message_ids: Sequence[str],
        messages: Sequence[NewMessage],
        created_at: datetime,
        expected_sequence: int | None = None,
    ) -> builtins.list[SessionMessage] | None:
        """Reserve ``len(messages)`` sequences from the counter, then insert them all.

        The counter is compared with ``expected_sequence``, when given, before anything moves.
        """
        session = self._tables.sessions.get(session_id)
        if session is None:
            return None
        check_expected_sequence(session_id, expected_sequence, session.message_count)
        first = session.message_count + 1
        reserved = self._advance(
            session, created_at, message_count=session.message_count + len(messages)
        )
        stored = appended_messages(
            session_id,
            first_sequence=first,
            message_ids=message_ids,
            messages=messages,
            stored_at=reserved.updated_at,
        )
        for message in stored:
            self._tables.insert_message(message)
        return [detached(message) for message in stored]

    def pop_last(self, session_id: str, *, updated_at: datetime) -> SessionMessage | None:
        """Step the counter back, then remove the message at the old count with its events."""
        tables = self._tables
        session = tables.sessions.get(session_id)
        if session is None or session.message_count == 0:
            return None
        sequence = session.message_count
        self._advance(session, updated_at, message_count=sequence - 1)
        message = tables.message_at(session_id, sequence)
        if message is None:
            raise missing_last_message(session_id, sequence)
        for event in builtins.list(tables.events_of_message(message.id)):
            tables.delete_file_event(event.id)
        tables.delete_message(message.id)
        return message

    def get_by_id(self, message_id: str) -> SessionMessage | None:
        """Return the message with this id, or None."""
        found = self._tables.messages.get(message_id)
        return None if found is None else detached(found)

    def ids_for_sequences(self, session_id: str, sequences: Sequence[int]) -> dict[int, str]:
        """Return the ids of the session's messages at ``sequences``, by sequence."""
        found = {s: self._tables.message_at(session_id, s) for s in set(sequences)}
        return {s: m.id for s, m in found.items() if m is not None}

    def page_after(
        self, session_id: str, after_sequence: int, limit: int
    ) -> builtins.list[SessionMessage]:
        """Return up to ``limit`` messages with a sequence above ``after_sequence``, ascending."""
        later = [m for m in self._tables.messages_of(session_id) if m.sequence > after_sequence]
        return [detached(m) for m in later[:limit]]

    def insert_many(self, messages: Sequence[SessionMessage]) -> None:
        """Insert messages exactly as given."""
        for message in messages:
            self._tables.insert_message(message)

    def get_for_session(
        self, session_id: str, *, limit: int | None = None, offset: int = 0
    ) -> builtins.list[SessionMessage]:
        """Return the session's messages in ascending sequence, paginated by limit/offset."""
        return [detached(m) for m in _page(self._tables.messages_of(session_id), limit, offset)]

    def recent_for_session(self, session_id: str, n: int) -> builtins.list[SessionMessage]:
        """Return the last ``n`` messages of the session, in ascending sequence."""
        return [detached(m) for m in self._tables.messages_of(session_id)[-n:]] if n else []

    def count_for_session(self, session_id: str) -> int:
        """Return how many messages the session holds."""
        return len(self._tables.messages_of(session_id))


class InMemoryFileEventRepository(_Repository, ports.FileEventRepository):
    """Stores and reads file events in the tables' ``file_events``."""

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
        """Time the event after everything before it, move the session's time to it, insert it."""
        session = self._tables.sessions.get(session_id)
        if session is None:
            return None
        moment = event_time(created_at, session.updated_at)
        self._advance(session, moment)
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
        self._tables.insert_file_event(event)
        return event

    def get_by_id(self, event_id: str) -> FileEvent | None:
        """Return the event with this id, or None."""
        return self._tables.file_events.get(event_id)

    def insert_many(self, events: Sequence[FileEvent]) -> None:
        """Insert events exactly as given."""
        for event in events:
            self._tables.insert_file_event(event)

    def list_for_session(
        self,
        session_id: str,
        *,
        event_type: FileEventType | None = None,
        file_path: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[FileEvent]:
        """Return the session's events in the order recorded, optionally filtered."""
        found = [
            e
            for e in self._tables.events_of(session_id)
            if (event_type is None or e.event_type == event_type)
            and (file_path is None or e.file_path == file_path)
        ]
        return _page(found, limit, offset)

    def page_with_sequences(
        self, session_id: str, *, after: datetime | None, until: datetime, limit: int
    ) -> builtins.list[tuple[FileEvent, int]]:
        """Return up to ``limit`` events after ``after`` and not after ``until``, with sequences."""
        page: builtins.list[tuple[FileEvent, int]] = []
        for event in self._tables.events_of(session_id):
            message = self._tables.messages.get(event.message_id)
            if (
                message is not None
                and event.created_at <= until
                and (after is None or event.created_at > after)
            ):
                page.append((event, message.sequence))
        return page[:limit]

    def files_touched(self, session_id: str) -> builtins.list[FileTouch]:
        """Return the paths of the session's events in code-point order, with counts by type."""
        touched: dict[str, tuple[dict[FileEventType, int], datetime]] = {}
        for event in self._tables.events_of(session_id):
            if event.file_path is None:
                continue
            counts, last = touched.setdefault(event.file_path, ({}, event.created_at))
            counts[event.event_type] = counts.get(event.event_type, 0) + 1
            touched[event.file_path] = (counts, max(last, event.created_at))
        return [
            FileTouch(file_path=path, counts=counts, last_event_at=last)
            for path, (counts, last) in sorted(touched.items())
        ]
