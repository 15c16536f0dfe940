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
    validate_actor_name,
    validate_content,
    validate_metadata,
    validate_role,
    validate_title,
    validate_token_count,
    validate_token_delta,
)

__all__ = [
    "EXPORT_FORMAT",
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
        raise ImportIntegrityError(f"{where} must be an ISO 8601 timestamp string")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ImportIntegrityError(f"{where} is not an ISO 8601 timestamp: {text!r}") from None
    if moment.tzinfo is None:
        raise ImportIntegrityError(f"{where} has no time zone: {text!r}")
    return moment.astimezone(UTC)


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

    Order of checks: the document's shape and ``format``; its ``schema_version``
    (:class:`UnsupportedSchemaVersionError`); the checksum; then every field
    (:class:`ImportIntegrityError` for anything malformed or inconsistent).
    """
    if not isinstance(document, Mapping):
        raise ImportIntegrityError(
            f"an export document must be a JSON object, got {type(document).__name__}"
        )
    if document.get("format") != EXPORT_FORMAT:
        raise ImportIntegrityError(
            f"not an agent-sessions export: format is {document.get('format')!r}, "
            f"expected {EXPORT_FORMAT!r}"
        )
    if "schema_version" not in document:
        raise ImportIntegrityError("export document lacks the field schema_version")
    version = document["schema_version"]
    if isinstance(version, bool) or version not in SUPPORTED_SCHEMA_VERSIONS:
        raise UnsupportedSchemaVersionError(version, SUPPORTED_SCHEMA_VERSIONS)
    missing = sorted(_DOCUMENT_FIELDS - document.keys())
    if missing:
        raise ImportIntegrityError(f"export document lacks the field(s) {', '.join(missing)}")
    unknown = sorted(set(document.keys()) - _DOCUMENT_FIELDS)
    if unknown:
        raise ImportIntegrityError(f"export document has unknown field(s) {', '.join(unknown)}")
    _verify_checksum(document)
    parse_timestamp(document["exported_at"], "exported_at")
    return _parse_session(document["session"], document["messages"])


def _verify_checksum(document: Mapping[str, Any]) -> None:
    stated = document["checksum"]
    if not isinstance(stated, str) or not stated.startswith("sha256:"):
        raise ImportIntegrityError(f"checksum must be 'sha256:<hex>', got {stated!r}")
    try:
        expected = compute_checksum(document)
    except (TypeError, ValueError) as exc:
        raise ImportIntegrityError(f"export document is not valid JSON data: {exc}") from exc
    if not hmac.compare_digest(stated, expected):
        raise ImportIntegrityError(
            "checksum mismatch: the document was changed or damaged after export "
            f"(stated {stated}, computed {expected})"
        )


def _parse_session(raw: object, raw_messages: object) -> ExportedSession:
    session = _fields(raw, _SESSION_FIELDS, "session")
    if not isinstance(raw_messages, list):
        raise ImportIntegrityError("messages must be a list")
    messages = tuple(
        _parse_message(item, f"messages[{index}]") for index, item in enumerate(raw_messages)
    )
    for expected, message in enumerate(messages, start=1):
        if message.sequence != expected:
            raise ImportIntegrityError(
                f"messages must have sequences 1..{len(messages)} in order; "
                f"found {message.sequence} at position {expected}"
            )
    message_count = _checked(_count, session["message_count"], "session.message_count")
    if message_count != len(messages):
        raise ImportIntegrityError(
            f"session.message_count is {message_count} but the document holds "
            f"{len(messages)} messages"
        )
    return ExportedSession(
        actor_name=_checked(validate_actor_name, session["actor_name"], "session.actor_name"),
        title=_checked(validate_title, session["title"], "session.title"),
        metadata=_checked(validate_metadata, session["metadata"], "session.metadata"),
        prompt_tokens=_checked(_count, session["prompt_tokens"], "session.prompt_tokens"),
        completion_tokens=_checked(
            _count, session["completion_tokens"], "session.completion_tokens"
        ),
        created_at=parse_timestamp(session["created_at"], "session.created_at"),
        updated_at=parse_timestamp(session["updated_at"], "session.updated_at"),
        messages=messages,
    )


def _parse_message(raw: object, where: str) -> ExportedMessage:
    message = _fields(raw, _MESSAGE_FIELDS, where)
    sequence = message["sequence"]
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise ImportIntegrityError(f"{where}.sequence must be an integer")
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


def _fields(raw: object, expected: frozenset[str], where: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ImportIntegrityError(f"{where} must be a JSON object")
    missing = sorted(expected - raw.keys())
    if missing:
        raise ImportIntegrityError(f"{where} lacks the field(s) {', '.join(missing)}")
    unknown = sorted(set(raw.keys()) - expected)
    if unknown:
        raise ImportIntegrityError(f"{where} has unknown field(s) {', '.join(unknown)}")
    return raw


def _checked(rule: Callable[[object], _T], value: object, where: str) -> _T:
    try:
        result = rule(value)
    except InvalidInputError as exc:
        raise ImportIntegrityError(f"{where}: {exc.reason}") from exc
    return result
