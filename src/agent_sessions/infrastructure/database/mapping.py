"""The one place where database rows become domain entities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from agent_sessions.domain.entities import (
    Compaction,
    FileEvent,
    FileEventType,
    MessageRole,
    Rewind,
    Session,
    SessionMessage,
)

__all__ = [
    "compaction_from_row",
    "compaction_to_values",
    "file_event_from_row",
    "file_event_to_values",
    "message_from_row",
    "message_to_values",
    "rewind_from_row",
    "rewind_to_values",
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
        parent_session_id=mapping["parent_session_id"],
        forked_at_sequence=mapping["forked_at_sequence"],
        owner_id=mapping["owner_id"],
        hold_reason=mapping["hold_reason"],
        held_at=mapping["held_at"],
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
        "parent_session_id": session.parent_session_id,
        "forked_at_sequence": session.forked_at_sequence,
        "owner_id": session.owner_id,
        "hold_reason": session.hold_reason,
        "held_at": session.held_at,
    }


_ROLES = {role.value: role for role in MessageRole}


def message_from_row(row: Sequence[Any]) -> SessionMessage:
    """Build a :class:`SessionMessage` from a row of ``session_messages``, columns in order.

    Takes a SQLAlchemy ``Row`` or a plain tuple (what a direct statement returns), read by
    position in the table's column order, as ``select(session_messages)`` returns them.
    """
    (
        message_id,
        session_id,
        sequence,
        role,
        content,
        metadata,
        token_count,
        created_at,
        rewound_by,
    ) = row
    # Positional arguments (id, session_id, sequence, role, content, metadata, token_count,
    # created_at, rewound_by) and a dict lookup for the role: a read builds one entity per
    # row, and keywords and the enum call cost a fifth more.
    return SessionMessage(
        message_id,
        session_id,
        sequence,
        _ROLES[role],
        content,
        metadata,
        token_count,
        created_at,
        rewound_by,
    )


def message_to_values(message: SessionMessage) -> dict[str, Any]:
    """Return the column values of ``message`` for an INSERT into ``session_messages``.

    ``rewound_by`` is among them: an append's prebuilt insert leaves that column out (it is
    NULL for every appended message), and an import's writes it.
    """
    return {
        "id": message.id,
        "session_id": message.session_id,
        "sequence": message.sequence,
        "role": message.role.value,
        "content": message.content,
        "metadata": message.metadata,
        "token_count": message.token_count,
        "created_at": message.created_at,
        "rewound_by": message.rewound_by,
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


def rewind_from_row(row: Sequence[Any]) -> Rewind:
    """Build a :class:`Rewind` from a row of ``session_rewinds``, columns in table order."""
    rewind_id, session_id, to_sequence, through_sequence, reason, created_at, undone_at = row
    return Rewind(
        id=rewind_id,
        session_id=session_id,
        to_sequence=to_sequence,
        through_sequence=through_sequence,
        reason=reason,
        created_at=created_at,
        undone_at=undone_at,
    )


def rewind_to_values(rewind: Rewind) -> dict[str, Any]:
    """Return the column values of ``rewind`` for an INSERT into ``session_rewinds``."""
    return {
        "id": rewind.id,
        "session_id": rewind.session_id,
        "to_sequence": rewind.to_sequence,
        "through_sequence": rewind.through_sequence,
        "reason": rewind.reason,
        "created_at": rewind.created_at,
        "undone_at": rewind.undone_at,
    }


def compaction_from_row(row: Sequence[Any]) -> Compaction:
    """Build a :class:`Compaction` from a row of ``session_compactions``, columns in table order.

    Takes a SQLAlchemy ``Row`` or a plain tuple (what a direct statement returns).
    """
    (
        compaction_id,
        session_id,
        through_sequence,
        summary,
        metadata,
        token_count,
        created_at,
        rewound_by,
    ) = row
    return Compaction(
        id=compaction_id,
        session_id=session_id,
        through_sequence=through_sequence,
        summary=summary,
        metadata=metadata,
        token_count=token_count,
        created_at=created_at,
        rewound_by=rewound_by,
    )


def compaction_to_values(compaction: Compaction) -> dict[str, Any]:
    """Return the column values of ``compaction`` for an INSERT into ``session_compactions``."""
    return {
        "id": compaction.id,
        "session_id": compaction.session_id,
        "through_sequence": compaction.through_sequence,
        "summary": compaction.summary,
        "metadata": compaction.metadata,
        "token_count": compaction.token_count,
        "created_at": compaction.created_at,
        "rewound_by": compaction.rewound_by,
    }
