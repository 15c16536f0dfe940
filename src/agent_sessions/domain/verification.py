"""The integrity report of a session store: what :meth:`SessionService.verify` finds.

A healthy store keeps these invariants, and a verifier reports each broken one as a
:class:`VerificationProblem` of a fixed kind:

- ``sequence_gap``: a session's sequences skip numbers (the detail names the missing ones);
- ``duplicate_sequence``: two or more messages of a session share a sequence;
- ``message_count_mismatch``: ``message_count`` differs from the number of stored messages;
- ``orphan_message``: messages whose session row does not exist;
- ``undecodable_json``: a ``metadata`` column that is not valid JSON, or JSON but not an object;
- ``tokens_below_messages``: ``prompt_tokens + completion_tokens`` is lower than the sum of the
  ``token_count`` recorded on the session's messages;
- ``misattributed_file_event``: file events of a session whose message belongs to another
  session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "DUPLICATE_SEQUENCE",
    "MESSAGE_COUNT_MISMATCH",
    "MISATTRIBUTED_FILE_EVENT",
    "ORPHAN_MESSAGE",
    "PROBLEM_KINDS",
    "SEQUENCE_GAP",
    "TOKENS_BELOW_MESSAGES",
    "UNDECODABLE_JSON",
    "ProblemKind",
    "VerificationProblem",
    "VerificationReport",
]

ProblemKind = Literal[
    "sequence_gap",
    "duplicate_sequence",
    "message_count_mismatch",
    "orphan_message",
    "undecodable_json",
    "tokens_below_messages",
    "misattributed_file_event",
]
"""The kinds of problem a verifier reports."""

SEQUENCE_GAP: Final = "sequence_gap"
DUPLICATE_SEQUENCE: Final = "duplicate_sequence"
MESSAGE_COUNT_MISMATCH: Final = "message_count_mismatch"
ORPHAN_MESSAGE: Final = "orphan_message"
UNDECODABLE_JSON: Final = "undecodable_json"
TOKENS_BELOW_MESSAGES: Final = "tokens_below_messages"
MISATTRIBUTED_FILE_EVENT: Final = "misattributed_file_event"

PROBLEM_KINDS: Final[tuple[ProblemKind, ...]] = (
    SEQUENCE_GAP,
    DUPLICATE_SEQUENCE,
    MESSAGE_COUNT_MISMATCH,
    ORPHAN_MESSAGE,
    UNDECODABLE_JSON,
    TOKENS_BELOW_MESSAGES,
    MISATTRIBUTED_FILE_EVENT,
)
"""Every kind of problem a verifier reports, in the order it checks them."""


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
