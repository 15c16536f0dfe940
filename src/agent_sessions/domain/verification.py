"""The integrity report of a session store: what :meth:`SessionService.verify` finds.

A healthy store keeps these invariants, and a verifier reports each broken one as a
:class:`VerificationProblem` of a fixed kind:

- ``sequence_gap``: a session's sequences skip numbers (the detail names the missing ones);
- ``duplicate_sequence``: two or more messages of a session share a sequence;
- ``message_count_mismatch``: ``message_count`` differs from the number of stored messages;
- ``orphan_message``: messages whose session row does not exist;
- ``undecodable_json``: a ``metadata`` column that is not valid JSON, or JSON but not an object;
- ``tokens_below_messages``: ``prompt_tokens + completion_tokens`` is lower than the sum of the
  ``token_count`` recorded on the session's messages (not checked for a fork, whose copied
  messages keep the counts its parent spent while its own totals start at zero);
- ``misattributed_file_event``: file events of a session whose message belongs to another
  session;
- ``unexplained_rewound_message``: a rewound message whose ``rewound_by`` names no rewind of
  its session, a rewind that was undone, or one whose span ``(to_sequence,
  through_sequence]`` does not contain it;
- ``visible_message_in_rewind``: visible messages inside the span of a rewind that holds
  (every message there must be hidden, by it or by an earlier rewind);
- ``compaction_end_missing``: a compaction in force whose ``through_sequence`` names no
  stored message of its session, or lies past its ``message_count``;
- ``unexplained_rewound_compaction``: a hidden compaction whose ``rewound_by`` names no rewind
  of its session, a rewind that was undone, or one that keeps the compaction's end visible;
- ``fork_point_past_parent``: a fork's ``forked_at_sequence`` past the last sequence of its
  parent, when the parent is stored;
- ``own_parent``: a session whose ``parent_session_id`` is its own id.

The wording of each kind is defined here once, by one constructor function per kind
(:func:`sequence_gap`, :func:`duplicate_sequence`, ...): every verifier, whatever it reads,
builds its problems through them, so two stores report the same damage in the same words.
Where a rule needs more than a comparison (which rewind explains a rewound row),
:class:`HiderFacts` and :meth:`HiderFacts.fault` are the rule, shared the same way.
:func:`missing_last_message` is the error a store raises when it finds such damage while
removing a message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

from agent_sessions.domain.errors import DatabaseError

__all__ = [
    "COMPACTION_END_MISSING",
    "DUPLICATE_SEQUENCE",
    "FORK_POINT_PAST_PARENT",
    "MESSAGE_COUNT_MISMATCH",
    "METADATA_NOT_JSON",
    "METADATA_NOT_OBJECT",
    "MISATTRIBUTED_FILE_EVENT",
    "ORPHAN_MESSAGE",
    "OWN_PARENT",
    "PROBLEM_KINDS",
    "SEQUENCE_GAP",
    "TOKENS_BELOW_MESSAGES",
    "UNDECODABLE_JSON",
    "UNEXPLAINED_REWOUND_COMPACTION",
    "UNEXPLAINED_REWOUND_MESSAGE",
    "VISIBLE_MESSAGE_IN_REWIND",
    "HiderFacts",
    "ProblemKind",
    "VerificationProblem",
    "VerificationReport",
    "compaction_end_missing",
    "duplicate_sequence",
    "fork_point_past_parent",
    "message_count_mismatch",
    "misattributed_file_events",
    "missing_last_message",
    "orphan_messages",
    "own_parent",
    "report",
    "sequence_gap",
    "tokens_below_messages",
    "undecodable_message_metadata",
    "undecodable_session_metadata",
    "unexplained_rewound_compaction",
    "unexplained_rewound_message",
    "visible_messages_in_rewind",
]

ProblemKind = Literal[
    "sequence_gap",
    "duplicate_sequence",
    "message_count_mismatch",
    "orphan_message",
    "undecodable_json",
    "tokens_below_messages",
    "misattributed_file_event",
    "unexplained_rewound_message",
    "visible_message_in_rewind",
    "compaction_end_missing",
    "unexplained_rewound_compaction",
    "fork_point_past_parent",
    "own_parent",
]
"""The kinds of problem a verifier reports."""

SEQUENCE_GAP: Final = "sequence_gap"
DUPLICATE_SEQUENCE: Final = "duplicate_sequence"
MESSAGE_COUNT_MISMATCH: Final = "message_count_mismatch"
ORPHAN_MESSAGE: Final = "orphan_message"
UNDECODABLE_JSON: Final = "undecodable_json"
TOKENS_BELOW_MESSAGES: Final = "tokens_below_messages"
MISATTRIBUTED_FILE_EVENT: Final = "misattributed_file_event"
UNEXPLAINED_REWOUND_MESSAGE: Final = "unexplained_rewound_message"
VISIBLE_MESSAGE_IN_REWIND: Final = "visible_message_in_rewind"
COMPACTION_END_MISSING: Final = "compaction_end_missing"
UNEXPLAINED_REWOUND_COMPACTION: Final = "unexplained_rewound_compaction"
FORK_POINT_PAST_PARENT: Final = "fork_point_past_parent"
OWN_PARENT: Final = "own_parent"

PROBLEM_KINDS: Final[tuple[ProblemKind, ...]] = (
    SEQUENCE_GAP,
    DUPLICATE_SEQUENCE,
    MESSAGE_COUNT_MISMATCH,
    ORPHAN_MESSAGE,
    UNDECODABLE_JSON,
    TOKENS_BELOW_MESSAGES,
    MISATTRIBUTED_FILE_EVENT,
    UNEXPLAINED_REWOUND_MESSAGE,
    VISIBLE_MESSAGE_IN_REWIND,
    COMPACTION_END_MISSING,
    UNEXPLAINED_REWOUND_COMPACTION,
    FORK_POINT_PAST_PARENT,
    OWN_PARENT,
)
"""Every kind of problem a verifier reports, in the order it checks them."""

METADATA_NOT_JSON: Final = "is not valid JSON"
"""What is wrong with a ``metadata`` value that does not parse as JSON."""

METADATA_NOT_OBJECT: Final = "is JSON but not an object"
"""What is wrong with a ``metadata`` value that parses as JSON other than an object."""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@dataclass(frozen=True, slots=True)
class VerificationProblem:
    """One broken invariant of the stored sessions.

    Attributes:
        kind: one of :data:`PROBLEM_KINDS`.
        session_id: the session it concerns (for an orphan, the id its messages point to).
        detail: one sentence saying exactly what is wrong, for example
            ``"sequence 3 is missing"``.

    """

    kind: ProblemKind
    session_id: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        """Return ``{"kind", "session_id", "detail"}``, JSON-serialisable."""
        return {"kind": self.kind, "session_id": self.session_id, "detail": self.detail}

    def render(self) -> str:
        """Return the problem as one line: ``kind: session ID: detail``."""
        return f"{self.kind}: session {self.session_id}: {self.detail}"


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """What a verification checked and every problem it found.

    Attributes:
        sessions_checked: how many session rows were checked.
        messages_checked: how many message rows were checked (orphans included).
        problems: the problems found, grouped by session, in the order of :data:`PROBLEM_KINDS`
            within a session.
        session_id: the one session that was checked, or None when the whole store was.

    """

    sessions_checked: int
    messages_checked: int
    problems: tuple[VerificationProblem, ...] = ()
    session_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-serialisable dictionary.

        The keys are ``ok``, ``session_id``, ``sessions_checked``, ``messages_checked`` and
        ``problems`` (a list of :meth:`VerificationProblem.to_dict`).
        """
        return {
            "ok": self.ok,
            "session_id": self.session_id,
            "sessions_checked": self.sessions_checked,
            "messages_checked": self.messages_checked,
            "problems": [problem.to_dict() for problem in self.problems],
        }

    def summary(self) -> str:
        """Return one line: what was checked and how many problems were found."""
        checked = (
            f"checked {_plural(self.sessions_checked, 'session')} and "
            f"{_plural(self.messages_checked, 'message')}"
        )
        if self.session_id is not None:
            checked += f" of session {self.session_id}"
        found = "no problems" if self.ok else _plural(len(self.problems), "problem")
        return f"{checked}: {found}"

    def render(self) -> str:
        """Return the report as text: one line per problem, then the summary line."""
        return "\n".join([*(problem.render() for problem in self.problems), self.summary()])


