"""The export document: building it, its checksum, and checking one before import.

The document is a JSON-serialisable dict::

    {"format": "agent-sessions/export", "schema_version": 1, "exported_at": "...Z",
     "session": {...}, "messages": [...], "checksum": "sha256:<hex>"}

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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from agent_sessions.domain.entities import MessageRole, Session, SessionMessage
from agent_sessions.domain.errors import (
    ImportIntegrityError,
    InvalidInputError,
    UnsupportedSchemaVersionError,
)
from agent_sessions.domain.validation import (
    abbreviated_repr,
    validate_actor_name,
    validate_content,
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
    "MAX_DOCUMENT_MESSAGES",
    "SCHEMA_VERSION",
    "SUPPORTED_SCHEMA_VERSIONS",
    "ExportedMessage",
    "ExportedSession",
    "build_export_document",
    "canonical_json",
    "compute_checksum",
    "format_timestamp",
    "message_record",
    "parse_export_document",
    "parse_timestamp",
    "session_record",
]

_T = TypeVar("_T")

EXPORT_FORMAT = "agent-sessions/export"
SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (1,)
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
"""Largest document that import takes: 64 MiB of canonical JSON (the bytes the checksum covers)."""
MAX_DOCUMENT_MESSAGES = 100_000
"""Most messages that one imported document may hold (they are written in one transaction)."""

_CHECKSUM = re.compile(r"sha256:[0-9a-f]{64}")

_SESSION_FIELDS = frozenset(
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
_DOCUMENT_FIELDS = frozenset(
    {"format", "schema_version", "exported_at", "session", "messages", "checksum"}
)


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
class ExportedSession:
    """A session read from a verified export document, with its messages in sequence order."""

    actor_name: str
    title: str | None
    metadata: dict[str, Any]
    prompt_tokens: int
    completion_tokens: int
    created_at: datetime
    updated_at: datetime
    messages: tuple[ExportedMessage, ...]


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


def build_export_document(
    session: Session, messages: Iterable[SessionMessage], exported_at: datetime
) -> dict[str, Any]:
    """Return the export document of ``session`` and its ``messages`` (ascending sequence)."""
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "exported_at": format_timestamp(exported_at),
        "session": session_record(session),
        "messages": [message_record(message) for message in messages],
    }
    document["checksum"] = compute_checksum(document)
    return document


def parse_export_document(document: object) -> ExportedSession:
    """Verify an export document and return its content, or raise before anything is written.

    Order of checks: the document is a JSON object (a dict) of the right ``format``; its
    ``schema_version`` (:class:`UnsupportedSchemaVersionError` for an integer this code does
    not read); its fields and the number of messages; every field of the session and of each
    message, whatever the checksum says; the size of its canonical JSON; the checksum last.
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
    _check_keys(document, _DOCUMENT_FIELDS, "the export document")
    raw_messages = document["messages"]
    if not isinstance(raw_messages, list):
        raise ImportIntegrityError(f"messages must be a list, got {type(raw_messages).__name__}")
    if len(raw_messages) > MAX_DOCUMENT_MESSAGES:
        raise ImportIntegrityError(
            f"messages holds {len(raw_messages)} messages; an import takes at most "
            f"{MAX_DOCUMENT_MESSAGES}"
        )
    parse_timestamp(document["exported_at"], "exported_at")
    exported = _parse_session(document["session"], raw_messages)
    _verify_checksum(document)
    return exported


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


def _parse_session(raw: object, raw_messages: list[Any]) -> ExportedSession:
    session = _fields(raw, _SESSION_FIELDS, "session")
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
        messages=tuple(
            _parse_message(item, f"messages[{index}]", index + 1)
            for index, item in enumerate(raw_messages)
        ),
    )
    message_count = _checked(_count, session["message_count"], "session.message_count")
    if message_count != len(raw_messages):
        raise ImportIntegrityError(
            f"session.message_count is {message_count} but the document holds "
            f"{len(raw_messages)} messages"
        )
    return exported


def _parse_message(raw: object, where: str, expected_sequence: int) -> ExportedMessage:
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
