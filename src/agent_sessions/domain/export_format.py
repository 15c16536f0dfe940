"""The export document: building it, its checksum, and checking one before import.

The document is a JSON-serialisable dict::

    {"format": "agent-sessions/export", "schema_version": 3, "exported_at": "...Z",
     "session": {...}, "rewinds": [...], "compactions": [...], "messages": [...],
     "file_events": [...], "checksum": "sha256:<hex>"}

Version 2 added ``file_events`` (each linked to its message by ``message_sequence``, since ids
change on import) and the session's ``external_id``; version 3 the session's parent and fork
point, each message's ``rewound_by``, and the ``rewinds`` and ``compactions``
(``export_history``). Versions 1 and 2 are still read.

The checksum is the SHA-256 of the canonical JSON (sorted keys, no insignificant white space,
UTF-8, non-ASCII kept as is) of every field but ``checksum``. The records inside, their checks
and the checksum's rules live in ``export_records`` (shared with the JSON Lines stream): import
them from there. See ``docs/reference/export_format.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

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
    ExportedFileEvent,
    ExportedSession,
    canonical_json,
    check_keys,
    checked_schema_version,
    file_event_record,
    format_timestamp,
    message_record,
    parse_file_event_record,
    parse_message_record,
    parse_session_record,
    parse_timestamp,
    session_record,
)
from agent_sessions.domain.validation import abbreviated_repr

__all__ = [
    "EXPORT_FORMAT",
    "MAX_DOCUMENT_BYTES",
    "MAX_DOCUMENT_FILE_EVENTS",
    "MAX_DOCUMENT_HISTORY",
    "MAX_DOCUMENT_MESSAGES",
    "SUPPORTED_SCHEMA_VERSIONS",
    "build_export_document",
    "compute_checksum",
    "parse_export_document",
]

EXPORT_FORMAT = "agent-sessions/export"
SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (1, 2, 3)
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
"""Largest document that import takes: 64 MiB of canonical JSON (the bytes the checksum covers)."""
MAX_DOCUMENT_MESSAGES = 100_000
"""Most messages that one imported document may hold (they are written in one transaction)."""
MAX_DOCUMENT_FILE_EVENTS = 1_000_000
"""Most file events that one imported document may hold."""
MAX_DOCUMENT_HISTORY = 100_000
"""Most rewinds, and most compactions, that one imported document may hold (each)."""

_DOCUMENT_FIELDS_V1 = frozenset(
    {"format", "schema_version", "exported_at", "session", "messages", "checksum"}
)
_DOCUMENT_FIELDS_V2 = _DOCUMENT_FIELDS_V1 | {"file_events"}
_DOCUMENT_FIELDS = {
    1: _DOCUMENT_FIELDS_V1,
    2: _DOCUMENT_FIELDS_V2,
    3: _DOCUMENT_FIELDS_V2 | {"rewinds", "compactions"},
}


def compute_checksum(document: Mapping[str, Any]) -> str:
    """Return ``"sha256:<hex>"`` over the canonical JSON of every field except ``checksum``."""
    return ExportChecksum(canonical_json(_signed_part(document))).value()


def _signed_part(document: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "checksum"}


def build_export_document(
    session: Session,
    messages: Iterable[SessionMessage],
    exported_at: datetime,
    file_events: Iterable[FileEvent] = (),
    rewinds: Iterable[Rewind] = (),
    compactions: Iterable[Compaction] = (),
) -> dict[str, Any]:
    """Return the export document of a session, its transcript, file events and history.

    ``messages`` (every message, rewound ones included) come in ascending sequence,
    ``file_events``, ``rewinds`` and ``compactions`` in the order recorded; each event's
    message must be among ``messages``. The history written is the one of the session as
    read (:class:`~agent_sessions.domain.export_history.HistorySnapshot`), and each message's
    ``rewound_by`` is as of then.
    """
    history = HistorySnapshot(session, rewinds, compactions)
    message_records = []
    sequence_of: dict[str, int] = {}
    for message in messages:
        message_records.append(message_record(history.message(message)))
        sequence_of[message.id] = message.sequence
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "exported_at": format_timestamp(exported_at),
        "session": session_record(session),
        "rewinds": [rewind_record(rewind) for rewind in history.rewinds],
        "compactions": [compaction_record(compaction) for compaction in history.compactions],
        "messages": message_records,
        "file_events": [
            file_event_record(event, sequence_of[event.message_id]) for event in file_events
        ],
    }
    document["checksum"] = compute_checksum(document)
    return document


def parse_export_document(document: object) -> ExportedSession:
    """Verify an export document and return its content, or raise before anything is written.

    Order of checks: the document is a JSON object (a dict) of the right ``format``; its
    ``schema_version`` (:class:`UnsupportedSchemaVersionError` for an integer this code does
    not read); its fields (``file_events`` from version 2, ``rewinds`` and ``compactions``
    from version 3) and the number of messages, events, rewinds and compactions; every field
    of the session (``external_id`` from version 2, its parent from version 3), of each
    rewind and compaction (:class:`~agent_sessions.domain.export_history.HistoryReader`), of
    each message (its ``rewound_by`` consistent with the rewinds) and of each file event (its
    ``message_sequence`` names a message, times strictly increase and none is after the
    session's ``updated_at``), whatever the checksum says; the size of its canonical JSON; the
    checksum last.
    Anything else that is wrong raises :class:`ImportIntegrityError`, whose message starts
    with the path of the field, such as ``messages[3].sequence``.
    """
    if not isinstance(document, dict):
        raise ImportIntegrityError(
            f"an export document must be a JSON object, got {type(document).__name__}"
        )
    if document.get("format") != EXPORT_FORMAT:
        raise ImportIntegrityError(
            f"format is {abbreviated_repr(document.get('format'))}, expected "
            f"{EXPORT_FORMAT!r}: not an agent-sessions export"
        )
    if "schema_version" not in document:
        raise ImportIntegrityError("schema_version is missing from the export document")
    version = checked_schema_version(
        document["schema_version"], SUPPORTED_SCHEMA_VERSIONS, "schema_version"
    )
    check_keys(document, _DOCUMENT_FIELDS[version], "the export document")
    raw_messages = _list_of(document, "messages", MAX_DOCUMENT_MESSAGES)
    raw_events = _list_of(document, "file_events", MAX_DOCUMENT_FILE_EVENTS) if version > 1 else []
    raw_rewinds = _list_of(document, "rewinds", MAX_DOCUMENT_HISTORY) if version > 2 else []
    raw_compactions = _list_of(document, "compactions", MAX_DOCUMENT_HISTORY) if version > 2 else []
    parse_timestamp(document["exported_at"], "exported_at")
    header, message_count = parse_session_record(document["session"], version)
    history = HistoryReader(message_count)
    rewinds = tuple(
        history.rewind(item, f"rewinds[{index}]") for index, item in enumerate(raw_rewinds)
    )
    compactions = tuple(
        history.compaction(item, f"compactions[{index}]")
        for index, item in enumerate(raw_compactions)
    )
    exported = _parse_content(
        replace(header, rewinds=rewinds, compactions=compactions),
        message_count,
        raw_messages,
        raw_events,
        version,
        history,
    )
    _verify_checksum(document)
    return exported


def _list_of(document: dict[str, Any], name: str, most: int) -> list[Any]:
    items = document[name]
    if not isinstance(items, list):
        raise ImportIntegrityError(f"{name} must be a list, got {type(items).__name__}")
    if len(items) > most:
        raise ImportIntegrityError(
            f"{name} holds {len(items)} items; an import takes at most {most}"
        )
    return items


def _verify_checksum(document: dict[str, Any]) -> None:
    stated = ExportChecksum.well_formed(document["checksum"], "checksum")
    body = canonical_json(_signed_part(document))
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ImportIntegrityError(
            f"the export document is {len(body)} bytes of canonical JSON; an import takes at "
            f"most {MAX_DOCUMENT_BYTES} (64 MiB)"
        )
    ExportChecksum(body).verify(stated, "document")


def _parse_content(
    header: ExportedSession,
    message_count: int,
    raw_messages: list[Any],
    raw_events: list[Any],
    version: int,
    history: HistoryReader,
) -> ExportedSession:
    messages = []
    for index, item in enumerate(raw_messages):
        where = f"messages[{index}]"
        message = parse_message_record(item, where, index + 1, version)
        history.check_message(message, where)
        messages.append(message)
    if message_count != len(raw_messages):
        raise ImportIntegrityError(
            f"session.message_count is {message_count} but the document holds "
            f"{len(raw_messages)} messages"
        )
    events: list[ExportedFileEvent] = []
    for index, item in enumerate(raw_events):
        previous = events[-1].created_at if events else None
        events.append(
            parse_file_event_record(
                item, f"file_events[{index}]", message_count, header.updated_at, previous
            )
        )
    return replace(header, messages=tuple(messages), file_events=tuple(events))
