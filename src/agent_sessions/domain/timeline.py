"""The rules of a session's timeline: how its ``updated_at`` moves and when its events happen.

Every adapter of the repository ports keeps these rules, and this module states them once:

- :func:`not_before`: a session's ``updated_at`` never moves back. A write that touches a
  session moves it to the write's time only when that is later, so a caller's clock that runs
  behind the stored time leaves the stored time as it is. (The SQL adapter applies the same
  rule inside its ``UPDATE`` statements, as ``statements.never_before``, which is its SQL form.)
- :func:`event_time`: a file event happens at the time the caller asked for, or one microsecond
  past the session's ``updated_at`` when that asked-for time is not later, so the events of a
  session strictly follow everything recorded before them, in the order recorded.
- :func:`appended_messages`: the messages of one append take the sequences reserved for them
  from the session's counter, consecutively in the order given, and all take the session's
  new ``updated_at`` as their time, so times never go back along the sequence.
- :func:`check_expected_sequence`: an optimistic append (one given an ``expected_sequence``)
  goes ahead only when the session's last sequence, its ``message_count``, is still the one
  the caller expects; the stores compare under the session's row lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from agent_sessions.domain.entities import MessageRole, NewMessage, SessionMessage
from agent_sessions.domain.errors import SequenceConflictError

__all__ = ["appended_messages", "check_expected_sequence", "event_time", "not_before"]

_ONE_MICROSECOND: Final = timedelta(microseconds=1)
"""The smallest step between two times of a session: the stores keep microseconds."""


def not_before(current: datetime, moment: datetime) -> datetime:
    """Return the ``updated_at`` a session gets when a write at ``moment`` touches it.

    Args:
        current: the session's stored ``updated_at``.
        moment: the time of the write.

    Returns:
        ``moment`` when it is later than ``current``, otherwise ``current``: the time never
        moves back.

    """
    return max(current, moment)


def event_time(requested: datetime, session_updated_at: datetime) -> datetime:
    """Return the time a file event is recorded at, strictly after the session's ``updated_at``.

    Args:
        requested: the ``created_at`` the caller asked for.
        session_updated_at: the session's stored ``updated_at`` (read under its row lock).

    Returns:
        ``requested`` when it is later than ``session_updated_at``, otherwise one microsecond
        past ``session_updated_at``. The session's ``updated_at`` then moves to this time, so
        the next event of the session is later still.

    """
    if requested > session_updated_at:
        return requested
    return session_updated_at + _ONE_MICROSECOND


def appended_messages(
    session_id: str,
    *,
    first_sequence: int,
    message_ids: Sequence[str],
    messages: Sequence[NewMessage],
    stored_at: datetime,
) -> list[SessionMessage]:
    """Return the messages of one append as they are stored, once their sequences are reserved.

    Args:
        session_id: the session they are appended to.
        first_sequence: the first sequence reserved for them (the old ``message_count`` + 1).
        message_ids: their ids, one per message, fixed before the first attempt.
        messages: what to append, in order.
        stored_at: the session's new ``updated_at``: :func:`not_before` of its old one and the
            time of the append.

    Returns:
        One :class:`~agent_sessions.domain.entities.SessionMessage` per message, at
        consecutive sequences from ``first_sequence``, all created at ``stored_at``, with the
        role as a :class:`~agent_sessions.domain.entities.MessageRole` and no metadata as
        ``{}``.

    """
    return [
        SessionMessage(
            id=message_id,
            session_id=session_id,
            sequence=first_sequence + offset,
            role=MessageRole(message.role),
            content=message.content,
            metadata=message.metadata or {},
            token_count=message.token_count,
            created_at=stored_at,
        )
        for offset, (message_id, message) in enumerate(zip(message_ids, messages, strict=True))
    ]


def check_expected_sequence(
    session_id: str, expected_sequence: int | None, message_count: int
) -> None:
    """Let an append go ahead only if the session still ends where its caller expects.

    Args:
        session_id: the session appended to.
        expected_sequence: the last sequence the caller expects, or None for no expectation.
        message_count: the session's ``message_count``, read under its row lock: its last
            sequence (0 for a session without messages).

    Raises:
        SequenceConflictError: ``expected_sequence`` is given and is not ``message_count``;
            the store then writes nothing.

    """
    if expected_sequence is not None and expected_sequence != message_count:
        raise SequenceConflictError(session_id, expected_sequence, message_count)
