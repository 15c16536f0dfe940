"""The session row lock that a fork, a rewind, a compaction and a pop take first.

An append locks the session row with the ``UPDATE`` that bumps its counter; the writes of a
session's history take the same lock the same way, with an ``UPDATE`` of the row, so they
queue with appends in one order (the session row, then its messages) and cannot deadlock with
them. SQLite's writers hold the database's write lock already (``BEGIN IMMEDIATE``); the
``UPDATE`` takes it there too when a transaction began without it.

The locking ``UPDATE`` changes nothing: whether the write happens at all (a rewind to the
current end, a pop of a session without a visible message) is known only after the reads it
makes under the lock, and a write that does not happen leaves the session as it was. Once it
happens, :func:`touch_session` moves ``updated_at`` by the timeline's rule.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Integer, bindparam, select, update

from agent_sessions.infrastructure.database.statements import SESSIONS, never_before
from agent_sessions.infrastructure.database.types import UTCDateTime

__all__ = ["lock_session", "session_clock", "touch_session"]

_LOCK = (
    update(SESSIONS)
    .where(SESSIONS.c.id == bindparam("p_session_id"))
    .values(message_count=SESSIONS.c.message_count)
)
_LOCK_RETURNING = _LOCK.returning(SESSIONS.c.message_count)
_COUNT = (
    select(SESSIONS.c.message_count)
    .where(SESSIONS.c.id == bindparam("p_session_id"))
    .with_for_update()
)
_TOUCH = (
    update(SESSIONS)
    .where(SESSIONS.c.id == bindparam("p_session_id"))
    .values(
        message_count=SESSIONS.c.message_count - bindparam("p_released", type_=Integer()),
        updated_at=never_before(SESSIONS.c.updated_at, bindparam("p_at", type_=UTCDateTime())),
    )
)


def lock_session(connection: Connection, session_id: str) -> int | None:
    """Lock the session row and return its ``message_count`` (its last sequence), or None.

    None when the session does not exist. The count is read after the lock, by ``RETURNING``
    or, on MariaDB/MySQL, by a ``SELECT ... FOR UPDATE``: a locking read, which sees the
    latest committed row. (A plain read would answer from the transaction's snapshot there,
    since an ``UPDATE`` that changes no value leaves no version of its own to read.)
    """
    parameters = {"p_session_id": session_id}
    if connection.dialect.update_returning:
        count = connection.execute(_LOCK_RETURNING, parameters).scalar()
    elif connection.execute(_LOCK, parameters).rowcount == 0:
        count = None
    else:
        count = connection.execute(_COUNT, parameters).scalar()
    return None if count is None else int(count)


_CLOCK = select(SESSIONS.c.updated_at).where(SESSIONS.c.id == bindparam("p_session_id"))


def session_clock(connection: Connection, session_id: str) -> datetime:
    """Return the locked session's ``updated_at``, for the history's strictly later times.

    Read after :func:`lock_session` in the same transaction: the row is locked, and on
    MariaDB the locking read of ``lock_session`` already moved the snapshot past its last
    writer (``FOR UPDATE`` again here keeps that true whatever ran in between).
    """
    clock = connection.execute(_CLOCK.with_for_update(), {"p_session_id": session_id}).scalar_one()
    assert isinstance(clock, datetime)
    return clock


def touch_session(
    connection: Connection, session_id: str, at: datetime, *, released: int = 0
) -> None:
    """Move the locked session's ``updated_at`` to ``at`` unless it is later.

    ``released`` steps ``message_count`` back by that many (a pop that deletes the last
    message), in the same ``UPDATE``.
    """
    connection.execute(_TOUCH, {"p_session_id": session_id, "p_at": at, "p_released": released})
