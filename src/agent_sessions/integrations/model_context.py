"""What the framework adapters read with ``use_context_messages``: the context a model is sent.

By default an adapter reads the session's visible history (``get_messages``,
``recent_messages``): every message a rewind did not hide. With ``use_context_messages=True``
it reads :meth:`~agent_sessions.SessionService.context_messages` instead: the summary of the
compaction in force, as one message of ``summary_role``, then the visible messages after it.
This module holds what both adapters need for that: the check of ``summary_role`` and how to
tell the summary from a stored message.
"""

from __future__ import annotations

from agent_sessions import InvalidInputError, MessageRole, SessionMessage
from agent_sessions.domain.validation import validate_role

__all__ = ["checked_summary_role", "is_summary"]


def checked_summary_role(value: object) -> MessageRole:
    """Return the role ``value`` names, or raise ``InvalidInputError`` naming ``summary_role``."""
    try:
        return validate_role(value)
    except InvalidInputError as exc:
        raise InvalidInputError("summary_role", exc.reason) from None


def is_summary(message: SessionMessage) -> bool:
    """Tell whether ``message`` is a compaction's summary that ``context_messages`` returned.

    Such a message carries the compaction's id as its own and in ``metadata["compaction_id"]``;
    a stored message never does (its id is its own, fresh). The adapters read it as a plain
    message of its role, whatever metadata the compaction holds.
    """
    return message.metadata.get("compaction_id") == message.id
