"""The in-memory adapters of the repository ports, over :class:`MemoryTables`.

Each repository works inside the store's transaction (the store holds its lock and the tables'
undo log around the work), so a method reads and writes the tables directly: the "row lock" of
the SQL repositories is the store's one lock. The rules the ports state (sequences from the
session's counter, cascades) are kept here; those of a session's timeline (``updated_at``
never moving back, events strictly later than everything before them) are the domain's
:mod:`agent_sessions.domain.timeline`, and those of its history (where it may be forked,
rewound, compacted, and whether a pop hides) :mod:`agent_sessions.domain.history`, which these
call as the SQL adapter does; the constraints live in the tables. Rewinds, compactions and the
copy a fork makes are in :mod:`~agent_sessions.infrastructure.memory.history_repository`.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from agent_sessions.domain import ports
from agent_sessions.domain.entities import (
    ERASURE_TABLES,
    FileEvent,
    FileEventType,
    FileTouch,
    MessageRole,
    NewMessage,
    Session,
    SessionMessage,
)
from agent_sessions.domain.history import POP_REWIND_REASON, ForkIds, pop_hides
from agent_sessions.domain.timeline import (
    appended_messages,
    check_expected_sequence,
    event_time,
)
from agent_sessions.domain.verification import missing_last_message
from agent_sessions.infrastructure.memory.history_repository import (
    copy_history,
    hide_after,
    latest_in_force,
    visible,
)
from agent_sessions.infrastructure.memory.repository_base import MemoryRepository
from agent_sessions.infrastructure.memory.tables import detached

__all__ = [
    "InMemoryFileEventRepository",
    "InMemorySessionMessageRepository",
    "InMemorySessionRepository",
]


def _newest_first(sessions: builtins.list[Session]) -> builtins.list[Session]:
    return sorted(sessions, key=lambda s: (s.created_at, s.id), reverse=True)


def _page(rows: builtins.list[Any], limit: int | None, offset: int) -> builtins.list[Any]:
    return rows[offset:] if limit is None else rows[offset : offset + limit]


class InMemorySessionRepository(MemoryRepository, ports.SessionRepository):
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
        forked_from: str | None = None,
        owner_id: str | None = None,
        external_id: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        updated_after: datetime | None = None,
        updated_before: datetime | None = None,
    ) -> builtins.list[Session]:
        """Return sessions newest first (``created_at`` then ``id``, both descending).

        Only those passing every filter given; the time bounds are strict.
        """
        found = [
            s
            for s in self._tables.sessions.values()
            if (actor_name is None or s.actor_name == actor_name)
            and (owner_id is None or s.owner_id == owner_id)
            and (external_id is None or s.external_id == external_id)
            and (after is None or (s.created_at, s.id) < after)
            and (forked_from is None or s.parent_session_id == forked_from)
            and (created_after is None or s.created_at > created_after)
            and (created_before is None or s.created_at < created_before)
            and (updated_after is None or s.updated_at > updated_after)
            and (updated_before is None or s.updated_at < updated_before)
        ]
        return [detached(s) for s in _page(_newest_first(found), limit, offset)]

    def set_hold(
        self, session_id: str, *, reason: str | None, held_at: datetime | None
    ) -> Session | None:
        """Write ``hold_reason`` and ``held_at`` only (``updated_at`` stays); None if absent."""
        session = self._tables.sessions.get(session_id)
        if session is None:
            return None
        held = dataclasses.replace(session, hold_reason=reason, held_at=held_at)
        self._tables.put_session(held)
        return detached(held)

    def owner_batch(
        self, owner_id: str, *, limit: int, held: bool = False
    ) -> builtins.list[Session]:
        """Return up to ``limit`` sessions of ``owner_id`` in ``id`` order."""
        found = sorted(
            (
                s
                for s in self._tables.sessions.values()
                if s.owner_id == owner_id and (not held or s.held)
            ),
            key=lambda s: s.id,
        )
        return [detached(s) for s in found[:limit]]

    def erase(self, session_ids: Sequence[str]) -> dict[str, int]:
        """Count the rows of these sessions in every table, as the SQL store does; delete them.

        The keys are the SQL table names; sessions already gone count 0.
        """
        tables = self._tables
        counts = dict.fromkeys(ERASURE_TABLES, 0)
        for session_id in dict.fromkeys(session_ids):
            if session_id not in tables.sessions:
                continue
            counts["sessions"] += 1
            counts["session_messages"] += len(tables.messages_of(session_id))
            counts["session_file_events"] += len(tables.events_of(session_id))
            counts["session_token_usage"] += sum(
                1 for owner, _ in tables.token_usage if owner == session_id
            )
            counts["session_rewinds"] += len(tables.rewinds_of(session_id))
            counts["session_compactions"] += len(tables.compactions_of(session_id))
            self.delete(session_id)
        return counts

    def fork(
        self, source_id: str, *, ids: ForkIds, fork: Session, at_sequence: int | None
    ) -> Session | None:
        """Copy the source's visible history up to ``at_sequence`` into ``fork``; None if absent.

        The source is read, not written: the store's lock keeps appends out meanwhile.
        """
        source = self._tables.sessions.get(source_id)
        if source is None:
            return None
        return copy_history(self._tables, source, ids=ids, fork=fork, at_sequence=at_sequence)

    def lineage(self, session_id: str) -> builtins.list[Session]:
        """Return the parents nearest first, up to one not stored or one already in the chain."""
        chain: builtins.list[Session] = []
        seen = {session_id}
        current = self._tables.sessions.get(session_id)
        while current is not None and current.parent_session_id is not None:
            parent = self._tables.sessions.get(current.parent_session_id)
            if parent is None or parent.id in seen:
                break
            chain.append(detached(parent))
            seen.add(parent.id)
            current = parent
        return chain

    def delete(self, session_id: str) -> bool:
        """Delete the session with its messages, events, receipts and history; False if absent."""
        tables = self._tables
        if session_id not in tables.sessions:
            return False
        for event in tables.events_of(session_id):
            tables.delete_file_event(event.id)
        for message in tables.messages_of(session_id):
            tables.delete_message(message.id)
        for compaction in tables.compactions_of(session_id):
            tables.delete_compaction(compaction.id)
        for rewind in tables.rewinds_of(session_id):
            tables.delete_rewind(rewind.id)
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


class InMemorySessionMessageRepository(MemoryRepository, ports.SessionMessageRepository):
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

    def pop_last(
        self, session_id: str, *, updated_at: datetime, rewind_id: str
    ) -> SessionMessage | None:
        """Delete the newest visible message, or hide it when ``pop_hides`` says so.

        Deleting steps the counter back and removes the message with its events; hiding
        rewinds to the visible message before it under ``rewind_id``.
        """
        tables = self._tables
        session = tables.sessions.get(session_id)
        if session is None or session.message_count == 0:
            return None
        last_sequence = session.message_count
        if tables.message_at(session_id, last_sequence) is None:
            raise missing_last_message(session_id, last_sequence)
        shown = visible(tables, session_id)
        if not shown:
            return None
        message = shown[-1]
        if pop_hides(message, last_sequence, latest_in_force(tables, session_id)):
            at = event_time(updated_at, session.updated_at)
            hide_after(
                tables,
                self._advance(session, at),
                rewind_id=rewind_id,
                to_sequence=shown[-2].sequence if len(shown) > 1 else 0,
                reason=POP_REWIND_REASON,
                created_at=at,
            )
            return detached(tables.messages[message.id])
        self._advance(session, updated_at, message_count=last_sequence - 1)
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
        self,
        session_id: str,
        after_sequence: int,
        limit: int,
        *,
        include_rewound: bool = True,
    ) -> builtins.list[SessionMessage]:
        """Return up to ``limit`` messages with a sequence above ``after_sequence``, ascending."""
        later = [
            m
            for m in self._tables.messages_of(session_id)
            if m.sequence > after_sequence and (include_rewound or m.rewound_by is None)
        ]
        return [detached(m) for m in later[:limit]]

    def insert_many(self, messages: Sequence[SessionMessage]) -> None:
        """Insert messages exactly as given."""
        for message in messages:
            self._tables.insert_message(message)

    def get_for_session(
        self,
        session_id: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        include_rewound: bool = False,
    ) -> builtins.list[SessionMessage]:
        """Return the visible messages (or all) in ascending sequence, paged by limit/offset."""
        rows = (
            self._tables.messages_of(session_id)
            if include_rewound
            else visible(self._tables, session_id)
        )
        return [detached(m) for m in _page(rows, limit, offset)]

    def recent_for_session(
        self, session_id: str, n: int, *, after_sequence: int = 0
    ) -> builtins.list[SessionMessage]:
        """Return the last ``n`` visible messages above ``after_sequence``, ascending."""
        later = [m for m in visible(self._tables, session_id) if m.sequence > after_sequence]
        return [detached(m) for m in later[-n:]] if n else []

    def at_sequence(self, session_id: str, sequence: int) -> SessionMessage | None:
        """Return the session's message at ``sequence``, visible or not, or None."""
        found = self._tables.message_at(session_id, sequence)
        return None if found is None else detached(found)

    def count_for_session(self, session_id: str) -> int:
        """Return how many messages the session's transcript holds."""
        return len(self._tables.messages_of(session_id))


class InMemoryFileEventRepository(MemoryRepository, ports.FileEventRepository):
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
        """Return the paths of the visible messages' events in code-point order, with counts."""
        touched: dict[str, tuple[dict[FileEventType, int], datetime]] = {}
        for event in self._tables.events_of(session_id):
            message = self._tables.messages.get(event.message_id)
            if event.file_path is None or message is None or message.rewound_by is not None:
                continue
            counts, last = touched.setdefault(event.file_path, ({}, event.created_at))
            counts[event.event_type] = counts.get(event.event_type, 0) + 1
            touched[event.file_path] = (counts, max(last, event.created_at))
        return [
            FileTouch(file_path=path, counts=counts, last_event_at=last)
            for path, (counts, last) in sorted(touched.items())
        ]
