"""Domain entities: sessions, their messages, the roles a message can have, and file events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "FileEvent",
    "FileEventType",
    "FileTouch",
    "MessageRole",
    "NewMessage",
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
        message_count: how many messages the session holds; also its last sequence number.
        created_at: when the session was created (timezone-aware UTC).
        updated_at: when the session, its messages or its file events last changed
            (timezone-aware UTC).
        external_id: the id a host tool gives the session (an opencode session id, an OpenAI
            Agents SDK session id...), unique per actor, or None.

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

    """

    id: str
    session_id: str
    sequence: int
    role: MessageRole
    content: str
    metadata: dict[str, Any] = field(hash=False)
    token_count: int | None
    created_at: datetime


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
