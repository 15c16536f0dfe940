"""Byte streams of ``sessions export --format jsonl`` and ``sessions import``.

- :func:`counting_lines` reports the lines written to an export's file, and
  :func:`counting_bytes` the bytes an import has read, for their progress bars.
- :func:`first_line` reads an input's first line that is not blank, :func:`is_stream_header`
  tells a JSON Lines header from the start of a JSON document, and :func:`replayed` gives back a
  stream that starts with that line again, so that a pipe can be read whole after the peek.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, BinaryIO

from agent_sessions.domain.errors import ImportIntegrityError
from agent_sessions.domain.export_stream import JSONL_FORMAT

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

__all__ = ["counting_bytes", "counting_lines", "first_line", "is_stream_header", "replayed"]

_HEADER_MARK = JSONL_FORMAT.encode("ascii")


class _LineCounter(io.RawIOBase):
    """A writable raw stream that passes bytes on to ``target`` and counts the newlines."""

    def __init__(self, target: IO[bytes], on_lines: Callable[[int], None]) -> None:
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


def counting_lines(target: IO[bytes], on_lines: Callable[[int], None]) -> BinaryIO:
    """Return a buffered binary stream onto ``target`` that reports the lines written so far.

    ``on_lines`` is called with the running count whenever bytes reach ``target``. Flush the
    returned stream when done; ``target`` is not closed.
    """
    return io.BufferedWriter(_LineCounter(target, on_lines))


class _ByteCounter(io.RawIOBase):
    """A readable raw stream over ``source`` that reports how far into it reading has got."""

    def __init__(self, source: BinaryIO, on_bytes: Callable[[int], None]) -> None:
        super().__init__()
        self._source = source
        self._on_bytes = on_bytes
        self._read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._source.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._read = self._source.seek(offset, whence)
        self._on_bytes(self._read)
        return self._read

    def tell(self) -> int:
        return self._source.tell()

    def readinto(self, buffer: WriteableBuffer) -> int:
        target = memoryview(buffer).cast("B")
        data = self._source.read(len(target))
        target[: len(data)] = data
        self._read += len(data)
        self._on_bytes(self._read)
        return len(data)


def counting_bytes(source: BinaryIO, on_bytes: Callable[[int], None]) -> BinaryIO:
    """Return a buffered binary stream over ``source`` that reports the bytes read so far.

    ``on_bytes`` is called with the position reached whenever bytes are read from ``source``
    (or it is sought). The stream seeks when ``source`` does; ``source`` is not closed.
    """
    return io.BufferedReader(_ByteCounter(source, on_bytes))


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
