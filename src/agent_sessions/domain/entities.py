"""Domain entities: sessions, their messages and the roles a message can have."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["MessageRole", "Session", "SessionMessage"]


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
        updated_at: when the session or its messages last changed (timezone-aware UTC).

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
