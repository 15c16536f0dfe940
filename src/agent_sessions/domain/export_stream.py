"""The JSON Lines form of an export: one line per record, for sessions of any size.

A stream is one JSON object per line (UTF-8, a newline after each)::

    {"format": "agent-sessions/export-jsonl", "schema_version": 3, "exported_at": "...Z",
     "session": {...}}                                 # the header, first
    {"rewind": {...}}                                  # one line per rewind, in order
    {"compaction": {...}}                              # one line per compaction, in order
    {"message": {...}}                                 # one line per message, by sequence
    {"file_event": {...}}                              # one line per file event, in order
    {"checksum": "sha256:<hex>", "messages": n, "file_events": m,
     "rewinds": r, "compactions": c}                   # the trailer, last

The records inside are those of the JSON export document (``session_record``,
``message_record``, ``file_event_record``, from ``export_records``; ``rewind_record`` and
``compaction_record`` from ``export_history``). Version 2 streams, without the history lines
and the trailer's last two counts, are still read. The checksum is the
SHA-256 of every byte before the trailer line, exactly as written, so that a reader checks it
while it reads, in constant memory. The writer emits canonical JSON; a reader accepts any
strict JSON (``load_json``: no key twice, no NaN, as for a document) that hashes right.
See ``docs/reference/export_format.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from agent_sessions.domain.entities import Compaction, FileEvent, Rewind, Session, SessionMessage
from agent_sessions.domain.errors import ImportIntegrityError
from agent_sessions.domain.export_history import (
    HistoryReader,
    HistorySnapshot,
    compaction_record,
    rewind_record,
)
from agent_sessions.domain.export_records import (
    SCHEMA_VERSION,
    ExportChecksum,
    ExportedCompaction,
    ExportedFileEvent,
    ExportedMessage,
    ExportedRewind,
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
    "StreamRecord",
]

_T = TypeVar("_T")

JSONL_FORMAT = "agent-sessions/export-jsonl"
MAX_LINE_BYTES = 32 * 1024 * 1024
"""Longest line a reader takes (32 MiB): a message at every limit fits with room to spare."""

_STREAM_SCHEMA_VERSIONS = (2, 3)
_HEADER_FIELDS = frozenset({"format", "schema_version", "exported_at", "session"})
_TRAILER_FIELDS_V2 = frozenset({"checksum", "messages", "file_events"})
_TRAILER_FIELDS = {2: _TRAILER_FIELDS_V2, 3: _TRAILER_FIELDS_V2 | {"rewinds", "compactions"}}
_KINDS = {2: ("message", "file_event"), 3: ("rewind", "compaction", "message", "file_event")}
"""The kinds of record line of each version, in the order they come."""
_STATED_ORDER = ("message", "file_event", "rewind", "compaction")
"""The order in which an error message states the counts of a trailer."""

StreamRecord = ExportedRewind | ExportedCompaction | ExportedMessage | ExportedFileEvent
"""What :meth:`ExportStreamReader.record` returns for a line that is not the trailer."""


class ExportStreamWriter:
    """Turns a session, its history, messages and file events into the lines of a stream.

    Call :meth:`header` once (it also writes the rewinds and compactions), then
    :meth:`message` for every message in sequence order, then :meth:`file_event` for every
    event in the order recorded, then :meth:`trailer`.
    """

    def __init__(self) -> None:
        """Start a stream with an empty running checksum."""
        self._checksum = ExportChecksum()
        self._history: HistorySnapshot | None = None
        self._counts = {kind: 0 for kind in _KINDS[SCHEMA_VERSION]}

    def header(
        self,
        session: Session,
        exported_at: datetime,
        rewinds: Iterable[Rewind] = (),
        compactions: Iterable[Compaction] = (),
    ) -> bytes:
        """Return the header line of ``session`` as of ``exported_at``, then its history's lines.

        ``rewinds`` and ``compactions`` are those read with the session, in the order recorded:
        the stream holds the history as of then
        (:class:`~agent_sessions.domain.export_history.HistorySnapshot`), and every message
        written later gets the ``rewound_by`` it had then.
        """
        self._history = history = HistorySnapshot(session, rewinds, compactions)
        header = {
            "format": JSONL_FORMAT,
            "schema_version": SCHEMA_VERSION,
            "exported_at": format_timestamp(exported_at),
            "session": session_record(session),
        }
        lines = [self._line(header)]
        lines += [self._record("rewind", rewind_record(rewind)) for rewind in history.rewinds]
        lines += [self._record("compaction", compaction_record(c)) for c in history.compactions]
        return b"".join(lines)

    def message(self, message: SessionMessage) -> bytes:
        """Return the line of one message."""
        assert self._history is not None, "the header first"
        return self._record("message", message_record(self._history.message(message)))

    def file_event(self, event: FileEvent, message_sequence: int) -> bytes:
        """Return the line of one file event, linked to its message by ``message_sequence``."""
        return self._record("file_event", file_event_record(event, message_sequence))

    def trailer(self) -> bytes:
        """Return the trailer line: the checksum of every line before it, and the counts."""
        record: dict[str, Any] = {"checksum": self._checksum.value()}
        record.update({f"{kind}s": count for kind, count in self._counts.items()})
        return canonical_json(record) + b"\n"

    def _record(self, kind: str, record: dict[str, Any]) -> bytes:
        self._counts[kind] += 1
        return self._line({kind: record})

    def _line(self, record: dict[str, Any]) -> bytes:
        line = canonical_json(record) + b"\n"
        self._checksum.update(line)
        return line


@dataclass(frozen=True, slots=True)
class StreamHeader:
    """The checked header of a stream: the session (without messages) and its counts.

    ``schema_version`` is the stream's version (2 or 3).
    """

    session: ExportedSession
    message_count: int
    schema_version: int = SCHEMA_VERSION


class ExportStreamReader:
    """Checks the lines of a stream one at a time, in one pass.

    Feed :meth:`header` the first line, then :meth:`record` every following line until it
    returns None (the trailer, whose checksum and counts it has verified). Every problem raises
    :class:`ImportIntegrityError` naming the line and field, such as ``line 5: message.role``;
    a ``schema_version`` it cannot read raises :class:`UnsupportedSchemaVersionError`. It holds
    the stream's rewinds, to check the messages against them, and nothing else of what it read.
    """

    def __init__(self) -> None:
        """Start reading a stream."""
        self._checksum = ExportChecksum()
        self._line_number = 0
        self._header: StreamHeader | None = None
        self._history: HistoryReader | None = None
        self._counts: dict[str, int] = {}
        self._last_kind = 0
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
        version = checked_schema_version(
            raw.get("schema_version"), _STREAM_SCHEMA_VERSIONS, "line 1: schema_version"
        )
        self._check_keys(raw, _HEADER_FIELDS, "the header")
        parse_timestamp(raw["exported_at"], "line 1: exported_at")
        session, message_count = self._within(lambda: parse_session_record(raw["session"], version))
        self._header = StreamHeader(session, message_count, version)
        self._history = HistoryReader(message_count)
        self._counts = {kind: 0 for kind in _KINDS[version]}
        return self._header

    def record(self, line: bytes) -> StreamRecord | None:
        """Check the next line; return its record, or None for a verified trailer."""
        header, history = self._header, self._history
        assert header is not None and history is not None, "the header first"
        assert not self._finished, "nothing after the trailer"
        raw = self._decode(line, hashed=False)
        if not isinstance(raw, dict) or len(raw) == 0:
            raise self._error(f"must be a JSON object, got {type(raw).__name__}")
        kinds = _KINDS[header.schema_version]
        kind = next(iter(raw)) if len(raw) == 1 else None
        if kind in kinds:
            self._checksum.update(line)
            self._count(kind, kinds)
            return self._within(lambda: self._parse(kind, raw[kind], header, history))
        if "checksum" in raw:
            self._check_trailer(raw)
            return None
        keys = ", ".join(sorted(abbreviated_repr(key) for key in raw))
        named = ", ".join(f"a {_words(kind)}" for kind in ("message", "file_event", *kinds[:-2]))
        raise self._error(f"is neither {named} nor the trailer (keys {keys})")

    def _count(self, kind: str, kinds: tuple[str, ...]) -> None:
        order = kinds.index(kind)
        if order < self._last_kind:
            raise self._error(
                f"a {_words(kind)} comes after a {_words(kinds[self._last_kind])}; "
                f"{_words(kind)}s come first"
            )
        self._last_kind = order
        self._counts[kind] += 1

    def _parse(
        self, kind: str, raw: object, header: StreamHeader, history: HistoryReader
    ) -> StreamRecord:
        if kind == "rewind":
            return history.rewind(raw, kind)
        if kind == "compaction":
            return history.compaction(raw, kind)
        if kind == "message":
            message = parse_message_record(raw, kind, self._counts[kind], header.schema_version)
            history.check_message(message, kind)
            return message
        event = parse_file_event_record(
            raw, kind, header.message_count, header.session.updated_at, self._last_event_at
        )
        self._last_event_at = event.created_at
        return event

    def finish(self) -> None:
        """Raise unless the stream ended with its trailer."""
        if not self._finished:
            raise ImportIntegrityError(
                f"the stream ends after line {self._line_number} without its trailer: it was "
                f"cut short"
            )

    def _check_trailer(self, raw: dict[str, Any]) -> None:
        assert self._header is not None
        self._check_keys(raw, _TRAILER_FIELDS[self._header.schema_version], "the trailer")
        stated = ExportChecksum.well_formed(raw["checksum"], f"line {self._line_number} checksum")
        self._checksum.verify(stated, "stream")
        kinds = list(self._counts)
        counts = [raw[f"{kind}s"] for kind in kinds]
        held = list(self._counts.values())
        if counts != held:
            raise self._error(
                f"states {_listed(counts, kinds)}, but the stream holds "
                f"{_listed(held, kinds, named=False)}"
            )
        if self._counts["message"] != self._header.message_count:
            raise ImportIntegrityError(
                f"session.message_count is {self._header.message_count} but the stream holds "
                f"{self._counts['message']} messages"
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


def _words(kind: str) -> str:
    return kind.replace("_", " ")


def _listed(counts: list[Any], kinds: list[str], *, named: bool = True) -> str:
    """Return counts as ``"3 messages and 2 file events"`` (or ``"3 and 2"``), messages first."""
    order = sorted(range(len(kinds)), key=lambda index: _STATED_ORDER.index(kinds[index]))
    items = [
        f"{counts[index]} {_words(kinds[index])}s" if named else str(counts[index])
        for index in order
    ]
    return ", ".join(items[:-1]) + " and " + items[-1]
