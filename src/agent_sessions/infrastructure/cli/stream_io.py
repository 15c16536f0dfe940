"""Byte streams of ``sessions export --format jsonl`` and ``sessions import``.

- :class:`ExportProgress` shows how many messages an export has written, on one terminal
  line rewritten in place; :func:`counting_lines` feeds it the lines written to the file.
- :func:`first_line` reads an input's first line that is not blank, :func:`is_stream_header`
  tells a JSON Lines header from the start of a JSON document, and :func:`replayed` gives back a
  stream that starts with that line again, so that a pipe can be read whole after the peek.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, TextIO

from agent_sessions.domain.errors import ImportIntegrityError
from agent_sessions.domain.export_stream import JSONL_FORMAT

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

__all__ = ["ExportProgress", "counting_lines", "first_line", "is_stream_header", "replayed"]

_HEADER_MARK = JSONL_FORMAT.encode("ascii")


class ExportProgress:
    """Shows ``exporting session ID: written/total messages (percent)`` on a terminal line.

    The line is rewritten in place (after a carriage return) each time the whole percentage
    changes, so a session of any size prints at most about a hundred updates. :meth:`finish`
    ends the line.
    """

    def __init__(self, session_id: str, total: int, terminal: TextIO) -> None:
        """Show the progress of exporting ``total`` messages of ``session_id`` on ``terminal``."""
        self._label = f"exporting session {session_id}"
        self._total = total
        self._terminal = terminal
        self._percent: int | None = None
        self._line = ""
        self._show(0)

    def lines_written(self, lines: int) -> None:
        """Take the number of lines written so far: the header, then one line per message."""
        written = min(max(lines - 1, 0), self._total)
        if self._percentage(written) != self._percent:
            self._show(written)

    def finish(self, total: int) -> None:
        """Show the final count, ``total`` of ``total`` messages, and end the line."""
        self._total = total
        self._show(total)
        self._end_line()

    def abandon(self) -> None:
        """End the line where it stands, so that an error message starts on a line of its own."""
        self._end_line()

    def _percentage(self, written: int) -> int:
        return 100 if self._total == 0 else written * 100 // self._total

    def _show(self, written: int) -> None:
        self._percent = self._percentage(written)
        line = f"{self._label}: {written}/{self._total} messages ({self._percent}%)"
        if line != self._line:
            self._line = line
            self._terminal.write("\r" + line)
            self._terminal.flush()

    def _end_line(self) -> None:
        self._terminal.write("\n")
        self._terminal.flush()


class _LineCounter(io.RawIOBase):
    """A writable raw stream that passes bytes on to ``target`` and counts the newlines."""

    def __init__(self, target: BinaryIO, on_lines: Callable[[int], None]) -> None:
        super().__init__()
        self._target = target
        self._on_lines = on_lines
        self._lines = 0

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        chunk = bytes(data)
        written = self._target.write(chunk)
        self._lines += chunk.count(b"\n", 0, written)
        self._on_lines(self._lines)
        return written

    def flush(self) -> None:
        if not self._target.closed:
            self._target.flush()


def counting_lines(target: BinaryIO, on_lines: Callable[[int], None]) -> BinaryIO:
    """Return a buffered binary stream onto ``target`` that reports the lines written so far.

    ``on_lines`` is called with the running count whenever bytes reach ``target``. Flush the
    returned stream when done; ``target`` is not closed.
    """
    return io.BufferedWriter(_LineCounter(target, on_lines))


def first_line(source: BinaryIO, *, line_limit: int, skip_limit: int, name: str) -> bytes:
    """Read past blank lines and return the first line that is not blank (``b""`` at the end).

    At most ``line_limit`` bytes of that line are read. Blank lines are skipped and dropped, but
    more than ``skip_limit`` bytes of them raise :class:`ImportIntegrityError`.
    """
    skipped = 0
    while True:
        line = source.readline(line_limit)
        if not line or line.strip():
            return line
        skipped += len(line)
        if skipped > skip_limit:
            raise ImportIntegrityError(
                f"{name} starts with more than {skip_limit} bytes of blank lines"
            )


def is_stream_header(line: bytes) -> bool:
    """Tell whether ``line`` is the header of a JSON Lines export rather than a JSON document.

    A header is a JSON object whose ``format`` is ``"agent-sessions/export-jsonl"``. A line that
    is not JSON but names that format counts too (a damaged header), so that the stream's
    reader, not the JSON document parser, reports what is wrong with it.
    """
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return _HEADER_MARK in line
    return isinstance(record, dict) and record.get("format") == JSONL_FORMAT


class _Replayed(io.RawIOBase):
    """A readable raw stream of ``head``, then of what is left to read in ``rest``."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        target = memoryview(buffer).cast("B")
        if self._head:
            size = min(len(target), len(self._head))
            target[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(target))
        target[: len(data)] = data
        return len(data)


def replayed(head: bytes, rest: BinaryIO) -> BinaryIO:
    """Return a binary stream that reads ``head`` again, then the rest of ``rest``.

    It cannot seek, so :meth:`~PersistentSessionService.import_session_from` copies it to a
    temporary file first, as it does for any pipe.
    """
    return io.BufferedReader(_Replayed(head, rest))