def report(
    found: Iterable[VerificationProblem],
    *,
    sessions_checked: int,
    messages_checked: int,
    session_id: str | None,
) -> VerificationReport:
    """Return the report of a verification, its problems in the report's order.

    Args:
        found: every problem the checks found, each check's in the order it found them.
        sessions_checked: how many session rows were checked.
        messages_checked: how many message rows were checked (orphans included).
        session_id: the one session that was checked, or None for the whole store.

    Returns:
        The report, with the problems grouped by session id (ascending) and, within a session,
        in the order of :data:`PROBLEM_KINDS`; problems of one kind keep the order found.

    """
    ordered = sorted(found, key=lambda p: (p.session_id, PROBLEM_KINDS.index(p.kind)))
    return VerificationReport(
        sessions_checked=sessions_checked,
        messages_checked=messages_checked,
        problems=tuple(ordered),
        session_id=session_id,
    )


# --- one constructor per kind of problem: the one place each detail is worded ---------------


def _span(first: int, last: int) -> str:
    return f"sequence {first}" if first == last else f"sequences {first} to {last}"


def sequence_gap(session_id: str, first_missing: int, last_missing: int) -> VerificationProblem:
    """Return the problem of a session whose sequences skip ``first_missing..last_missing``.

    The detail reads ``"sequence 3 is missing"`` or ``"sequences 3 to 5 are missing"``.
    """
    verb = "is" if first_missing == last_missing else "are"
    detail = f"{_span(first_missing, last_missing)} {verb} missing"
    return VerificationProblem(SEQUENCE_GAP, session_id, detail)


