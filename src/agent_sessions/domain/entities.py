"""Domain entities: sessions, their messages, the roles a message can have, and file events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "ERASURE_TABLES",
    "Compaction",
    "ErasureReceipt",
    "FileEvent",
    "FileEventType",
    "FileTouch",
    "MessageRole",
    "NewMessage",
    "Rewind",
    "Session",
    "SessionMessage",
]


class MessageRole(StrEnum):
    """Who wrote a message. Plain strings with these values are accepted wherever a role is."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class Session:
    """A conversation of one agent (the actor), with its running token totals.

    Attributes:
        id: 26-character ULID.
        actor_name: the agent or user the session belongs to.
        title: an optional human title.
        metadata: free JSON-serialisable data.
        prompt_tokens: prompt tokens used so far (only ever added to).
        completion_tokens: completion tokens used so far (only ever added to).
        message_count: how many messages the session's transcript holds, rewound ones
            included; also its last sequence number (numbers are never reused after a rewind).
        created_at: when the session was created (timezone-aware UTC).
        updated_at: when the session, its messages or its file events last changed
            (timezone-aware UTC).
        external_id: the id a host tool gives the session (an opencode session id, an OpenAI
            Agents SDK session id...), unique per actor, or None.
        parent_session_id: the session this one was forked from, or None. A reference, not
            a constraint: it stays when the parent is deleted, or was never imported.
        forked_at_sequence: the parent's sequence this session was forked at (0 for a fork
            of nothing), or None when the session is not a fork.
        owner_id: the end user or tenant the session belongs to (a name the caller chooses),
            or None.
        hold_reason: why the session is under a hold (retention never removes it), or None
            when it is not held.
        held_at: when the hold was set, or None.

    """

    id: str
    actor_name: str
    title: str | None
    metadata: dict[str, Any] = field(hash=False)
    prompt_tokens: int
    completion_tokens: int
    message_count: int
    created_at: datetime
    updated_at: datetime
    external_id: str | None = None
    parent_session_id: str | None = None
    forked_at_sequence: int | None = None
    owner_id: str | None = None
    hold_reason: str | None = None
    held_at: datetime | None = None

    @property
    def held(self) -> bool:
        """Whether the session is under a hold."""
        return self.hold_reason is not None

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class SessionMessage:
    """One message of a session, at its place in the session's gapless sequence.

    Attributes:
        id: 26-character ULID.
        session_id: the session the message belongs to.
        sequence: 1, 2, 3 ... within the session, with no gap.
        role: who wrote it.
        content: the text.
        metadata: free JSON-serialisable data.
        token_count: tokens of this message, when known.
        created_at: when it was appended (timezone-aware UTC); never earlier than its predecessor's.
        rewound_by: the id of the :class:`Rewind` that hid the message from the session's
            visible history, or None while it is visible.

    """

    id: str
    session_id: str
    sequence: int
    role: MessageRole
    content: str
    metadata: dict[str, Any] = field(hash=False)
    token_count: int | None
    created_at: datetime
    rewound_by: str | None = None

    @property
    def rewound(self) -> bool:
        """Whether a rewind hid the message (it stays in the transcript)."""
        return self.rewound_by is not None


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to append with :meth:`SessionService.append_messages` (not stored yet).

    Attributes:
        role: who wrote it (a :class:`MessageRole` or its string value).
        content: the text.
        metadata: free JSON-serialisable data, or None for an empty dict.
        token_count: tokens of this message, when known.

    """

    role: MessageRole | str
    content: str
    metadata: dict[str, Any] | None = field(default=None, hash=False)
    token_count: int | None = None


class FileEventType(StrEnum):
    """What an assistant message did to a file, or that it ran a command."""

    READ = "read"
    WRITE = "write"
    EDIT = "edit"
    DELETE = "delete"
    RENAME = "rename"
    COMMAND = "command"


@dataclass(frozen=True, slots=True)
class FileEvent:
    """One file operation or command of a message, in the order the session recorded them.

    Attributes:
        id: 26-character ULID.
        session_id: the session it belongs to.
        message_id: the message (of that session) that did it.
        event_type: what was done.
        file_path: the path acted on (required except for ``command`` events; for ``rename``,
            the path after the rename).
        diff: the change, as the host tool shows it (any size up to the limit), or None.
        command: the command line (``command`` events only), or None.
        created_at: when it was recorded (timezone-aware UTC); strictly later than every
            earlier event of the session, so the order recorded is the order of ``created_at``.

    """

    id: str
    session_id: str
    message_id: str
    event_type: FileEventType
    file_path: str | None
    diff: str | None
    command: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FileTouch:
    """A path a session touched: how many events of each type, and when the last one was.

    Attributes:
        file_path: the path.
        counts: events on the path by type; types without events are absent.
        last_event_at: when the latest event on the path was recorded.

    """

    file_path: str
    counts: dict[FileEventType, int] = field(hash=False)
    last_event_at: datetime

    @property
    def total(self) -> int:
        """All events on the path."""
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class Rewind:
    """A rewind of a session: the messages after ``to_sequence`` left its visible history.

    Nothing is deleted: the messages ``to_sequence + 1`` to ``through_sequence`` that were
    visible carry the rewind's id in ``rewound_by``, as do the compactions that covered any of
    them. Appends after the rewind continue at ``through_sequence + 1``.

    Attributes:
        id: 26-character ULID.
        session_id: the session rewound.
        to_sequence: the last sequence that stays visible (0: none stays).
        through_sequence: the session's last sequence when it was rewound.
        reason: why, as the caller put it, or None.
        created_at: when it was recorded (timezone-aware UTC).
        undone_at: when :meth:`~agent_sessions.domain.service.SessionService.undo_rewind`
            made its messages visible again, or None while it holds.

    """

    id: str
    session_id: str
    to_sequence: int
    through_sequence: int
    reason: str | None
    created_at: datetime
    undone_at: datetime | None = None

    @property
    def undone(self) -> bool:
        """Whether the rewind was undone."""
        return self.undone_at is not None


@dataclass(frozen=True, slots=True)
class Compaction:
    """A summary that stands for a session's visible messages up to ``through_sequence``.

    The messages it covers stay in the session; ``context_messages`` sends the latest
    compaction's summary in their place.

    Attributes:
        id: 26-character ULID.
        session_id: the session.
        through_sequence: the last sequence the summary covers.
        summary: the text that replaces the covered messages in the model's context.
        metadata: free JSON-serialisable data.
        token_count: tokens of the summary, when known.
        created_at: when it was recorded (timezone-aware UTC).
        rewound_by: the id of the rewind that hid a message it covers (and so hid it too),
            or None while it is in force.

    """

    id: str
    session_id: str
    through_sequence: int
    summary: str
    metadata: dict[str, Any] = field(hash=False)
    token_count: int | None
    created_at: datetime
    rewound_by: str | None = None


ERASURE_TABLES = (
    "sessions",
    "session_messages",
    "session_file_events",
    "session_token_usage",
    "session_rewinds",
    "session_compactions",
)
"""The tables an :class:`ErasureReceipt` counts: every table that holds rows of a session.

The SQL store derives its list from the schema and a test holds the two equal, so a table
added to the schema without being added here fails the build.
"""


@dataclass(frozen=True, slots=True)
class ErasureReceipt:
    """What ``erase_owner`` deleted: the owner's sessions and every row hanging off them.

    Attributes:
        owner_id: the owner erased.
        sessions: how many sessions were deleted.
        rows: rows deleted by table name (``sessions``, ``session_messages``,
            ``session_file_events``, ``session_token_usage``, ``session_rewinds``,
            ``session_compactions``), every table present even at 0.
        started_at: when the erasure began (timezone-aware UTC).
        finished_at: when its last batch committed.

    """

    owner_id: str
    sessions: int
    rows: dict[str, int] = field(hash=False)
    started_at: datetime
    finished_at: datetime
