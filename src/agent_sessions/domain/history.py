"""The rules of a session's history: where it may be forked, rewound and compacted.

A session's *transcript* is every message it ever held, numbered 1..n without gap; its
*visible history* is the transcript minus the messages a rewind hid. Forks copy visible
messages, rewinds hide them, compactions summarise them; nothing here deletes a message.

The rules are pure. Each store (SQL, in memory) reads what a rule needs under the session's row
lock and calls the rule, so that every store refuses the same requests with the same errors.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from agent_sessions.domain.entities import Compaction, MessageRole, Rewind, SessionMessage
from agent_sessions.domain.errors import InvalidInputError, SequenceConflictError
from agent_sessions.domain.windows import reach_back

__all__ = [
    "CROCKFORD_ALPHABET",
    "ID_NUMBER_DIGITS",
    "ID_PREFIX_LENGTH",
    "POP_REWIND_REASON",
    "ForkIds",
    "check_compaction_floor",
    "check_history_point",
    "check_undo",
    "compaction_boundary",
    "compaction_in_force",
    "compaction_order",
    "numbered_id",
    "pop_hides",
    "rewind_to_undo",
    "undo_order",
]

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""The 32 digits of a ULID (Crockford's base 32)."""

ID_PREFIX_LENGTH = 20
"""A numbered id is the first 20 characters of a fresh ULID..."""

ID_NUMBER_DIGITS = 6
"""...followed by a row number in 6 base-32 digits (up to 32**6 - 1 rows a copy)."""

POP_REWIND_REASON = "pop_message"
"""The ``reason`` of the rewind by which ``pop_message`` hides a message it cannot delete."""


def numbered_id(prefix: str, number: int) -> str:
    """Return the ULID-shaped id ``prefix`` + ``number`` in :data:`ID_NUMBER_DIGITS` digits.

    A fork copies its rows inside the database (``INSERT ... SELECT``), where no ULID can be
    drawn per row; each copied row gets the id made of a prefix drawn once for the fork and
    its row number, which SQL computes with the same alphabet. Ids of one copy sort in row
    order and stay unique across copies through the prefix's 50 random bits.
    """
    if len(prefix) != ID_PREFIX_LENGTH:
        raise ValueError(f"an id prefix has {ID_PREFIX_LENGTH} characters, got {len(prefix)}")
    if not 1 <= number < 32**ID_NUMBER_DIGITS:
        raise ValueError(f"a row number is from 1 to {32**ID_NUMBER_DIGITS - 1}, got {number}")
    digits = [
        CROCKFORD_ALPHABET[(number >> (5 * place)) & 31]
        for place in range(ID_NUMBER_DIGITS - 1, -1, -1)
    ]
    return prefix + "".join(digits)


@dataclass(frozen=True, slots=True)
class ForkIds:
    """The ids a fork writes, fixed before its first try so that a retry finds them.

    Attributes:
        session_id: the new session's id.
        message_prefix: the prefix of its copied messages' ids (:func:`numbered_id`).
        event_prefix: the prefix of its copied file events' ids.
        compaction_prefix: the prefix of its copied compactions' ids.

    """

    session_id: str
    message_prefix: str
    event_prefix: str
    compaction_prefix: str

    @classmethod
    def fresh(cls, new_id: Callable[[], str]) -> ForkIds:
        """Draw the new session's id from ``new_id`` (a ULID factory), and three prefixes.

        Each prefix is the new id's 10 time digits and 10 random ones. Not the first 20
        characters of further ULIDs: a monotonic factory makes the ULIDs of one millisecond
        by adding one, so those would share their first 20 characters, and two forks in the
        same millisecond would number their rows with the same ids.
        """
        session_id = new_id()

        def prefix() -> str:
            drawn = secrets.randbits(50)
            digits = (CROCKFORD_ALPHABET[(drawn >> (5 * place)) & 31] for place in range(10))
            return session_id[:10] + "".join(digits)

        return cls(
            session_id=session_id,
            message_prefix=prefix(),
            event_prefix=prefix(),
            compaction_prefix=prefix(),
        )


def check_history_point(
    argument: str,
    sequence: int,
    last_sequence: int,
    message: SessionMessage | None,
) -> None:
    """Refuse a fork, rewind or compaction point that is not a visible message of the session.

    ``sequence`` is checked against the session's ``last_sequence`` (its ``message_count``)
    and ``message``, the message stored at that sequence (None when there is none). 0 is a
    point before every message and always allowed; the caller refuses it where it means
    nothing (a compaction of nothing). Raises :class:`InvalidInputError` naming ``argument``.
    """
    if sequence == 0:
        return
    if sequence > last_sequence:
        raise InvalidInputError(
            argument, f"is {sequence}, past the session's last sequence {last_sequence}"
        )
    if message is None:
        raise InvalidInputError(argument, f"is {sequence}, but no message holds that sequence")
    if message.rewound_by is not None:
        raise InvalidInputError(
            argument,
            f"is {sequence}, a message that rewind {message.rewound_by} hid from the visible "
            f"history; choose a visible message",
        )


