"""The one place where database rows become domain entities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from agent_sessions.domain.entities import (
    FileEvent,
    FileEventType,
    MessageRole,
    Session,
    SessionMessage,
)

__all__ = [
    "file_event_from_row",
    "file_event_to_values",
    "message_from_row",
    "message_to_values",
    "session_from_row",
    "session_to_values",
]


def session_from_row(row: Row[Any]) -> Session:
    """Build a :class:`Session` from a row of ``sessions``."""
    mapping = row._mapping
    return Session(
        id=mapping["id"],
        actor_name=mapping["actor_name"],
        title=mapping["title"],
        metadata=mapping["metadata"],
        prompt_tokens=mapping["prompt_tokens"],
        completion_tokens=mapping["completion_tokens"],
        message_count=mapping["message_count"],
        created_at=mapping["created_at"],
        updated_at=mapping["updated_at"],
        external_id=mapping["external_id"],
    )


def session_to_values(session: Session) -> dict[str, Any]:
    """Return the column values of ``session`` for an INSERT into ``sessions``."""
    return {
        "id": session.id,
        "actor_name": session.actor_name,
        "external_id": session.external_id,
        "title": session.title,
        "metadata": session.metadata,
        "prompt_tokens": session.prompt_tokens,
        "completion_tokens": session.completion_tokens,
        "message_count": session.message_count,
        "created_at": session.created_at,
        "updated_at": session.updated_at,
    }


_ROLES = {role.value: role for role in MessageRole}


def message_from_row(row: Sequence[Any]) -> SessionMessage:
    """Build a :class:`SessionMessage` from a row of ``session_messages``, columns in order.

    Takes a SQLAlchemy ``Row`` or a plain tuple (what a direct statement returns), read by
    position in the table's column order, as ``select(session_messages)`` returns them.
    """
    message_id, session_id, sequence, role, content, metadata, token_count, created_at = row
    # Positional arguments (id, session_id, sequence, role, content, metadata, token_count,
    # created_at) and a dict lookup for the role: a read builds one entity per row, and
    # keywords and the enum call cost a fifth more.
    return SessionMessage(
        message_id, session_id, sequence, _ROLES[role], content, metadata, token_count, created_at
    )


def message_to_values(message: SessionMessage) -> dict[str, Any]:
    """Return the column values of ``message`` for an INSERT into ``session_messages``."""
    return {
        "id": message.id,
        "session_id": message.session_id,
        "sequence": message.sequence,
        "role": message.role.value,
        "content": message.content,
        "metadata": message.metadata,
        "token_count": message.token_count,
        "created_at": message.created_at,
    }


def file_event_from_row(row: Row[Any]) -> FileEvent:
    """Build a :class:`FileEvent` from a row of ``session_file_events``."""
    mapping = row._mapping
    return FileEvent(
        id=mapping["id"],
        session_id=mapping["session_id"],
        message_id=mapping["message_id"],
        event_type=FileEventType(mapping["event_type"]),
        file_path=mapping["file_path"],
        diff=mapping["diff"],
        command=mapping["command"],
        created_at=mapping["created_at"],
    )


def file_event_to_values(event: FileEvent) -> dict[str, Any]:
    """Return the column values of ``event`` for an INSERT into ``session_file_events``."""
    return {
        "id": event.id,
        "session_id": event.session_id,
        "message_id": event.message_id,
        "event_type": event.event_type.value,
        "file_path": event.file_path,
        "diff": event.diff,
        "command": event.command,
        "created_at": event.created_at,
    }
