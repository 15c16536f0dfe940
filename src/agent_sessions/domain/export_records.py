"""The records of an export, shared by the JSON document and the JSON Lines stream.

Both forms carry the same session, message and file event records (and, from version 3, the
rewind and compaction records of ``export_history``), encode them as canonical JSON, sign them
with a ``"sha256:<hex>"`` checksum and refuse a record with a missing or unknown field. This
module is the one home of those rules: writing a record (:func:`session_record`,
:func:`message_record`, :func:`file_event_record`), checking one read back
(:func:`parse_session_record` and its siblings, into ``export_content``'s classes, over
:func:`record_fields`,
:func:`checked_field` and :func:`checked_integer`), the key check (:func:`check_keys`) and the
checksum's form and comparison (:class:`ExportChecksum`), and the strict JSON that both forms
are read with (:func:`load_json`). ``export_format`` wraps the records in one document and
``export_stream`` in lines. See ``docs/reference/export_format.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from agent_sessions.domain.entities import (
    FileEvent,
    Session,
    SessionMessage,
)
from agent_sessions.domain.errors import (
    ImportIntegrityError,
    InvalidInputError,
    UnsupportedSchemaVersionError,
)
from agent_sessions.domain.export_content import (
    ExportedFileEvent,
    ExportedMessage,
    ExportedSession,
)
from agent_sessions.domain.validation import (
    abbreviated_repr,
    validate_actor_name,
    validate_content,
    validate_external_id,
    validate_file_event,
    validate_metadata,
    validate_owner_id,
    validate_role,
    validate_title,
    validate_token_count,
    validate_token_delta,
    validate_ulid,
)

__all__ = [
    "SCHEMA_VERSION",
    "ExportChecksum",
    "canonical_json",
    "check_keys",
    "checked_field",
    "checked_integer",
    "checked_schema_version",
    "file_event_record",
    "format_timestamp",
    "load_json",
    "message_record",
    "parse_file_event_record",
    "parse_message_record",
    "parse_session_record",
    "parse_timestamp",
    "record_fields",
    "record_id",
    "session_record",
]

_T = TypeVar("_T")

SCHEMA_VERSION = 3
"""The version of the records this code writes.

Version 2 added file events and external ids; version 3 a session's parent, fork point and
owner, each message's ``rewound_by``, and the session's rewinds and compactions.
"""

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
_SESSION_FIELDS_V2 = _SESSION_FIELDS_V1 | {"external_id"}
_SESSION_FIELDS = {
    1: _SESSION_FIELDS_V1,
    2: _SESSION_FIELDS_V2,
    3: _SESSION_FIELDS_V2 | {"parent_session_id", "forked_at_sequence", "owner_id"},
}
_MESSAGE_FIELDS_V1 = frozenset(
    {"id", "sequence", "role", "content", "metadata", "token_count", "created_at"}
)
_MESSAGE_FIELDS = {
    1: _MESSAGE_FIELDS_V1,
    2: _MESSAGE_FIELDS_V1,
    3: _MESSAGE_FIELDS_V1 | {"rewound_by"},
}
_FILE_EVENT_FIELDS = frozenset(
    {"id", "message_sequence", "event_type", "file_path", "diff", "command", "created_at"}
)


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 JSON encoding of ``value`` (sorted keys, compact)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


class ExportChecksum:
    """The SHA-256 checksum of an export's bytes, fed in order, as ``"sha256:<hex>"``."""

    def __init__(self, data: bytes = b"") -> None:
        """Start the checksum, over ``data`` if given."""
        self._hash = hashlib.sha256(data)

    def update(self, data: bytes) -> None:
        """Add the next bytes."""
        self._hash.update(data)

    def value(self) -> str:
        """Return the checksum of the bytes so far, as an export states it."""
        return "sha256:" + self._hash.hexdigest()

    @staticmethod
    def well_formed(stated: object, where: str) -> str:
        """Return ``stated`` if it is ``"sha256:"`` and 64 lower-case hex digits, or raise.

        Raises :class:`ImportIntegrityError` whose message starts with ``where``.
        """
        if not isinstance(stated, str) or not _CHECKSUM.fullmatch(stated):
            raise ImportIntegrityError(
                f"{where} must be 'sha256:' and 64 lower-case hex digits, got "
                f"{abbreviated_repr(stated)}"
            )
        return stated

    def verify(self, stated: str, what: str) -> None:
        """Raise :class:`ImportIntegrityError` unless ``stated`` is this checksum.

        The comparison takes constant time; ``what`` names what was signed ("document").
        """
        computed = self.value()
        if not hmac.compare_digest(stated, computed):
            raise ImportIntegrityError(
                f"checksum mismatch: the {what} was changed or damaged after export "
                f"(stated {stated}, computed {computed})"
            )


