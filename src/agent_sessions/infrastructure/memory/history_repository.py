"""A session's history in memory: rewinds and compactions, and the copy a fork makes.

The rules of where a session may be forked, rewound and compacted are
:mod:`agent_sessions.domain.history`'s; the functions here read what a rule needs from the
tables and write what the ports say, as the SQL adapter does in its statements. They run
under the store's one lock, which stands for the session's row lock.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from agent_sessions.domain import ports
from agent_sessions.domain.entities import Compaction, Rewind, Session, SessionMessage
from agent_sessions.domain.errors import SessionNotFoundError
from agent_sessions.domain.history import (
    ForkIds,
    check_compaction_floor,
    check_history_point,
    check_undo,
    compaction_boundary,
    compaction_in_force,
    numbered_id,
    rewind_to_undo,
)
from agent_sessions.domain.timeline import event_time
from agent_sessions.infrastructure.memory.repository_base import MemoryRepository
from agent_sessions.infrastructure.memory.tables import MemoryTables, detached

__all__ = ["InMemoryHistoryRepository", "copy_history", "hide_after", "latest_in_force", "visible"]


def visible(tables: MemoryTables, session_id: str) -> builtins.list[SessionMessage]:
    """Return the session's visible messages (no rewind hid them) in ascending sequence."""
    return [m for m in tables.messages_of(session_id) if m.rewound_by is None]


def latest_in_force(tables: MemoryTables, session_id: str) -> Compaction | None:
    """Return the session's compaction in force (no rewind hid it) recorded last, or None."""
    return compaction_in_force(tables.compactions_of(session_id))


def hide_after(
    tables: MemoryTables,
    session: Session,
    *,
    rewind_id: str,
    to_sequence: int,
    reason: str | None,
    created_at: datetime,
) -> Rewind:
    """Record a rewind of ``session`` to ``to_sequence`` and hide what follows under it.

    The visible messages after ``to_sequence`` and the compactions in force that end after
    it take the rewind's id in ``rewound_by``; the rewind spans up to the session's
    ``message_count``. The caller has checked the point and moved the session's time.
    """
    rewind = Rewind(
        id=rewind_id,
        session_id=session.id,
        to_sequence=to_sequence,
        through_sequence=session.message_count,
        reason=reason,
        created_at=created_at,
    )
    tables.insert_rewind(rewind)
    for message in visible(tables, session.id):
        if message.sequence > to_sequence:
            tables.put_message(dataclasses.replace(message, rewound_by=rewind_id))
    for compaction in tables.compactions_of(session.id):
        if compaction.rewound_by is None and compaction.through_sequence > to_sequence:
            tables.put_compaction(dataclasses.replace(compaction, rewound_by=rewind_id))
    return rewind


def copy_history(
    tables: MemoryTables,
    source: Session,
    *,
    ids: ForkIds,
    fork: Session,
    at_sequence: int | None,
) -> Session:
    """Insert ``fork`` with copies of ``source``'s visible history up to ``at_sequence``.

    What :meth:`~agent_sessions.domain.ports.SessionRepository.fork` states, row by row in
    the order the SQL copy numbers them: messages by sequence, file events in the order
    recorded, compactions in the order recorded. Returns the stored fork.
    """
    point = source.message_count
    if at_sequence is not None:
        found = tables.message_at(source.id, at_sequence)
        check_history_point("at_sequence", at_sequence, source.message_count, found)
        point = at_sequence
    copied = [m for m in visible(tables, source.id) if m.sequence <= point]
    stored = dataclasses.replace(
        fork,
        parent_session_id=source.id,
        forked_at_sequence=point,
        message_count=len(copied),
    )
    tables.insert_session(stored)
    copy_of: dict[str, str] = {}
    for number, message in enumerate(copied, start=1):
        copy = dataclasses.replace(
            message,
            id=numbered_id(ids.message_prefix, number),
            session_id=stored.id,
            sequence=number,
            rewound_by=None,
        )
        tables.insert_message(copy)
        copy_of[message.id] = copy.id
    events = [e for e in tables.events_of(source.id) if e.message_id in copy_of]
    for number, event in enumerate(events, start=1):
        tables.insert_file_event(
            dataclasses.replace(
                event,
                id=numbered_id(ids.event_prefix, number),
                session_id=stored.id,
                message_id=copy_of[event.message_id],
            )
        )
    compactions = [
        c
        for c in tables.compactions_of(source.id)
        if c.rewound_by is None and c.through_sequence <= point
    ]
    for number, compaction in enumerate(compactions, start=1):
        covered = sum(1 for m in copied if m.sequence <= compaction.through_sequence)
        tables.insert_compaction(
            dataclasses.replace(
                compaction,
                id=numbered_id(ids.compaction_prefix, number),
                session_id=stored.id,
                through_sequence=covered,
            )
        )
    return detached(stored)


