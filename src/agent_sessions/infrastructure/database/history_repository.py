"""The SQLAlchemy adapter of the history repository port: rewinds and compactions.

A rewind is a row of ``session_rewinds`` and the id it leaves in ``rewound_by`` on the
messages (and compactions) it hid; a compaction is a row of ``session_compactions``. Every
write takes the session row lock first (:mod:`.session_lock`), reads what the rules of
:mod:`agent_sessions.domain.history` need under it, calls them, and only then writes.

The reads made under the lock are locking reads (``FOR UPDATE``): on MariaDB, whose
``REPEATABLE READ`` would otherwise answer from a snapshot taken before the lock was granted,
they see what the writer before this one committed. PostgreSQL reads the latest committed rows
in every statement anyway, and SQLAlchemy leaves the clause out on SQLite, whose writers
hold the database's write lock.

How it is bound and retried: :class:`~.repository_base.BoundRepository`.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Table, insert, select, update

from agent_sessions.domain import ports
from agent_sessions.domain.entities import Compaction, Rewind, SessionMessage
from agent_sessions.domain.errors import SessionNotFoundError
from agent_sessions.domain.history import (
    check_compaction_floor,
    check_history_point,
    check_undo,
    compaction_boundary,
)
from agent_sessions.domain.timeline import event_time
from agent_sessions.infrastructure.database.mapping import (
    compaction_from_row,
    compaction_to_values,
    message_from_row,
    rewind_from_row,
    rewind_to_values,
)
from agent_sessions.infrastructure.database.repository_base import BoundRepository
from agent_sessions.infrastructure.database.retry import database_retry
from agent_sessions.infrastructure.database.session_lock import (
    lock_session,
    session_clock,
    touch_session,
)
from agent_sessions.infrastructure.database.statements import (
    COMPACTIONS,
    DIRECT_LATEST_COMPACTION,
    LATEST_COMPACTION_LOCKED,
    MESSAGES,
    REWINDS,
)

__all__ = [
    "HistoryRepository",
    "checked_point",
    "hide_after",
    "latest_compaction_locked",
    "message_at",
    "visible_before",
]

_BACK_PAGE = 32
"""How many visible messages one read back from a compaction's boundary returns."""


def message_at(connection: Connection, session_id: str, sequence: int) -> SessionMessage | None:
    """Return the message at ``sequence``, visible or not, by a locking read (None if absent)."""
    row = connection.execute(
        select(MESSAGES)
        .where(MESSAGES.c.session_id == session_id, MESSAGES.c.sequence == sequence)
        .with_for_update()
    ).first()
    return None if row is None else message_from_row(row)


def checked_point(
    connection: Connection, argument: str, session_id: str, sequence: int, last_sequence: int
) -> None:
    """Refuse a point that is not 0 or a visible message (``check_history_point``)."""
    held = message_at(connection, session_id, sequence) if 0 < sequence <= last_sequence else None
    check_history_point(argument, sequence, last_sequence, held)


def visible_before(
    connection: Connection, session_id: str, sequence: int, limit: int = _BACK_PAGE
) -> builtins.list[SessionMessage]:
    """Return up to ``limit`` visible messages just before ``sequence``, ascending (locking)."""
    rows = connection.execute(
        select(MESSAGES)
        .where(
            MESSAGES.c.session_id == session_id,
            MESSAGES.c.sequence < sequence,
            MESSAGES.c.rewound_by.is_(None),
        )
        .order_by(MESSAGES.c.sequence.desc())
        .limit(limit)
        .with_for_update()
    ).all()
    return [message_from_row(row) for row in reversed(rows)]


def _first_visible_after(
    connection: Connection, session_id: str, sequence: int
) -> SessionMessage | None:
    row = connection.execute(
        select(MESSAGES)
        .where(
            MESSAGES.c.session_id == session_id,
            MESSAGES.c.sequence > sequence,
            MESSAGES.c.rewound_by.is_(None),
        )
        .order_by(MESSAGES.c.sequence)
        .limit(1)
        .with_for_update()
    ).first()
    return None if row is None else message_from_row(row)


def latest_compaction_locked(connection: Connection, session_id: str) -> Compaction | None:
    """Return the compaction in force created last, by a locking read (None if there is none)."""
    found = connection.execute(LATEST_COMPACTION_LOCKED, {"p_session_id": session_id}).first()
    return None if found is None else compaction_from_row(found)


def hide_after(connection: Connection, rewind: Rewind) -> None:
    """Store ``rewind`` and hide under it what it rewinds, in three statements.

    The visible messages after ``rewind.to_sequence`` and the compactions in force that end
    after it get the rewind's id in ``rewound_by``; messages and compactions an earlier
    rewind hid keep that one's id.
    """
    connection.execute(insert(REWINDS).values(rewind_to_values(rewind)))
    for table, end in (
        (MESSAGES, MESSAGES.c.sequence),
        (COMPACTIONS, COMPACTIONS.c.through_sequence),
    ):
        connection.execute(
            update(table)
            .where(
                table.c.session_id == rewind.session_id,
                end > rewind.to_sequence,
                table.c.rewound_by.is_(None),
            )
            .values(rewound_by=rewind.id)
        )


