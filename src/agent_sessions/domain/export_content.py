"""The content of a verified export, as import reads it: the session and its records.

Import checks an export (the document of ``export_format`` or the stream of ``export_stream``,
with the records of ``export_records`` and ``export_history``) and turns it into these frozen
classes; the service then writes them under fresh ids. Old ids are kept only where a record
names another by id: a rewind's, so that the messages and compactions it hid can name its copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_sessions.domain.entities import FileEventType, MessageRole

__all__ = [
    "ExportedCompaction",
    "ExportedFileEvent",
    "ExportedMessage",
    "ExportedRewind",
    "ExportedSession",
]


@dataclass(frozen=True, slots=True)
class ExportedMessage:
    """A message read from a verified export document (its old id is not kept).

    ``rewound_by`` is the document's id of the rewind that hid it (None while visible, and
    always None before version 3).
    """

    sequence: int
    role: MessageRole
    content: str
    metadata: dict[str, Any]
    token_count: int | None
    created_at: datetime
    rewound_by: str | None = None


@dataclass(frozen=True, slots=True)
class ExportedFileEvent:
    """A file event read from a verified export document, linked to its message by sequence."""

    message_sequence: int
    event_type: FileEventType
    file_path: str | None
    diff: str | None
    command: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ExportedRewind:
    """A rewind read from a verified export (version 3), under the document's id for it.

    Import gives it a fresh id; ``id`` is kept only to link the messages and compactions that
    name it in their ``rewound_by``.
    """

    id: str
    to_sequence: int
    through_sequence: int
    reason: str | None
    created_at: datetime
    undone_at: datetime | None

    @property
    def holds(self) -> bool:
        """Whether the rewind still hides its messages (it was not undone)."""
        return self.undone_at is None


@dataclass(frozen=True, slots=True)
class ExportedCompaction:
    """A compaction read from a verified export (version 3); its old id is not kept.

    ``rewound_by`` is the document's id of the rewind that hid it, or None while in force.
    """

    through_sequence: int
    summary: str
    metadata: dict[str, Any]
    token_count: int | None
    created_at: datetime
    rewound_by: str | None


@dataclass(frozen=True, slots=True)
class ExportedSession:
    """A session read from a verified export document, with its messages in sequence order.

    ``external_id`` is None and ``file_events`` empty for a version 1 document; the parent,
    fork point, owner, rewinds and compactions are None or empty before version 3. The rewinds and
    compactions are ``export_history``'s records, in the order recorded.
    """

    actor_name: str
    title: str | None
    metadata: dict[str, Any]
    prompt_tokens: int
    completion_tokens: int
    created_at: datetime
    updated_at: datetime
    messages: tuple[ExportedMessage, ...]
    external_id: str | None = None
    file_events: tuple[ExportedFileEvent, ...] = ()
    parent_session_id: str | None = None
    forked_at_sequence: int | None = None
    rewinds: tuple[ExportedRewind, ...] = ()
    compactions: tuple[ExportedCompaction, ...] = ()
    owner_id: str | None = None
