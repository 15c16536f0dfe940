"""Where a window of a session's messages may start: never on an orphaned tool result.

A model API rejects a request whose first message is a tool result without the assistant
turn that made the call. So a window cut from the end of a session (``recent_messages``, and
later ``context_messages`` and a compaction's boundary) that would start on a ``tool``
message reaches back to the nearest earlier message that is not one: in practice the
assistant turn whose calls those results answer. A session whose messages before the cut are
all tool results has no such message; its window then starts at its first message.

The rule is pure: the caller hands in the window and a function that reads the page of
messages before a given one, so the store reads only as far back as the rule needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agent_sessions.domain.entities import MessageRole, SessionMessage

__all__ = ["reach_back", "reaches_back"]


def reaches_back(window: Sequence[SessionMessage]) -> bool:
    """Return whether ``window`` (ascending) starts on a tool result, so must reach back."""
    return bool(window) and window[0].role == MessageRole.TOOL


def reach_back(
    window: Sequence[SessionMessage],
    read_before: Callable[[SessionMessage], Sequence[SessionMessage]],
) -> list[SessionMessage]:
    """Return ``window`` grown back so that it does not start on a tool result.

    Args:
        window: the messages cut from the end of the history, in ascending sequence.
        read_before: given the oldest message read so far, returns a page of the messages
            just before it, ascending (empty when there are none). Called only while the
            grown window still starts on a tool result, so never when :func:`reaches_back`
            of ``window`` is false.

    Returns:
        The window unchanged when it does not start on a tool result; otherwise the window
        preceded by every message back to, and including, the newest earlier message that is
        not a tool result; or, when there is none, by every earlier message.

    """
    grown = list(window)
    while reaches_back(grown):
        page = list(read_before(grown[0]))
        if not page:
            break
        for index in range(len(page) - 1, -1, -1):
            if page[index].role != MessageRole.TOOL:
                return page[index:] + grown
        grown = page + grown
    return grown
