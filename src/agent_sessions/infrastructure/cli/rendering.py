"""How the command line shows what it reads: tables, JSON, progress bars, escaped text.

Text output is for a person at a terminal. Whatever users stored (titles, actor names,
external ids, paths, commands, message content, summaries, reasons) is shown through
:func:`printable`, so that a control character can neither break a table's line nor drive the
terminal. The tables (:func:`sessions_table`, :func:`touches_table`, :func:`events_table`) are
:class:`~agent_sessions.infrastructure.cli.text_table.Table` values: fitted to a terminal's
width, whole through a pipe. Long commands are cut, and diffs are summarised by their line
counts. JSON output holds every value whole. Progress bars (:func:`progress_bar`) show on
standard error only when it is a terminal. The conversation that ``sessions show`` prints is
:mod:`.conversation`'s, the fork family that ``sessions tree`` draws :mod:`.fork_tree`'s.

``rich`` draws for the terminal; it is imported only when a table meets a terminal or a bar is
shown, so that the command line starts quickly.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from agent_sessions.domain.entities import (
    FileEvent,
    FileEventType,
    FileTouch,
    Session,
    SessionMessage,
)
from agent_sessions.domain.export_records import (
    file_event_record,
    format_timestamp,
    session_record,
)
from agent_sessions.infrastructure.cli.text_table import Cell, Column, Table

__all__ = [
    "COMMAND_SHOWN_CHARACTERS",
    "DiffSize",
    "counted",
    "diff_size",
    "event_line",
    "event_records",
    "events_by_message",
    "events_table",
    "print_json",
    "printable",
    "progress_bar",
    "sequences_by_message",
    "session_json",
    "sessions_table",
    "touch_record",
    "touches_table",
]

COMMAND_SHOWN_CHARACTERS = 120
"""Most characters of a command that text output shows; the rest is cut to ``…``."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Characters that would break a line of a table or reorder the terminal's text."""
_HUNK = re.compile(r"@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_TIME_WIDTH = 27  # 2024-05-01T12:00:00.000000Z
_SHRINKS = 20
"""The least a title, a path or a command is cut to on a narrow terminal."""


@dataclass(frozen=True, slots=True)
class DiffSize:
    """The size of a diff: all its lines, and the lines it adds and removes.

    Attributes:
        lines: every line of the diff text.
        added: lines that add (``+``), headers (``+++``) excluded.
        removed: lines that remove (``-``), headers (``---``) excluded.

    """

    lines: int
    added: int
    removed: int

    def summary(self) -> str:
        """Return ``+a -b lines``."""
        return f"+{self.added} -{self.removed} lines"


def diff_size(diff: str) -> DiffSize:
    r"""Count the lines of ``diff``, and those it adds and removes.

    Lines end at ``\n`` only. Unified diffs are read by their hunk headers (``@@ -1,3 +1,4
    @@``), so a removed line whose text starts with ``--`` is not taken for a ``---`` file
    header. Outside any hunk, ``+`` and ``-`` lines count, but not ``+++ ``/``--- `` headers.
    """
    lines = diff.split("\n")  # not splitlines(): U+2028 in a changed line is not a new line
    if lines[-1] == "":
        lines.pop()
    added = removed = 0
    old_left = new_left = 0
    for line in lines:
        if old_left > 0 or new_left > 0:
            if line.startswith("+"):
                added += 1
                new_left -= 1
            elif line.startswith("-"):
                removed += 1
                old_left -= 1
            elif not line.startswith("\\"):  # "\ No newline at end of file"
                old_left -= 1
                new_left -= 1
            continue
        if (hunk := _HUNK.match(line)) is not None:
            old_left = int(hunk.group(1) if hunk.group(1) is not None else 1)
            new_left = int(hunk.group(2) if hunk.group(2) is not None else 1)
        elif line.startswith(("+++ ", "--- ")):
            continue
        elif line.startswith("+"):
            added += 1
        elif line.startswith("-"):
            removed += 1
    return DiffSize(len(lines), added, removed)


def counted(number: int, noun: str) -> str:
    """Return ``"1 message"``, ``"2 messages"``: ``number`` and ``noun``, plural unless 1."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def printable(text: str) -> str:
    r"""Return ``text`` with control characters escaped, as ``\n``, ``\x1b`` or ``\u202e``.

    Escaped are the C0 and C1 controls (newlines, tabs, terminal escapes), the Unicode line
    and paragraph separators, and the bidirectional overrides and isolates.
    """
    return _CONTROL.sub(lambda match: _escape(match.group()), text)


def _escape(character: str) -> str:
    code = ord(character)
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return named.get(character, f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


def _target(event: FileEvent) -> str:
    """Return what an event acted on, for text: its path, or its command (and path)."""
    if event.command is None:
        return printable(event.file_path or "")
    command = printable(event.command)
    if len(command) > COMMAND_SHOWN_CHARACTERS:
        command = command[:COMMAND_SHOWN_CHARACTERS] + "…"
    if event.file_path is None:
        return command
    return f"{command} (path {printable(event.file_path)})"


def sequences_by_message(messages: Iterable[SessionMessage]) -> dict[str, int]:
    """Return each message's sequence by message id."""
    return {message.id: message.sequence for message in messages}


def events_by_message(events: Iterable[FileEvent]) -> dict[str, list[FileEvent]]:
    """Return the events of each message id, in the order recorded."""
    grouped: dict[str, list[FileEvent]] = {}
    for event in events:
        grouped.setdefault(event.message_id, []).append(event)
    return grouped


def event_records(
    events: Iterable[FileEvent], sequence_of: Mapping[str, int]
) -> list[dict[str, Any]]:
    """Return the export document's records of ``events`` (with their message's sequence)."""
    return [file_event_record(event, sequence_of[event.message_id]) for event in events]


def touch_record(touch: FileTouch) -> dict[str, Any]:
    """Return the JSON form of a touched path; ``counts`` holds every type, 0 included."""
    return {
        "file_path": touch.file_path,
        "counts": {kind.value: touch.counts.get(kind, 0) for kind in FileEventType},
        "total": touch.total,
        "last_event_at": format_timestamp(touch.last_event_at),
    }


def touches_table(touches: Sequence[FileTouch]) -> Table:
    """Return the files-touched table: counts by type, total, last event, path.

    On a narrow terminal the last event goes first, then the counts of the rarer types.
    """
    dropped = [FileEventType.RENAME, FileEventType.DELETE, FileEventType.COMMAND]
    dropped += [FileEventType.READ, FileEventType.EDIT, FileEventType.WRITE]
    counts = [
        Column(
            kind.value.upper(), max(len(kind.value), 5), right=True, drop=2 + dropped.index(kind)
        )
        for kind in FileEventType
    ]
    columns = [
        *counts,
        Column("TOTAL", 5, right=True),
        Column("LAST EVENT", _TIME_WIDTH, drop=1),
        Column("PATH", shrinks=_SHRINKS),
    ]
    rows: list[list[Cell]] = [
        [
            *(str(touch.counts.get(kind, 0)) for kind in FileEventType),
            str(touch.total),
            touch.last_event_at,
            printable(touch.file_path),
        ]
        for touch in touches
    ]
    return Table(columns, rows)


def events_table(events: Sequence[FileEvent], sequence_of: Mapping[str, int]) -> Table:
    """Return the events table: time, message sequence, type, diff lines, target.

    On a narrow terminal the diff lines go first, then the message, then the time.
    """
    columns = [
        Column("TIME", _TIME_WIDTH, drop=3),
        Column("MESSAGE", 7, right=True, drop=2),
        Column("TYPE", 7),
        Column("DIFF LINES", 10, right=True, drop=1),
        Column("PATH OR COMMAND", shrinks=_SHRINKS),
    ]
    rows: list[list[Cell]] = [
        [
            event.created_at,
            str(sequence_of[event.message_id]),
            event.event_type.value,
            "-" if event.diff is None else str(diff_size(event.diff).lines),
            _target(event),
        ]
        for event in events
    ]
    return Table(columns, rows)


def event_line(event: FileEvent) -> str:
    """Return one event for the conversation view: type, target, and the diff's summary."""
    line = f"{event.event_type.value:7} {_target(event)}"
    if event.diff is not None:
        line += f" ({diff_size(event.diff).summary()})"
    return line


def session_json(session: Session) -> dict[str, Any]:
    """Return the export format's session record (with its owner), ``total_tokens`` and the hold.

    The export document does not carry the hold; the command line shows it.
    """
    return {
        **session_record(session),
        "total_tokens": session.total_tokens,
        "hold_reason": session.hold_reason,
        "held_at": None if session.held_at is None else format_timestamp(session.held_at),
    }


def print_json(value: Any, out: TextIO) -> None:
    """Print ``value`` as indented UTF-8 JSON."""
    out.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def sessions_table(sessions: Sequence[Session]) -> Table:
    """Return the sessions table; OWNER and EXTERNAL ID only when a session has one.

    The id is never cut (people copy it), nor are the numbers. On a narrow terminal the tokens
    go first, then the messages, the external id, the owner, the actor, and the creation time.
    """
    owners = [printable(session.owner_id or "") for session in sessions]
    external_ids = [printable(session.external_id or "") for session in sessions]
    owned = any(owners)
    shown = any(external_ids)
    columns = [
        Column("ID", 26),
        Column("ACTOR", 20, longest=20, shrinks=8, drop=5),
        Column("MESSAGES", 8, right=True, drop=2),
        Column("TOKENS", 8, right=True, drop=1),
        Column("CREATED", _TIME_WIDTH, drop=6),
        *([Column("OWNER", shrinks=12, drop=4)] if owned else []),
        *([Column("EXTERNAL ID", shrinks=12, drop=3)] if shown else []),
        Column("TITLE", shrinks=16, share=2),
    ]
    rows: list[list[Cell]] = [
        [
            session.id,
            printable(session.actor_name),
            str(session.message_count),
            str(session.total_tokens),
            session.created_at,
            *([owner] if owned else []),
            *([external_id] if shown else []),
            printable(session.title or ""),
        ]
        for session, owner, external_id in zip(sessions, owners, external_ids, strict=True)
    ]
    return Table(columns, rows)


@contextlib.contextmanager
def progress_bar(
    label: str, total: int | None, unit: str, terminal: TextIO | None
) -> Iterator[Callable[[int], None]]:
    """Show a progress bar on ``terminal`` while the block runs; yield what takes the count.

    The yielded function takes how many ``unit`` (``"messages"``, ``"bytes"``) are done so far;
    the bar is redrawn when the whole percentage changes. A ``total`` of None draws a bar that
    pulses until the block ends, with the time elapsed but no count. With ``terminal`` None
    nothing is shown and the function does nothing. The bar stays on its line when the block
    ends, at the count last given.
    """
    if terminal is None:
        yield lambda _done: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns: list[ProgressColumn] = [TextColumn(printable(label)), BarColumn()]
    if total is not None:
        columns.append(DownloadColumn() if unit == "bytes" else MofNCompleteColumn())
        if unit != "bytes":
            columns.append(TextColumn(unit))
        columns.append(TaskProgressColumn())
    columns.append(TimeElapsedColumn())
    # The bar writes to ``terminal`` only: sys.stdout and sys.stderr are left as they are.
    with Progress(
        *columns,
        console=Console(file=terminal),
        auto_refresh=total is None,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as progress:
        task = progress.add_task(label, total=total)
        shown: int | None = None

        def advance(done: int) -> None:
            nonlocal shown
            percent = None if not total else done * 100 // total
            if percent != shown or total is None:
                shown = percent
                progress.update(task, completed=done)
                progress.refresh()

        progress.refresh()
        yield advance