def check_compaction_floor(through_sequence: int, latest: Compaction | None) -> None:
    """Refuse a compaction that covers nothing or less than the compaction in force.

    A compaction may cover an earlier one (or replace its summary at the same point), never
    stop short of it: the latest compaction is the one ``context_messages`` sends.
    """
    if through_sequence < 1:
        raise InvalidInputError(
            "through_sequence",
            "covers no visible message: what precedes the boundary (moved back before the "
            "assistant turn whose tool results follow it) is rewound, or tool results alone",
        )
    if latest is not None and through_sequence < latest.through_sequence:
        raise InvalidInputError(
            "through_sequence",
            f"is {through_sequence}, short of compaction {latest.id}, which covers up to "
            f"{latest.through_sequence}; a new compaction must cover at least as much",
        )


def compaction_boundary(
    through_sequence: int,
    following: SessionMessage | None,
    read_before: Callable[[SessionMessage], Sequence[SessionMessage]],
) -> int:
    """Return where a compaction through ``through_sequence`` really ends.

    ``following`` is the first visible message after ``through_sequence`` (None when there is
    none). When it is a tool result, the messages after the compaction would start with a
    result whose call the summary swallowed; the boundary then reaches back
    (:func:`~agent_sessions.domain.windows.reach_back`, with ``read_before`` reading visible
    messages) to just before the assistant turn that made the call. Returns 0 when that turn
    is the first visible message (nothing visible is left to compact: what precedes it, if
    anything, a rewind hid).
    """
    if following is None or following.role != MessageRole.TOOL:
        return through_sequence
    window = reach_back([following], read_before)
    if window[0].role == MessageRole.TOOL or not read_before(window[0]):
        return 0  # the turn that made the call opens the visible history: nothing precedes it
    return window[0].sequence - 1


def pop_hides(last_visible: SessionMessage, last_sequence: int, latest: Compaction | None) -> bool:
    """Return whether ``pop_message`` must hide ``last_visible`` rather than delete it.

    Deleting is only right for the transcript's last message (so numbers stay gapless) that
    no compaction in force covers (so a summary never outlives its source). Otherwise the
    message is hidden by a rewind to the visible message before it.
    """
    if last_visible.sequence != last_sequence:
        return True
    return latest is not None and latest.through_sequence >= last_visible.sequence


def check_undo(
    session_id: str,
    rewind: Rewind | None,
    last_sequence: int,
    in_force: Iterable[Compaction] = (),
) -> Rewind:
    """Return the rewind to undo, or refuse.

    ``rewind`` is the session's latest rewind that is not undone, ``in_force`` the
    session's compactions in force. Raises :class:`InvalidInputError` (naming
    ``session_id``) when there is none, or when a compaction in force was recorded after it:
    the summary was written without the messages the undo would put back after it (a tool
    result among them could follow the summary without its call), and the compaction the
    rewind hid would come back to stand beside it. Raises :class:`SequenceConflictError`
    when messages were appended after it (the session's last sequence moved past the
    rewind's ``through_sequence``): those messages would be interleaved with the ones it hid.

    "After" is by ``created_at``, which the stores make strictly increase along a session's
    rewinds and compactions in the order they take its lock
    (:func:`~agent_sessions.domain.timeline.event_time`).
    """
    if rewind is None:
        raise InvalidInputError("session_id", f"session {session_id} has no rewind to undo")
    later = [c for c in in_force if c.created_at > rewind.created_at]
    if later:
        raise InvalidInputError(
            "session_id",
            f"compaction {later[0].id} of session {session_id} was recorded after rewind "
            f"{rewind.id}; undoing the rewind would put messages back behind a summary written "
            f"without them; nothing was undone",
        )
    if last_sequence != rewind.through_sequence:
        raise SequenceConflictError(
            session_id,
            rewind.through_sequence,
            last_sequence,
            outcome=f"messages were appended after rewind {rewind.id}; nothing was undone",
        )
    return rewind


def undo_order(rewind: Rewind) -> tuple[int, int, str, str]:
    """Sort key of rewinds in the order their locks were held (the largest came last).

    Not their clock: two rewinds of one session read the clock before they queue on its row
    lock, so ``created_at`` may disagree with the order in which they took effect. The lock
    order follows from the rules instead. A later rewind has a ``through_sequence`` at least
    as high (the transcript only grows past a rewind's hidden messages), and with the same
    one, a lower ``to_sequence`` (it must hide a message the earlier one left visible).
    ``created_at`` and the id only break ties that the rules cannot produce.
    """
    created = rewind.created_at.isoformat()
    return (rewind.through_sequence, -rewind.to_sequence, created, rewind.id)


def rewind_to_undo(rewinds: Iterable[Rewind]) -> Rewind | None:
    """Return the rewind ``undo_rewind`` undoes: the last not undone, by :func:`undo_order`."""
    holding = [rewind for rewind in rewinds if rewind.undone_at is None]
    return max(holding, key=undo_order, default=None)


def compaction_order(compaction: Compaction) -> tuple[int, str, str]:
    """Sort key of compactions in force, the one in force last: by ``through_sequence`` first.

    A compaction in force covers at least as much as every earlier one in force
    (:func:`check_compaction_floor`), so the furthest-reaching one is the latest whatever the
    clocks said; among equal ends, the one recorded last (``created_at``, then id).
    """
    return (compaction.through_sequence, compaction.created_at.isoformat(), compaction.id)


def compaction_in_force(compactions: Iterable[Compaction]) -> Compaction | None:
    """Return the compaction ``context_messages`` sends: the last in force, by its order."""
    in_force = [compaction for compaction in compactions if compaction.rewound_by is None]
    return max(in_force, key=compaction_order, default=None)
