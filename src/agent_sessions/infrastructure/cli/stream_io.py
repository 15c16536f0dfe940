"""Byte streams of ``sessions export --format jsonl``, ``sessions import`` and the files read.

- :func:`open_input` opens a file the command line reads (``-`` for stdin), and
  :func:`read_text_input` reads one whole as UTF-8 text (``sessions compact --summary-file``).
- :func:`counting_lines` reports the lines written to an export's file, and
  :func:`counting_bytes` the bytes an import has read, for their progress bars.
- :func:`first_line` reads an input's first line that is not blank, :func:`is_stream_header`
  tells a JSON Lines header from the start of a JSON document, and :func:`replayed` gives back a
  stream that starts with that line again, so that a pipe can be read whole after the peek.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, BinaryIO

from agent_sessions.domain.errors import ImportIntegrityError
from agent_sessions.domain.export_stream import JSONL_FORMAT
from agent_sessions.infrastructure.cli.command_error import CommandError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

__all__ = [
    "counting_bytes",
    "counting_lines",
    "first_line",
    "is_stream_header",
    "open_input",
    "read_text_input",
    "replayed",
]

_HEADER_MARK = JSONL_FORMAT.encode("ascii")


def open_input(name: str, stack: contextlib.ExitStack) -> BinaryIO:
    """Open file ``name`` ('-' for stdin) for reading bytes; ``stack`` closes a file opened.

    A file that cannot be opened raises :class:`CommandError` (``cannot read NAME: ...``).
    """
    if name == "-":
        binary: BinaryIO | None = getattr(sys.stdin, "buffer", None)
        if binary is None:  # a text stream without bytes underneath, such as io.StringIO
            return io.BytesIO(sys.stdin.read().encode("utf-8", "surrogateescape"))
        return binary
    try:
        return stack.enter_context(open(name, "rb"))
    except OSError as exc:
        raise CommandError(f"cannot read {name}: {exc.strerror}") from exc


def read_text_input(name: str, *, option: str, limit: int) -> str:
    """Return the text of file ``name`` ('-' for stdin): UTF-8, at most ``limit`` bytes.

    At most ``limit`` + 1 bytes are read. A file that cannot be read, a longer one, or bytes
    that are not UTF-8 raise :class:`CommandError`; the last two name ``option``, as in
    ``invalid --summary-file: notes.txt is not UTF-8 text: invalid start byte at byte 3``.
    """
    with contextlib.ExitStack() as stack:
        source = open_input(name, stack)
        try:
            data = source.read(limit + 1)
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc.strerror}") from exc
    if len(data) > limit:
        raise CommandError(
            f"invalid {option}: {name} is larger than {limit} bytes, the most it may hold"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CommandError(
            f"invalid {option}: {name} is not UTF-8 text: {exc.reason} at byte {exc.start}"
        ) from exc


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
