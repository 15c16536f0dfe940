"""How ``sessions show`` and ``demo`` print a session: its header, then its conversation.

Each message shows its sequence, role and content, with its file events under it. The header
names the session's owner and its hold (since when, and why), and lists its rewinds, with
their reasons. The full transcript follows: a message a
rewind hid is marked ``[rewound by REWIND]``, and the messages that the compaction in force
stands for are marked ``[compacted by COMPACTION]``, its summary following them where it stands
in a model's context. Stored text is escaped by
:func:`~agent_sessions.infrastructure.cli.rendering.printable`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TextIO

from agent_sessions.domain.entities import (
    Compaction,
    FileEvent,
    Rewind,
    Session,
    SessionMessage,
)
from agent_sessions.domain.export_records import format_timestamp
from agent_sessions.infrastructure.cli.rendering import event_line, printable

__all__ = ["print_conversation"]


def print_conversation(
    session: Session,
    messages: Sequence[SessionMessage],
    out: TextIO,
    events: Mapping[str, Sequence[FileEvent]] | None = None,
    *,
    rewinds: Sequence[Rewind] = (),
    compaction: Compaction | None = None,
) -> None:
    """Print the session's header, then each message with its file events indented below it.

    A message's lines stay lines: each is escaped by :func:`printable` and the lines after the
    first are indented under it. The header lists ``rewinds`` (the session's, with their
    reasons), and a message a rewind hid is marked ``[rewound by REWIND]``; with
    ``compaction`` (the one in force), the visible messages it covers are marked ``[compacted
    by COMPACTION]`` and its summary follows the last of them, where it stands in a model's
    context. The marks come before the colon, so no content can forge one.
    """
    print(f"Session {session.id}: {printable(session.title or '(untitled)')}", file=out)
    if session.parent_session_id is not None:
        print(
            f"  forked from {session.parent_session_id} at message {session.forked_at_sequence}",
            file=out,
        )
    if session.external_id is not None:
        print(f"  external id {printable(session.external_id)}", file=out)
    if session.owner_id is not None:
        print(f"  owner {printable(session.owner_id)}", file=out)
    if session.hold_reason is not None:
        since = "" if session.held_at is None else f" since {format_timestamp(session.held_at)}"
        print(f"  held{since}: {printable(session.hold_reason)}", file=out)
    rewound = sum(message.rewound for message in messages)
    counted = f"{session.message_count} messages" + (f" ({rewound} rewound)" if rewound else "")
    print(
        f"  actor {printable(session.actor_name)}, {counted}, tokens "
        f"{session.prompt_tokens} prompt + {session.completion_tokens} completion = "
        f"{session.total_tokens}",
        file=out,
    )
    print(
        f"  created {format_timestamp(session.created_at)}, "
        f"updated {format_timestamp(session.updated_at)}",
        file=out,
    )
    for rewind in rewinds:
        _print_rewind(rewind, out)
    pending = compaction  # its summary, until printed after the last message it covers
    for message in messages:
        if pending is not None and message.sequence > pending.through_sequence:
            _print_summary(pending, out)
            pending = None
        mark = ""
        if message.rewound_by is not None:
            mark = f" [rewound by {message.rewound_by}]"
        elif pending is not None:
            mark = f" [compacted by {pending.id}]"
        prefix = f"  [{message.sequence}] {message.role.value:>9}{mark}: "
        _print_lines(prefix, message.content, out)
        for event in (events or {}).get(message.id, ()):
            print(f"      {event_line(event)}", file=out)
    if pending is not None:
        _print_summary(pending, out)


def _print_rewind(rewind: Rewind, out: TextIO) -> None:
    line = (
        f"  rewind {rewind.id} to message {rewind.to_sequence}, "
        f"{format_timestamp(rewind.created_at)}"
    )
    if rewind.undone_at is not None:
        line += f", undone {format_timestamp(rewind.undone_at)}"
    if rewind.reason is not None:
        line += f": {printable(rewind.reason)}"
    print(line, file=out)


def _print_summary(compaction: Compaction, out: TextIO) -> None:
    prefix = f"  [summary up to {compaction.through_sequence} by {compaction.id}]: "
    _print_lines(prefix, compaction.summary, out)


def _print_lines(prefix: str, text: str, out: TextIO) -> None:
    """Print ``text`` after ``prefix``, each line escaped, the later ones indented under it."""
    first, *rest = text.split("\n")
    print(prefix + printable(first), file=out)
    for line in rest:
        print(" " * len(prefix) + printable(line), file=out)