def duplicate_sequence(session_id: str, sequence: int, holders: int) -> VerificationProblem:
    """Return the problem of ``holders`` (two or more) messages of a session at one sequence."""
    detail = f"sequence {sequence} is held by {holders} messages"
    return VerificationProblem(DUPLICATE_SEQUENCE, session_id, detail)


def message_count_mismatch(session_id: str, message_count: int, stored: int) -> VerificationProblem:
    """Return the problem of a session whose ``message_count`` is not its ``stored`` messages."""
    detail = f"message_count is {message_count} but {stored} messages are stored"
    return VerificationProblem(MESSAGE_COUNT_MISMATCH, session_id, detail)


def orphan_messages(session_id: str, count: int, first: int, last: int) -> VerificationProblem:
    """Return the problem of ``count`` messages, sequences ``first..last``, of an absent session.

    The detail reads ``"1 message (sequence 4) belongs to no stored session"`` or
    ``"2 messages (sequences 1 to 2) belong to no stored session"``.
    """
    verb = "belongs" if count == 1 else "belong"
    detail = f"{_plural(count, 'message')} ({_span(first, last)}) {verb} to no stored session"
    return VerificationProblem(ORPHAN_MESSAGE, session_id, detail)


def undecodable_session_metadata(session_id: str, fault: str) -> VerificationProblem:
    """Return the problem of a session's ``metadata`` that is not a JSON object.

    Args:
        session_id: the session.
        fault: :data:`METADATA_NOT_JSON` or :data:`METADATA_NOT_OBJECT`.

    """
    return VerificationProblem(UNDECODABLE_JSON, session_id, f"the session's metadata {fault}")


def undecodable_message_metadata(
    session_id: str, message_id: str, sequence: int, fault: str
) -> VerificationProblem:
    """Return the problem of a message's ``metadata`` that is not a JSON object.

    Args:
        session_id: the session the message names.
        message_id: the message.
        sequence: its sequence.
        fault: :data:`METADATA_NOT_JSON` or :data:`METADATA_NOT_OBJECT`.

    """
    detail = f"the metadata of message {message_id} (sequence {sequence}) {fault}"
    return VerificationProblem(UNDECODABLE_JSON, session_id, detail)


def tokens_below_messages(
    session_id: str, prompt_tokens: int, completion_tokens: int, recorded: int
) -> VerificationProblem:
    """Return the problem of token totals below the ``recorded`` sum of the messages' counts."""
    detail = (
        f"prompt_tokens + completion_tokens = {prompt_tokens} + {completion_tokens} = "
        f"{prompt_tokens + completion_tokens}, below the {recorded} tokens recorded on its "
        f"messages"
    )
    return VerificationProblem(TOKENS_BELOW_MESSAGES, session_id, detail)


def misattributed_file_events(
    session_id: str, count: int, other_session_id: str
) -> VerificationProblem:
    """Return the problem of ``count`` events of a session naming a message of another one."""
    detail = (
        f"{_plural(count, 'file event')} of this session name a message of session "
        f"{other_session_id}"
    )
    return VerificationProblem(MISATTRIBUTED_FILE_EVENT, session_id, detail)