class HistoryRepository(BoundRepository, ports.HistoryRepository):
    """Stores rewinds and compactions in ``session_rewinds`` and ``session_compactions``."""

    def _locked(self, session_id: str) -> int:
        """Lock the session row and return its last sequence; refuse a missing session."""
        last = lock_session(self._connection, session_id)
        if last is None:
            raise SessionNotFoundError(session_id)
        return last

    @database_retry
    def rewind(
        self,
        session_id: str,
        *,
        rewind_id: str,
        to_sequence: int,
        reason: str | None,
        created_at: datetime,
    ) -> Rewind | None:
        """Hide the visible messages after ``to_sequence`` under a new rewind, or return None.

        Under the row lock: the point is checked, then one read finds whether any visible
        message follows it (None, and nothing written, when not); then :func:`hide_after`.
        """
        connection = self._connection
        last = self._locked(session_id)
        checked_point(connection, "to_sequence", session_id, to_sequence, last)
        if _first_visible_after(connection, session_id, to_sequence) is None:
            return None
        at = event_time(created_at, session_clock(connection, session_id))
        rewind = Rewind(
            id=rewind_id,
            session_id=session_id,
            to_sequence=to_sequence,
            through_sequence=last,
            reason=reason,
            created_at=at,
        )
        hide_after(connection, rewind)
        touch_session(connection, session_id, at)
        return rewind

    @database_retry
    def undo_rewind(self, session_id: str, *, undone_at: datetime) -> Rewind:
        """Clear the latest holding rewind's id from messages and compactions; mark it undone."""
        connection = self._connection
        last = self._locked(session_id)
        row = connection.execute(
            select(REWINDS)
            .where(REWINDS.c.session_id == session_id, REWINDS.c.undone_at.is_(None))
            # domain.history.undo_order: the lock order, not the clocks' order
            .order_by(
                REWINDS.c.through_sequence.desc(),
                REWINDS.c.to_sequence.asc(),
                REWINDS.c.created_at.desc(),
                REWINDS.c.id.desc(),
            )
            .limit(1)
            .with_for_update()
        ).first()
        in_force = connection.execute(
            select(COMPACTIONS)
            .where(COMPACTIONS.c.session_id == session_id, COMPACTIONS.c.rewound_by.is_(None))
            .with_for_update()
        ).all()
        rewind = check_undo(
            session_id,
            None if row is None else rewind_from_row(row),
            last,
            [compaction_from_row(found) for found in in_force],
        )
        for table in (MESSAGES, COMPACTIONS):
            connection.execute(
                update(table).where(table.c.rewound_by == rewind.id).values(rewound_by=None)
            )
        at = event_time(undone_at, session_clock(connection, session_id))
        connection.execute(update(REWINDS).where(REWINDS.c.id == rewind.id).values(undone_at=at))
        touch_session(connection, session_id, at)
        return dataclasses.replace(rewind, undone_at=at)

    @database_retry
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
        """Check the point, move it off a tool call's results, check the floor, and store it."""
        connection = self._connection
        last = self._locked(session_id)
        checked_point(connection, "through_sequence", session_id, through_sequence, last)
        boundary = compaction_boundary(
            through_sequence,
            _first_visible_after(connection, session_id, through_sequence),
            lambda message: visible_before(connection, session_id, message.sequence),
        )
        check_compaction_floor(boundary, latest_compaction_locked(connection, session_id))
        at = event_time(created_at, session_clock(connection, session_id))
        compaction = Compaction(
            id=compaction_id,
            session_id=session_id,
            through_sequence=boundary,
            summary=summary,
            metadata=metadata,
            token_count=token_count,
            created_at=at,
        )
        connection.execute(insert(COMPACTIONS).values(compaction_to_values(compaction)))
        touch_session(connection, session_id, at)
        return compaction

    @database_retry
    def latest_compaction(self, session_id: str) -> Compaction | None:
        """Return the compaction in force created last (one read on the driver), or None."""
        rows = DIRECT_LATEST_COMPACTION.rows(self._connection, {"p_session_id": session_id})
        return compaction_from_row(rows[0]) if rows else None

    @database_retry
    def rewinds(self, session_id: str) -> builtins.list[Rewind]:
        """Return the session's rewinds in the order recorded (``created_at``, then ``id``)."""
        return [rewind_from_row(row) for row in self._in_order(REWINDS, session_id)]

    @database_retry
    def compactions(self, session_id: str) -> builtins.list[Compaction]:
        """Return the session's compactions in the order recorded (``created_at``, then ``id``)."""
        return [compaction_from_row(row) for row in self._in_order(COMPACTIONS, session_id)]

    @database_retry
    def get_rewind(self, rewind_id: str) -> Rewind | None:
        """Return the rewind with this id, or None."""
        row = self._by_id(REWINDS, rewind_id)
        return None if row is None else rewind_from_row(row)

    @database_retry
    def get_compaction(self, compaction_id: str) -> Compaction | None:
        """Return the compaction with this id, or None."""
        row = self._by_id(COMPACTIONS, compaction_id)
        return None if row is None else compaction_from_row(row)

    def _in_order(self, table: Table, session_id: str) -> Sequence[Row[Any]]:
        """Return the session's rows of ``table`` in the order recorded."""
        query = (
            select(table)
            .where(table.c.session_id == session_id)
            .order_by(table.c.created_at, table.c.id)
        )
        return self._connection.execute(query).all()

    def _by_id(self, table: Table, row_id: str) -> Row[Any] | None:
        """Return the row of ``table`` with this id, or None."""
        return self._connection.execute(select(table).where(table.c.id == row_id)).first()

    @database_retry
    def insert_many(self, rewinds: Sequence[Rewind], compactions: Sequence[Compaction]) -> None:
        """Insert rewinds, then compactions (which may point at them), as given.

        The messages a rewind hid point at it too: an import inserts them after this.
        """
        connection = self._connection
        if rewinds:
            connection.execute(insert(REWINDS), [rewind_to_values(rewind) for rewind in rewinds])
        if compactions:
            connection.execute(
                insert(COMPACTIONS),
                [compaction_to_values(compaction) for compaction in compactions],
            )
