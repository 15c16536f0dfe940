"""The JSON Lines form of an export: one line per record, for sessions of any size.

A stream is one JSON object per line (UTF-8, a newline after each)::

    {"format": "agent-sessions/export-jsonl", "schema_version": 2, "exported_at": "...Z",
     "session": {...}}                                 # the header, first
    {"message": {...}}                                 # one line per message, by sequence
    {"file_event": {...}}                              # one line per file event, in order
    {"checksum": "sha256:<hex>", "messages": n, "file_events": m}   # the trailer, last

The records inside are those of the JSON export document (``session_record``,
``message_record``, ``file_event_record``, from ``export_records``). The checksum is the
SHA-256 of every byte before the trailer line, exactly as written, so that a reader checks it
while it reads, in constant memory. The writer emits canonical JSON; a reader accepts any
strict JSON (``load_json``: no key twice, no NaN, as for a document) that hashes right.
See ``docs/reference/export_format.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from agent_sessions.domain.entities import FileEvent, Session, SessionMessage
from agent_sessions.domain.errors import ImportIntegrityError
from agent_sessions.domain.export_records import (
    SCHEMA_VERSION,
    ExportChecksum,
    ExportedFileEvent,
    ExportedMessage,
    ExportedSession,
    canonical_json,
    check_keys,
    checked_schema_version,
    file_event_record,
    format_timestamp,
    load_json,
    message_record,
    parse_file_event_record,
    parse_message_record,
    parse_session_record,
    parse_timestamp,
    session_record,
)
from agent_sessions.domain.validation import abbreviated_repr

__all__ = [
    "JSONL_FORMAT",
    "MAX_LINE_BYTES",
    "ExportStreamReader",
    "ExportStreamWriter",
    "StreamHeader",
]

_T = TypeVar("_T")

JSONL_FORMAT = "agent-sessions/export-jsonl"
MAX_LINE_BYTES = 32 * 1024 * 1024
"""Longest line a reader takes (32 MiB): a message at every limit fits with room to spare."""

_STREAM_SCHEMA_VERSIONS = (2,)
_HEADER_FIELDS = frozenset({"format", "schema_version", "exported_at", "session"})
_TRAILER_FIELDS = frozenset({"checksum", "messages", "file_events"})


class ExportStreamWriter:
    """Turns a session, its messages and its file events into the lines of a stream.

    Call :meth:`header` once, then :meth:`message` for every message in sequence order, then
    :meth:`file_event` for every event in the order recorded, then :meth:`trailer`.
    """

    def __init__(self) -> None:
        """Start a stream with an empty running checksum."""
        self._checksum = ExportChecksum()
        self._messages = 0
        self._file_events = 0

    def header(self, session: Session, exported_at: datetime) -> bytes:
        """Return the header line of ``session`` as of ``exported_at``."""
        return self._line(
            {
                "format": JSONL_FORMAT,
                "schema_version": SCHEMA_VERSION,
                "exported_at": format_timestamp(exported_at),
                "session": session_record(session),
            }
        )

    def message(self, message: SessionMessage) -> bytes:
        """Return the line of one message."""
        self._messages += 1
        return self._line({"message": message_record(message)})

    def file_event(self, event: FileEvent, message_sequence: int) -> bytes:
        """Return the line of one file event, linked to its message by ``message_sequence``."""
        self._file_events += 1
        return self._line({"file_event": file_event_record(event, message_sequence)})

    def trailer(self) -> bytes:
        """Return the trailer line: the checksum of every line before it, and the counts."""
        record = {
            "checksum": self._checksum.value(),
            "messages": self._messages,
            "file_events": self._file_events,
        }
        return canonical_json(record) + b"\n"

    def _line(self, record: dict[str, Any]) -> bytes:
        line = canonical_json(record) + b"\n"
        self._checksum.update(line)
        return line


@dataclass(frozen=True, slots=True)
class StreamHeader:
    """The checked header of a stream: the session (without messages) and its counts."""

    session: ExportedSession
    message_count: int


class ExportStreamReader:
    """Checks the lines of a stream one at a time, in constant memory.

    Feed :meth:`header` the first line, then :meth:`record` every following line until it
    returns None (the trailer, whose checksum and counts it has verified). Every problem raises
    :class:`ImportIntegrityError` naming the line and field, such as ``line 5: message.role``;
    a ``schema_version`` it cannot read raises :class:`UnsupportedSchemaVersionError`.
    """

    def __init__(self) -> None:
        """Start reading a stream."""
        self._checksum = ExportChecksum()
        self._line_number = 0
        self._header: StreamHeader | None = None
        self._messages = 0
        self._file_events = 0
        self._last_event_at: datetime | None = None
        self._finished = False

    def header(self, line: bytes) -> StreamHeader:
        """Check the first line and return the session it describes."""
        raw = self._decode(line)
        if not isinstance(raw, dict) or raw.get("format") != JSONL_FORMAT:
            shown = abbreviated_repr(raw.get("format") if isinstance(raw, dict) else raw)
            raise ImportIntegrityError(
                f"line 1: format is {shown}, expected {JSONL_FORMAT!r}: not an agent-sessions "
                f"JSON Lines export"
            )
        checked_schema_version(
            raw.get("schema_version"), _STREAM_SCHEMA_VERSIONS, "line 1: schema_version"
        )
        self._check_keys(raw, _HEADER_FIELDS, "the header")
        parse_timestamp(raw["exported_at"], "line 1: exported_at")
        session, message_count = self._within(lambda: parse_session_record(raw["session"], 2))
        self._header = StreamHeader(session, message_count)
        return self._header

    def record(self, line: bytes) -> ExportedMessage | ExportedFileEvent | None:
        """Check the next line; return its message or event, or None for a verified trailer."""
        header = self._header
        assert header is not None and not self._finished, "header first, nothing after trailer"
        raw = self._decode(line, hashed=False)
        if not isinstance(raw, dict) or len(raw) == 0:
            raise self._error(f"must be a JSON object, got {type(raw).__name__}")
        if "message" in raw and len(raw) == 1:
            self._checksum.update(line)
            if self._file_events:
                raise self._error("a message comes after a file event; messages come first")
            self._messages += 1
            return self._within(
                lambda: parse_message_record(raw["message"], "message", self._messages)
            )
        if "file_event" in raw and len(raw) == 1:
            self._checksum.update(line)
            self._file_events += 1
            event = self._within(
                lambda: parse_file_event_record(
                    raw["file_event"],
                    "file_event",
                    header.message_count,
                    header.session.updated_at,
                    self._last_event_at,
                )
            )
            self._last_event_at = event.created_at
            return event
        if "checksum" in raw:
            self._check_trailer(raw)
            return None
        keys = ", ".join(sorted(abbreviated_repr(key) for key in raw))
        raise self._error(f"is neither a message, a file event nor the trailer (keys {keys})")

    def finish(self) -> None:
        """Raise unless the stream ended with its trailer."""
        if not self._finished:
            raise ImportIntegrityError(
                f"the stream ends after line {self._line_number} without its trailer: it was "
                f"cut short"
            )

    def _check_trailer(self, raw: dict[str, Any]) -> None:
        assert self._header is not None
        self._check_keys(raw, _TRAILER_FIELDS, "the trailer")
        stated = ExportChecksum.well_formed(raw["checksum"], f"line {self._line_number} checksum")
        self._checksum.verify(stated, "stream")
        counts = (raw["messages"], raw["file_events"])
        if counts != (self._messages, self._file_events):
            raise self._error(
                f"states {counts[0]} messages and {counts[1]} file events, but the stream "
                f"holds {self._messages} and {self._file_events}"
            )
        if self._messages != self._header.message_count:
            raise ImportIntegrityError(
                f"session.message_count is {self._header.message_count} but the stream holds "
                f"{self._messages} messages"
            )
        self._finished = True

    def _decode(self, line: bytes, *, hashed: bool = True) -> Any:
        self._line_number += 1
        if len(line) > MAX_LINE_BYTES:
            raise self._error(f"is longer than {MAX_LINE_BYTES} bytes")
        if hashed:
            self._checksum.update(line)
        return load_json(line, f"line {self._line_number}")

    def _within(self, parse: Callable[[], _T]) -> _T:
        try:
            return parse()
        except ImportIntegrityError as exc:
            raise ImportIntegrityError(f"line {self._line_number}: {exc}") from exc

    def _check_keys(self, raw: dict[str, Any], expected: frozenset[str], where: str) -> None:
        check_keys(raw, expected, f"line {self._line_number} ({where})")

    def _error(self, reason: str) -> ImportIntegrityError:
        return ImportIntegrityError(f"line {self._line_number} {reason}")