class InMemoryHistoryRepository(MemoryRepository, ports.HistoryRepository):
    """Rewinds and compactions in the tables' ``rewinds`` and ``compactions``."""

    def _locked(self, session_id: str) -> Session:
        session = self._tables.sessions.get(session_id)
        if session is None:
            raise SessionNotFoundError(session_id)
        return session

    def rewind(
        self,
        session_id: str,
        *,
        rewind_id: str,
        to_sequence: int,
        reason: str | None,
        created_at: datetime,
    ) -> Rewind | None:
        """Check the point, then hide the visible messages after it; None when there are none."""
        session = self._locked(session_id)
        found = self._tables.message_at(session_id, to_sequence)
        check_history_point("to_sequence", to_sequence, session.message_count, found)
        if not any(m.sequence > to_sequence for m in visible(self._tables, session_id)):
            return None
        at = event_time(created_at, session.updated_at)
        moved = self._advance(session, at)
        return hide_after(
            self._tables,
            moved,
            rewind_id=rewind_id,
            to_sequence=to_sequence,
            reason=reason,
            created_at=at,
        )

    def undo_rewind(self, session_id: str, *, undone_at: datetime) -> Rewind:
        """Show again what the latest rewind that holds hid, if nothing was appended after it."""
        session = self._locked(session_id)
        latest = rewind_to_undo(self._tables.rewinds_of(session_id))
        in_force = [c for c in self._tables.compactions_of(session_id) if c.rewound_by is None]
        rewind = check_undo(session_id, latest, session.message_count, in_force)
        undone_at = event_time(undone_at, session.updated_at)
        self._advance(session, undone_at)
        for message in self._tables.messages_of(session_id):
            if message.rewound_by == rewind.id:
                self._tables.put_message(dataclasses.replace(message, rewound_by=None))
        for compaction in self._tables.compactions_of(session_id):
            if compaction.rewound_by == rewind.id:
                self._tables.put_compaction(dataclasses.replace(compaction, rewound_by=None))
        undone = dataclasses.replace(rewind, undone_at=undone_at)
        self._tables.put_rewind(undone)
        return undone

    def compact(
        self,
        session_id: str,
        *,
        compaction_id: str,
        through_sequence: int,
        summary: str,
        metadata: dict[str, Any],
        token_count: int | None,
        created_at: datetime,
    ) -> Compaction:
        """Check the point, move it off a tool result, check it covers enough, and store it."""
        session = self._locked(session_id)
        found = self._tables.message_at(session_id, through_sequence)
        check_history_point("through_sequence", through_sequence, session.message_count, found)
        shown = visible(self._tables, session_id)
        following = next((m for m in shown if m.sequence > through_sequence), None)

        def read_before(message: SessionMessage) -> Sequence[SessionMessage]:
            return [m for m in shown if m.sequence < message.sequence]

        through = compaction_boundary(through_sequence, following, read_before)
        check_compaction_floor(through, latest_in_force(self._tables, session_id))
        created_at = event_time(created_at, session.updated_at)
        self._advance(session, created_at)
        compaction = Compaction(
            id=compaction_id,
            session_id=session_id,
            through_sequence=through,
            summary=summary,
            metadata=metadata,
            token_count=token_count,
            created_at=created_at,
        )
        self._tables.insert_compaction(compaction)
        return detached(compaction)

    def latest_compaction(self, session_id: str) -> Compaction | None:
        """Return the session's compaction in force recorded last, or None."""
        found = latest_in_force(self._tables, session_id)
        return None if found is None else detached(found)

    def rewinds(self, session_id: str) -> builtins.list[Rewind]:
        """Return the session's rewinds, undone ones included, in the order recorded."""
        return self._tables.rewinds_of(session_id)

    def compactions(self, session_id: str) -> builtins.list[Compaction]:
        """Return the session's compactions, hidden ones included, in the order recorded."""
        return [detached(c) for c in self._tables.compactions_of(session_id)]

    def get_rewind(self, rewind_id: str) -> Rewind | None:
        """Return the rewind with this id, or None."""
        return self._tables.rewinds.get(rewind_id)

    def get_compaction(self, compaction_id: str) -> Compaction | None:
        """Return the compaction with this id, or None."""
        found = self._tables.compactions.get(compaction_id)
        return None if found is None else detached(found)

    def insert_many(self, rewinds: Sequence[Rewind], compactions: Sequence[Compaction]) -> None:
        """Insert rewinds, then compactions, exactly as given."""
        for rewind in rewinds:
            self._tables.insert_rewind(rewind)
        for compaction in compactions:
            self._tables.insert_compaction(compaction)