@dataclass(frozen=True, slots=True)
class HiderFacts:
    """What a verifier read of the rewind a hidden row names in its ``rewound_by``.

    Attributes:
        session_id: the rewind's session, or None when no rewind has that id.
        to_sequence: its last sequence left visible (None when there is no such rewind).
        through_sequence: its session's last sequence when it was made (None likewise).
        undone: whether it was undone.

    """

    session_id: str | None
    to_sequence: int | None = None
    through_sequence: int | None = None
    undone: bool = False

    def fault(self, owner: str, sequence: int, *, whole_span: bool = True) -> str | None:
        """Return why this rewind does not explain a hidden row of ``owner``, or None.

        A rewind explains a message at ``sequence`` when it belongs to the message's session,
        holds, and its span ``(to_sequence, through_sequence]`` contains it. For a compaction
        ending at ``sequence`` (``whole_span=False``) only ``to_sequence < sequence`` is asked:
        a rewind hides the compactions in force that end after its point.
        """
        if self.session_id != owner or self.to_sequence is None or self.through_sequence is None:
            return "which is no rewind of this session"
        if self.undone:
            return "which was undone"
        first, last = self.to_sequence + 1, self.through_sequence
        if sequence < first:
            return f"which keeps the sequences up to {self.to_sequence} visible"
        if whole_span and sequence > last:
            return f"which hides {_span(first, last)}"
        return None


def unexplained_rewound_message(
    session_id: str, message_id: str, sequence: int, rewind_id: str, fault: str
) -> VerificationProblem:
    """Return the problem of a rewound message that its ``rewound_by`` does not explain.

    ``fault`` is what :meth:`HiderFacts.fault` says of the rewind ``rewind_id``.
    """
    detail = f"message {message_id} (sequence {sequence}) is hidden by rewind {rewind_id}, {fault}"
    return VerificationProblem(UNEXPLAINED_REWOUND_MESSAGE, session_id, detail)


def visible_messages_in_rewind(
    session_id: str, rewind_id: str, span: tuple[int, int], visible: tuple[int, int, int]
) -> VerificationProblem:
    """Return the problem of visible messages inside the span of a rewind that holds.

    Args:
        session_id: the session.
        rewind_id: the rewind that holds.
        span: its ``(to_sequence, through_sequence)``.
        visible: ``(count, first, last)`` of the visible messages inside it.

    The detail reads ``"1 visible message (sequence 5) lies inside rewind R, which hides
    sequences 4 to 6"``.

    """
    count, first, last = visible
    verb = "lies" if count == 1 else "lie"
    detail = (
        f"{_plural(count, 'visible message')} ({_span(first, last)}) {verb} inside rewind "
        f"{rewind_id}, which hides {_span(span[0] + 1, span[1])}"
    )
    return VerificationProblem(VISIBLE_MESSAGE_IN_REWIND, session_id, detail)


def compaction_end_missing(
    session_id: str, compaction_id: str, through_sequence: int, message_count: int
) -> VerificationProblem:
    """Return the problem of a compaction in force that ends outside the stored transcript.

    Its ``through_sequence`` names no stored message, or lies past ``message_count``.
    """
    detail = (
        f"compaction {compaction_id}, in force, ends at sequence {through_sequence}, outside "
        f"the stored transcript (message_count is {message_count})"
    )
    return VerificationProblem(COMPACTION_END_MISSING, session_id, detail)


def unexplained_rewound_compaction(
    session_id: str, compaction_id: str, through_sequence: int, rewind_id: str, fault: str
) -> VerificationProblem:
    """Return the problem of a hidden compaction that its ``rewound_by`` does not explain.

    ``fault`` is what :meth:`HiderFacts.fault` says of the rewind ``rewind_id``.
    """
    detail = (
        f"compaction {compaction_id} (through sequence {through_sequence}) is hidden by rewind "
        f"{rewind_id}, {fault}"
    )
    return VerificationProblem(UNEXPLAINED_REWOUND_COMPACTION, session_id, detail)


def fork_point_past_parent(
    session_id: str, forked_at_sequence: int, parent_id: str, parent_message_count: int
) -> VerificationProblem:
    """Return the problem of a fork whose point lies past its stored parent's last sequence."""
    detail = (
        f"forked at sequence {forked_at_sequence} of session {parent_id}, whose last sequence "
        f"is {parent_message_count}"
    )
    return VerificationProblem(FORK_POINT_PAST_PARENT, session_id, detail)


def own_parent(session_id: str) -> VerificationProblem:
    """Return the problem of a session that names itself as the session it was forked from."""
    return VerificationProblem(OWN_PARENT, session_id, "names itself as its parent")


def missing_last_message(session_id: str, message_count: int) -> DatabaseError:
    """Return the error of removing the newest message when none is at ``message_count``.

    A store raises it from ``pop_last`` (see
    :meth:`~agent_sessions.domain.ports.SessionMessageRepository.pop_last`) and writes
    nothing: the counter and the messages disagree, which :func:`sequence_gap` or
    :func:`message_count_mismatch` then reports.
    """
    return DatabaseError(
        f"session {session_id} counts {message_count} messages but holds none at sequence "
        f"{message_count}; nothing was removed (run verify to see what is damaged)"
    )