def load_json(text: str | bytes, where: str) -> Any:
    """Parse the strict JSON of an export document or of one line of a stream.

    Bytes must be UTF-8. A key repeated in one object is refused rather than resolved to its
    last value, and so are ``NaN``, ``Infinity`` and ``-Infinity``. Every failure, nesting
    and integers past what Python's parser takes included, raises
    :class:`ImportIntegrityError` whose message starts with ``where`` ("line 3", a file name).
    """
    try:
        decoded = text.decode("utf-8") if isinstance(text, bytes) else text
        return json.loads(decoded, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError too
        raise ImportIntegrityError(f"{where} is not valid JSON: {exc}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in pairs:
        if key in record:
            raise ValueError(f"the key {abbreviated_repr(key)} appears twice in one object")
        record[key] = value
    return record


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_keys(raw: Mapping[Any, Any], expected: frozenset[str], where: str) -> None:
    """Raise :class:`ImportIntegrityError` unless ``raw`` has exactly the ``expected`` keys.

    The message starts with ``where`` and names the missing fields, else the unknown ones.
    """
    missing = sorted(expected - raw.keys())
    if missing:
        raise ImportIntegrityError(f"{where} lacks the field(s) {', '.join(missing)}")
    unknown = sorted(abbreviated_repr(key) for key in raw.keys() - expected)
    if unknown:
        raise ImportIntegrityError(f"{where} has unknown field(s) {', '.join(unknown)}")


def checked_schema_version(version: object, supported: tuple[int, ...], where: str) -> int:
    """Return ``version`` if it is one of ``supported``.

    Raises :class:`ImportIntegrityError` (message starting with ``where``) for what is not an
    integer, and :class:`UnsupportedSchemaVersionError` for an integer not supported.
    """
    checked = checked_integer(version, where)
    if checked not in supported:
        raise UnsupportedSchemaVersionError(checked, supported)
    return checked


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
        "parent_session_id": session.parent_session_id,
        "forked_at_sequence": session.forked_at_sequence,
        "owner_id": session.owner_id,
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
        "rewound_by": message.rewound_by,
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


def parse_session_record(raw: object, version: int) -> tuple[ExportedSession, int]:
    """Check the ``session`` record of an export and return it (without messages or events).

    Returns the session and the ``message_count`` it states. Raises
    :class:`ImportIntegrityError` naming the field, such as ``session.title``. From version 3
    the parent is a reference: a ULID or null, never the session itself, with a fork point
    (0 or more) exactly when there is a parent, and the owner is null or follows the rule of
    ``owner_id`` at ``create``.
    """
    session = record_fields(raw, _SESSION_FIELDS[version], "session")
    own_id = record_id(session["id"], "session.id")
    exported = ExportedSession(
        actor_name=checked_field(validate_actor_name, session["actor_name"], "session.actor_name"),
        title=checked_field(validate_title, session["title"], "session.title"),
        metadata=checked_field(validate_metadata, session["metadata"], "session.metadata"),
        prompt_tokens=checked_field(_count, session["prompt_tokens"], "session.prompt_tokens"),
        completion_tokens=checked_field(
            _count, session["completion_tokens"], "session.completion_tokens"
        ),
        created_at=parse_timestamp(session["created_at"], "session.created_at"),
        updated_at=parse_timestamp(session["updated_at"], "session.updated_at"),
        messages=(),
        external_id=checked_field(
            validate_external_id, session.get("external_id"), "session.external_id"
        ),
    )
    message_count = checked_field(_count, session["message_count"], "session.message_count")
    if version < 3:
        return exported, message_count
    parent, point = _fork_reference(session, own_id)
    owner = checked_field(validate_owner_id, session["owner_id"], "session.owner_id")
    return (
        replace(exported, parent_session_id=parent, forked_at_sequence=point, owner_id=owner),
        message_count,
    )


def _fork_reference(session: dict[str, Any], own_id: str) -> tuple[str | None, int | None]:
    raw_parent, raw_point = session["parent_session_id"], session["forked_at_sequence"]
    if raw_parent is None and raw_point is None:
        return None, None
    if raw_parent is None or raw_point is None:
        raise ImportIntegrityError(
            "session.forked_at_sequence must be null exactly when session.parent_session_id "
            "is null: a fork has both, another session neither"
        )
    parent = record_id(raw_parent, "session.parent_session_id")
    if parent == own_id:
        raise ImportIntegrityError(
            "session.parent_session_id names the session itself; a session is not its own fork"
        )
    point = checked_integer(raw_point, "session.forked_at_sequence")
    if point < 0:
        raise ImportIntegrityError(f"session.forked_at_sequence is {point}, below 0")
    return parent, point


def parse_message_record(
    raw: object, where: str, expected_sequence: int, version: int = SCHEMA_VERSION
) -> ExportedMessage:
    """Check one message record of an export (at ``where``) and return it.

    Its ``rewound_by`` (version 3) is only checked to be null or a ULID here; whether it names
    a rewind of the export that spans the message is ``export_history``'s check.
    """
    message = record_fields(raw, _MESSAGE_FIELDS[version], where)
    record_id(message["id"], f"{where}.id")
    sequence = checked_integer(message["sequence"], f"{where}.sequence")
    if sequence != expected_sequence:
        raise ImportIntegrityError(
            f"{where}.sequence is {abbreviated_repr(sequence)}, expected {expected_sequence}: "
            f"sequences must run 1, 2, 3 ... in array order, without gap or duplicate"
        )
    rewound_by = message.get("rewound_by")
    return ExportedMessage(
        sequence=sequence,
        role=checked_field(validate_role, message["role"], f"{where}.role"),
        content=checked_field(validate_content, message["content"], f"{where}.content"),
        metadata=checked_field(validate_metadata, message["metadata"], f"{where}.metadata"),
        token_count=checked_field(
            validate_token_count, message["token_count"], f"{where}.token_count"
        ),
        created_at=parse_timestamp(message["created_at"], f"{where}.created_at"),
        rewound_by=None if rewound_by is None else record_id(rewound_by, f"{where}.rewound_by"),
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
    event = record_fields(raw, _FILE_EVENT_FIELDS, where)
    record_id(event["id"], f"{where}.id")
    sequence = checked_integer(event["message_sequence"], f"{where}.message_sequence")
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


def checked_integer(value: object, where: str) -> int:
    """Return ``value`` if it is an integer (not a bool), or raise naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ImportIntegrityError(f"{where} must be an integer, got {type(value).__name__}")
    return value


def record_id(value: object, where: str) -> str:
    """Return ``value`` if it is a ULID, or raise :class:`ImportIntegrityError` at ``where``."""
    return checked_field(_id, value, where)


def _id(value: object) -> str:
    return validate_ulid(value, "id")


def _count(value: object) -> int:
    return validate_token_delta(value, "count")


def record_fields(raw: object, expected: frozenset[str], where: str) -> dict[str, Any]:
    """Return ``raw`` if it is a JSON object with exactly the ``expected`` keys, or raise."""
    if not isinstance(raw, dict):
        raise ImportIntegrityError(f"{where} must be a JSON object, got {type(raw).__name__}")
    check_keys(raw, expected, where)
    return raw


def checked_field(rule: Callable[[object], _T], value: object, where: str) -> _T:
    """Return ``rule(value)``; a refusal becomes :class:`ImportIntegrityError` at ``where``.

    ``rule`` is one of the service's argument checks (``validate_*``), so a record obeys the
    rules the service applies to the same value.
    """
    try:
        result = rule(value)
    except InvalidInputError as exc:
        raise ImportIntegrityError(f"{where}: {exc.reason}") from exc
    return result
