"""The export document: building it, its checksum, and checking one before import.

The document is a JSON-serialisable dict::

    {"format": "agent-sessions/export", "schema_version": 2, "exported_at": "...Z",
     "session": {...}, "messages": [...], "file_events": [...], "checksum": "sha256:<hex>"}

Version 2 added ``file_events`` (each linked to its message by ``message_sequence``, since ids
change on import) and the session's ``external_id``; version 1 documents are still read.

The checksum is the SHA-256 of the canonical JSON (sorted keys, no insignificant white space,
UTF-8, non-ASCII kept as is) of every field but ``checksum``. See
``docs/reference/export_format.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from agent_sessions.domain.entities import (
    FileEvent,
    FileEventType,
    MessageRole,
    Session,
    SessionMessage,
)
from agent_sessions.domain.errors import (
    ImportIntegrityError,
    InvalidInputError,
    UnsupportedSchemaVersionError,
)
from agent_sessions.domain.validation import (
    abbreviated_repr,
    validate_actor_name,
    validate_content,
    validate_external_id,
    validate_file_event,
    validate_metadata,
    validate_role,
    validate_session_id,
    validate_title,
    validate_token_count,
    validate_token_delta,
)

__all__ = [
    "EXPORT_FORMAT",
    "MAX_DOCUMENT_BYTES",
    "MAX_DOCUMENT_FILE_EVENTS",
    "MAX_DOCUMENT_MESSAGES",
    "SCHEMA_VERSION",
    "SUPPORTED_SCHEMA_VERSIONS",
    "ExportedFileEvent",
    "ExportedMessage",
    "ExportedSession",
    "build_export_document",
    "canonical_json",
    "compute_checksum",
    "file_event_record",
    "format_timestamp",
    "message_record",
    "parse_export_document",
    "parse_file_event_record",
    "parse_message_record",
    "parse_session_record",
    "parse_timestamp",
    "session_record",
]

_T = TypeVar("_T")

EXPORT_FORMAT = "agent-sessions/export"
SCHEMA_VERSION = 2
SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (1, 2)
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
"""Largest document that import takes: 64 MiB of canonical JSON (the bytes the checksum covers)."""
MAX_DOCUMENT_MESSAGES = 100_000
"""Most messages that one imported document may hold (they are written in one transaction)."""
MAX_DOCUMENT_FILE_EVENTS = 1_000_000
"""Most file events that one imported document may hold."""

_CHECKSUM = re.compile(r"sha256:[0-9a-f]{64}")

_SESSION_FIELDS_V1 = frozenset(
    {
        "id",
        "actor_name",
        "title",
        "metadata",
        "prompt_tokens",
        "completion_tokens",
        "message_count",
        "created_at",
        "updated_at",
    }
)
_MESSAGE_FIELDS = frozenset(
    {"id", "sequence", "role", "content", "metadata", "token_count", "created_at"}
)
_FILE_EVENT_FIELDS = frozenset(
    {"id", "message_sequence", "event_type", "file_path", "diff", "command", "created_at"}
)
_DOCUMENT_FIELDS_V1 = frozenset(
    {"format", "schema_version", "exported_at", "session", "messages", "checksum"}
)
_SESSION_FIELDS = {1: _SESSION_FIELDS_V1, 2: _SESSION_FIELDS_V1 | {"external_id"}}
_DOCUMENT_FIELDS = {1: _DOCUMENT_FIELDS_V1, 2: _DOCUMENT_FIELDS_V1 | {"file_events"}}


@dataclass(frozen=True, slots=True)
class ExportedMessage:
    """A message read from a verified export document (its old id is not kept)."""

    sequence: int
    role: MessageRole
    content: str
    metadata: dict[str, Any]
    token_count: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ExportedFileEvent:
    """A file event read from a verified export document, linked to its message by sequence."""

    message_sequence: int
    event_type: FileEventType
    file_path: str | None
    diff: str | None
    command: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ExportedSession:
    """A session read from a verified export document, with its messages in sequence order.

    ``external_id`` is None and ``file_events`` empty for a version 1 document.
    """

    actor_name: str
    title: str | None
    metadata: dict[str, Any]
    prompt_tokens: int
    completion_tokens: int
    created_at: datetime
    updated_at: datetime
    messages: tuple[ExportedMessage, ...]
    external_id: str | None = None
    file_events: tuple[ExportedFileEvent, ...] = ()


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 JSON encoding of ``value`` (sorted keys, compact)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def compute_checksum(document: Mapping[str, Any]) -> str:
    """Return ``"sha256:<hex>"`` over the canonical JSON of every field except ``checksum``."""
    body = {key: value for key, value in document.items() if key != "checksum"}
    return "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()


def format_timestamp(moment: datetime) -> str:
    """Return an aware datetime as ISO 8601 UTC with microseconds and a ``Z`` suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: object, where: str) -> datetime:
    """Parse an ISO 8601 timestamp with an explicit offset into an aware UTC datetime."""
    if not isinstance(text, str):
        raise ImportIntegrityError(
            f"{where} must be an ISO 8601 timestamp string, got {type(text).__name__}"
        )
    shown = abbreviated_repr(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ImportIntegrityError(f"{where} is not an ISO 8601 timestamp: {shown}") from None
    if moment.tzinfo is None:
        raise ImportIntegrityError(f"{where} has no time zone: {shown}")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ImportIntegrityError(f"{where} is out of range in UTC: {shown}") from None


def session_record(session: Session) -> dict[str, Any]:
    """Return the JSON form of a session used by the export document (and the CLI's --json)."""
    return {
        "id": session.id,
        "actor_name": session.actor_name,
        "external_id": session.external_id,
        "title": session.title,
        "metadata": session.metadata,
        "prompt_tokens": session.prompt_tokens,
        "completion_tokens": session.completion_tokens,
        "message_count": session.message_count,
        "created_at": format_timestamp(session.created_at),
        "updated_at": format_timestamp(session.updated_at),
    }


def message_record(message: SessionMessage) -> dict[str, Any]:
    """Return the JSON form of a message used by the export document (and the CLI's --json)."""
    return {
        "id": message.id,
        "sequence": message.sequence,
        "role": message.role.value,
        "content": message.content,
        "metadata": message.metadata,
        "token_count": message.token_count,
        "created_at": format_timestamp(message.created_at),
    }


def file_event_record(event: FileEvent, message_sequence: int) -> dict[str, Any]:
    """Return the JSON form of a file event, linked to its message by ``message_sequence``."""
    return {
        "id": event.id,
        "message_sequence": message_sequence,
        "event_type": event.event_type.value,
        "file_path": event.file_path,
        "diff": event.diff,
        "command": event.command,
        "created_at": format_timestamp(event.created_at),
    }


def build_export_document(
    session: Session,
    messages: Iterable[SessionMessage],
    exported_at: datetime,
    file_events: Iterable[FileEvent] = (),
) -> dict[str, Any]:
    """Return the export document of a session, its messages and its file events.

    ``messages`` come in ascending sequence and ``file_events`` in the order recorded; each
    event's message must be among ``messages``.
    """
    message_records = []
    sequence_of: dict[str, int] = {}
    for message in messages:
        message_records.append(message_record(message))
        sequence_of[message.id] = message.sequence
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "exported_at": format_timestamp(exported_at),
        "session": session_record(session),
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
    not read); its fields (``file_events`` from version 2) and the number of messages and
    events; every field of the session (``external_id`` from version 2), of each message and
    of each file event (its ``message_sequence`` names a message, times strictly increase and
    none is after the session's ``updated_at``), whatever the checksum says; the size of its
    canonical JSON; the checksum last.
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
    version = document["schema_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise ImportIntegrityError(
            f"schema_version must be an integer, got {type(version).__name__}"
        )
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise UnsupportedSchemaVersionError(version, SUPPORTED_SCHEMA_VERSIONS)
    _check_keys(document, _DOCUMENT_FIELDS[version], "the export document")
    raw_messages = _list_of(document, "messages", MAX_DOCUMENT_MESSAGES)
    raw_events = _list_of(document, "file_events", MAX_DOCUMENT_FILE_EVENTS) if version > 1 else []
    parse_timestamp(document["exported_at"], "exported_at")
    exported = _parse_session(document["session"], raw_messages, raw_events, version)
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
    stated = document["checksum"]
    if not isinstance(stated, str) or not _CHECKSUM.fullmatch(stated):
        raise ImportIntegrityError(
            f"checksum must be 'sha256:' and 64 lower-case hex digits, got "
            f"{abbreviated_repr(stated)}"
        )
    body = canonical_json({key: value for key, value in document.items() if key != "checksum"})
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ImportIntegrityError(
            f"the export document is {len(body)} bytes of canonical JSON; an import takes at "
            f"most {MAX_DOCUMENT_BYTES} (64 MiB)"
        )
    expected = "sha256:" + hashlib.sha256(body).hexdigest()
    if not hmac.compare_digest(stated, expected):
        raise ImportIntegrityError(
            "checksum mismatch: the document was changed or damaged after export "
            f"(stated {stated}, computed {expected})"
        )


def _parse_session(
    raw: object, raw_messages: list[Any], raw_events: list[Any], version: int
) -> ExportedSession:
    header, message_count = parse_session_record(raw, version)
    messages = tuple(
        parse_message_record(item, f"messages[{index}]", index + 1)
        for index, item in enumerate(raw_messages)
    )
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
    return replace(header, messages=messages, file_events=tuple(events))


def parse_session_record(raw: object, version: int) -> tuple[ExportedSession, int]:
    """Check the ``session`` record of an export and return it (without messages or events).

    Returns the session and the ``message_count`` it states. Raises
    :class:`ImportIntegrityError` naming the field, such as ``session.title``.
    """
    session = _fields(raw, _SESSION_FIELDS[version], "session")
    _checked(validate_session_id, session["id"], "session.id")
    exported = ExportedSession(
        actor_name=_checked(validate_actor_name, session["actor_name"], "session.actor_name"),
        title=_checked(validate_title, session["title"], "session.title"),
        metadata=_checked(validate_metadata, session["metadata"], "session.metadata"),
        prompt_tokens=_checked(_count, session["prompt_tokens"], "session.prompt_tokens"),
        completion_tokens=_checked(
            _count, session["completion_tokens"], "session.completion_tokens"
        ),
        created_at=parse_timestamp(session["created_at"], "session.created_at"),
        updated_at=parse_timestamp(session["updated_at"], "session.updated_at"),
        messages=(),
        external_id=_checked(
            validate_external_id, session.get("external_id"), "session.external_id"
        ),
    )
    return exported, _checked(_count, session["message_count"], "session.message_count")


def parse_message_record(raw: object, where: str, expected_sequence: int) -> ExportedMessage:
    """Check one message record of an export (at ``where``) and return it."""
    message = _fields(raw, _MESSAGE_FIELDS, where)
    _checked(validate_session_id, message["id"], f"{where}.id")
    sequence = message["sequence"]
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise ImportIntegrityError(
            f"{where}.sequence must be an integer, got {type(sequence).__name__}"
        )
    if sequence != expected_sequence:
        raise ImportIntegrityError(
            f"{where}.sequence is {abbreviated_repr(sequence)}, expected {expected_sequence}: "
            f"sequences must run 1, 2, 3 ... in array order, without gap or duplicate"
        )
    return ExportedMessage(
        sequence=sequence,
        role=_checked(validate_role, message["role"], f"{where}.role"),
        content=_checked(validate_content, message["content"], f"{where}.content"),
        metadata=_checked(validate_metadata, message["metadata"], f"{where}.metadata"),
        token_count=_checked(validate_token_count, message["token_count"], f"{where}.token_count"),
        created_at=parse_timestamp(message["created_at"], f"{where}.created_at"),
    )


def parse_file_event_record(
    raw: object,
    where: str,
    message_count: int,
    updated_at: datetime,
    previous: datetime | None,
) -> ExportedFileEvent:
    """Check one file event record of an export (at ``where``) and return it.

    Its ``message_sequence`` must name one of the ``message_count`` messages, and its
    ``created_at`` must come after ``previous`` (the event before it, if any) and not after
    the session's ``updated_at``.
    """
    event = _fields(raw, _FILE_EVENT_FIELDS, where)
    _checked(validate_session_id, event["id"], f"{where}.id")
    sequence = event["message_sequence"]
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise ImportIntegrityError(
            f"{where}.message_sequence must be an integer, got {type(sequence).__name__}"
        )
    if not 1 <= sequence <= message_count:
        raise ImportIntegrityError(
            f"{where}.message_sequence is {abbreviated_repr(sequence)}, which names no "
            f"message of the document (it holds {message_count})"
        )
    try:
        kind, path, diff, command = validate_file_event(
            event["event_type"], event["file_path"], event["diff"], event["command"]
        )
    except InvalidInputError as exc:
        raise ImportIntegrityError(f"{where}.{exc.argument}: {exc.reason}") from exc
    created_at = parse_timestamp(event["created_at"], f"{where}.created_at")
    if previous is not None and created_at <= previous:
        raise ImportIntegrityError(
            f"{where}.created_at is not later than the event before it: events must be "
            f"listed in the order recorded, with increasing times"
        )
    if created_at > updated_at:
        raise ImportIntegrityError(
            f"{where}.created_at is later than session.updated_at, which an export never holds"
        )
    return ExportedFileEvent(
        message_sequence=sequence,
        event_type=kind,
        file_path=path,
        diff=diff,
        command=command,
        created_at=created_at,
    )


def _count(value: object) -> int:
    return validate_token_delta(value, "count")


def _fields(raw: object, expected: frozenset[str], where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ImportIntegrityError(f"{where} must be a JSON object, got {type(raw).__name__}")
    _check_keys(raw, expected, where)
    return raw


def _check_keys(raw: dict[Any, Any], expected: frozenset[str], where: str) -> None:
    missing = sorted(expected - raw.keys())
    if missing:
        raise ImportIntegrityError(f"{where} lacks the field(s) {', '.join(missing)}")
    unknown = sorted(abbreviated_repr(key) for key in raw.keys() - expected)
    if unknown:
        raise ImportIntegrityError(f"{where} has unknown field(s) {', '.join(unknown)}")


def _checked(rule: Callable[[object], _T], value: object, where: str) -> _T:
    try:
        result = rule(value)
    except InvalidInputError as exc:
        raise ImportIntegrityError(f"{where}: {exc.reason}") from exc
    return result
