"""Argument rules shared by every implementation of the session service.

Each function returns the normalised value or raises :class:`InvalidInputError` naming the
argument and the reason. They run before any I/O, so a rejected call writes nothing.

Every text (names, titles, content, metadata keys and strings) must be valid Unicode without NUL:
a NUL character (PostgreSQL ``text`` cannot hold one) or a lone surrogate such as U+D800
(it has no UTF-8 encoding) is refused the same way on every backend. The size limits below are
chosen so that a value at the limit fits every backend, MariaDB's default 16 MiB
``max_allowed_packet`` included; see the "Limits" section of ``docs/reference/api.md``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from agent_sessions.domain.entities import FileEventType, MessageRole, NewMessage
from agent_sessions.domain.errors import InvalidInputError

__all__ = [
    "IMPORT_CONFLICT_POLICIES",
    "MAX_ACTOR_NAME_LENGTH",
    "MAX_COMMAND_BYTES",
    "MAX_CONTENT_BYTES",
    "MAX_DIFF_BYTES",
    "MAX_EXTERNAL_ID_LENGTH",
    "MAX_FILE_PATH_BYTES",
    "MAX_FILE_PATH_LENGTH",
    "MAX_IDEMPOTENCY_KEY_LENGTH",
    "MAX_LIST_LIMIT",
    "MAX_MESSAGE_LIMIT",
    "MAX_METADATA_BYTES",
    "MAX_METADATA_DEPTH",
    "MAX_OFFSET",
    "MAX_OWNER_ID_LENGTH",
    "MAX_REASON_BYTES",
    "MAX_TITLE_LENGTH",
    "MAX_TOKEN_COUNT",
    "abbreviated_repr",
    "validate_actor_name",
    "validate_content",
    "validate_event_type",
    "validate_expected_sequence",
    "validate_external_id",
    "validate_file_event",
    "validate_flag",
    "validate_hold_reason",
    "validate_idempotency_key",
    "validate_limit",
    "validate_metadata",
    "validate_moment",
    "validate_new_messages",
    "validate_offset",
    "validate_on_conflict",
    "validate_owner_id",
    "validate_reason",
    "validate_required_external_id",
    "validate_required_owner_id",
    "validate_role",
    "validate_sequence",
    "validate_summary",
    "validate_title",
    "validate_token_count",
    "validate_token_delta",
    "validate_ulid",
]

MAX_ACTOR_NAME_LENGTH = 255
MAX_TITLE_LENGTH = 500
MAX_LIST_LIMIT = 1000
MAX_MESSAGE_LIMIT = 100_000
MAX_TOKEN_COUNT = 2**53 - 1
"""Largest token figure accepted; fits every backend's BIGINT and a JSON number exactly."""
MAX_OFFSET = 2**53 - 1
"""Largest ``offset`` accepted; every backend's LIMIT/OFFSET takes it (SQLite's stops at 2**63)."""
MAX_CONTENT_BYTES = 7 * 1024 * 1024
"""Largest message content, in bytes of UTF-8 (7 MiB).

PyMySQL escapes quotes and backslashes, so content of quotes only doubles on the wire: 14 MiB,
plus metadata at its limit, still fits MariaDB's default 16 MiB ``max_allowed_packet``.
"""
MAX_METADATA_BYTES = 256 * 1024
"""Largest metadata, in bytes of its compact UTF-8 JSON (256 KiB)."""
MAX_METADATA_DEPTH = 20
"""Deepest nesting of metadata: the dict itself is level 1 (MariaDB's JSON stops at 32)."""
MAX_JSON_INTEGER = 2**53 - 1
"""Integers in metadata must lie within +/- this, as I-JSON (RFC 7493) requires."""

MAX_EXTERNAL_ID_LENGTH = 255
MAX_OWNER_ID_LENGTH = 255
"""An owner id: a name the caller chooses, like an external id."""
"""Longest ``external_id``; with the actor name it fits MariaDB's 3072-byte index key."""
MAX_FILE_PATH_LENGTH = 768
"""Longest ``file_path`` in characters: the most MariaDB can index in full (768 x 4 bytes)."""
MAX_FILE_PATH_BYTES = 2048
"""Longest ``file_path`` in bytes of UTF-8: fits PostgreSQL's B-tree entry limit (2704)."""
MAX_DIFF_BYTES = MAX_CONTENT_BYTES
"""Largest ``diff`` of a file event, in bytes of UTF-8 (7 MiB, as message content)."""
MAX_COMMAND_BYTES = 256 * 1024
"""Largest ``command`` of a file event, in bytes of UTF-8 (256 KiB)."""
MAX_REASON_BYTES = 4096
"""A rewind's ``reason``: at most 4 KiB of UTF-8."""
IMPORT_CONFLICT_POLICIES = ("error", "new_external_id")
"""What ``import_session(on_conflict=...)`` does when the external id is taken."""

_Member = TypeVar("_Member", bound=StrEnum)

_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_SHOWN_CHARACTERS = 40


def validate_ulid(value: object, argument: str) -> str:
    """Return the canonical (upper-case) form of a ULID: a session, message or event id.

    Args:
        value: the id as the caller gave it (lower case is accepted).
        argument: the name the error gives the value, such as ``"message_id"``.

    """
    if not isinstance(value, str):
        raise InvalidInputError(argument, f"must be a 26-character ULID string, got {_kind(value)}")
    canonical = value.upper() if value.isascii() else value
    if not _ULID.fullmatch(canonical):
        raise InvalidInputError(argument, f"{abbreviated_repr(value)} is not a 26-character ULID")
    return canonical


def validate_actor_name(value: object) -> str:
    """Return the actor name if it is a non-blank string of at most 255 characters."""
    return _bounded_text(value, "actor_name", MAX_ACTOR_NAME_LENGTH)


def validate_title(value: object) -> str | None:
    """Return the title if it is None or a string of at most 500 characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError("title", f"must be a string or None, got {_kind(value)}")
    if len(value) > MAX_TITLE_LENGTH:
        raise InvalidInputError(
            "title", f"is {len(value)} characters long; the most allowed is {MAX_TITLE_LENGTH}"
        )
    _check_text(value, "title")
    return value


def validate_role(value: object, argument: str = "role") -> MessageRole:
    """Return the :class:`MessageRole` named by ``value`` (a member or its string value)."""
    return _member(MessageRole, value, argument)


def _member(kind: type[_Member], value: object, argument: str) -> _Member:
    """Return the member of the string enum ``kind`` that ``value`` is or names."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    allowed = ", ".join(member.value for member in kind)
    raise InvalidInputError(argument, f"{abbreviated_repr(value)} is not one of {allowed}")


def validate_content(value: object) -> str:
    """Return the message content if it is a string of at most 7 MiB of UTF-8 (empty allowed)."""
    if not isinstance(value, str):
        raise InvalidInputError("content", f"must be a string, got {_kind(value)}")
    size = _check_text(value, "content")
    if size > MAX_CONTENT_BYTES:
        raise InvalidInputError(
            "content",
            f"is {size} bytes of UTF-8; the most allowed is {MAX_CONTENT_BYTES} (7 MiB)",
        )
    return value


def validate_metadata(value: object) -> dict[str, Any]:
    """Return a copy of ``value`` if it is a dict that survives a strict JSON round trip.

    None stands for an empty dict. Keys must be strings; values must be JSON types (no NaN or
    infinity, no sets, no objects), so what is stored is exactly what is read back. Integers
    must lie within +/- (2**53 - 1), nesting may be at most 20 levels deep (the dict is level 1)
    and the compact UTF-8 JSON at most 256 KiB.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError("metadata", f"must be a dict, got {_kind(value)}")
    if not value:  # most messages carry none: nothing to check, and a new dict is the copy
        return {}
    _check_json_value(value, "metadata", 1)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    size = len(text.encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise InvalidInputError(
            "metadata",
            f"is {size} bytes of JSON; the most allowed is {MAX_METADATA_BYTES} (256 KiB)",
        )
    copied: dict[str, Any] = json.loads(text)
    return copied


def validate_token_count(value: object) -> int | None:
    """Return a message's token count if it is None or a non-negative integer."""
    if value is None:
        return None
    return _non_negative_int(value, "token_count")


def validate_expected_sequence(value: object) -> int | None:
    """Return an append's ``expected_sequence`` if it is None or an integer from 0 to 2**53 - 1.

    0 is the last sequence of a session without messages.
    """
    if value is None:
        return None
    return _non_negative_int(value, "expected_sequence")


def validate_sequence(value: object, argument: str) -> int:
    """Return a sequence number argument (``to_sequence``...) if it is an integer, 0 or more.

    Whether the session has such a sequence is checked later, under its row lock
    (:mod:`agent_sessions.domain.history`).
    """
    return _non_negative_int(value, argument)


def validate_flag(value: object, argument: str) -> bool:
    """Return ``value`` if it is a bool (not merely truthy: ``"no"`` would read as true)."""
    if not isinstance(value, bool):
        raise InvalidInputError(argument, f"must be True or False, got {_kind(value)}")
    return value


def validate_reason(value: object) -> str | None:
    """Return a rewind's ``reason`` if it is None or a string of at most 4 KiB of UTF-8."""
    return _optional_text(value, "reason", MAX_REASON_BYTES, "4 KiB")


def validate_summary(value: object) -> str:
    """Return a compaction's ``summary`` if it is a non-blank string of at most 7 MiB."""
    if not isinstance(value, str):
        raise InvalidInputError("summary", f"must be a string, got {_kind(value)}")
    if not value.strip():
        raise InvalidInputError("summary", "must not be empty or blank")
    size = _check_text(value, "summary")
    if size > MAX_CONTENT_BYTES:
        raise InvalidInputError(
            "summary",
            f"is {size} bytes of UTF-8; the most allowed is {MAX_CONTENT_BYTES} (7 MiB)",
        )
    return value


def validate_token_delta(value: object, argument: str) -> int:
    """Return a token increment if it is a non-negative integer."""
    return _non_negative_int(value, argument)


MAX_IDEMPOTENCY_KEY_LENGTH = 255


def validate_idempotency_key(value: object) -> str:
    """Return an idempotency key if it is a non-blank string of at most 255 characters."""
    return _bounded_text(value, "idempotency_key", MAX_IDEMPOTENCY_KEY_LENGTH)


def validate_external_id(value: object) -> str | None:
    """Return the external id if it is None or a non-blank string of at most 255 characters."""
    if value is None:
        return None
    return _bounded_text(value, "external_id", MAX_EXTERNAL_ID_LENGTH, or_none=True)


def validate_owner_id(value: object, argument: str = "owner_id") -> str | None:
    """Return the owner id if it is None or a non-blank string of at most 255 characters."""
    if value is None:
        return None
    return _bounded_text(value, argument, MAX_OWNER_ID_LENGTH, or_none=True)


def validate_required_owner_id(value: object) -> str:
    """Return the owner id if it is a non-blank string of at most 255 characters (not None).

    The rule of a call that acts on one owner (``erase_owner``).
    """
    return _bounded_text(value, "owner_id", MAX_OWNER_ID_LENGTH)


def validate_hold_reason(value: object) -> str:
    """Return a hold's ``reason`` if it is a non-blank string of at most 4 KiB of UTF-8."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInputError("reason", "must say why the session is held (a non-blank string)")
    checked = _optional_text(value, "reason", MAX_REASON_BYTES, "4 KiB")
    assert checked is not None
    return checked


def validate_moment(value: object, argument: str) -> datetime | None:
    """Return a bound of a time range if it is None or a timezone-aware ``datetime``."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidInputError(argument, f"must be a datetime or None, got {_kind(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(argument, "must be timezone-aware (for example in UTC)")
    return value


def validate_required_external_id(value: object) -> str:
    """Return the external id if it is a non-blank string of at most 255 characters (not None).

    The rule of a look-up by external id (``get_by_external_id``, ``get_or_create``).
    """
    return _bounded_text(value, "external_id", MAX_EXTERNAL_ID_LENGTH)


def validate_event_type(value: object) -> FileEventType:
    """Return the :class:`FileEventType` named by ``value`` (a member or its string value)."""
    return _member(FileEventType, value, "event_type")


def validate_file_path(value: object) -> str:
    """Return a file path if it is a non-blank string within the path limits."""
    path = _bounded_text(value, "file_path", MAX_FILE_PATH_LENGTH)
    size = len(path.encode("utf-8"))
    if size > MAX_FILE_PATH_BYTES:
        raise InvalidInputError(
            "file_path",
            f"is {size} bytes of UTF-8; the most allowed is {MAX_FILE_PATH_BYTES}",
        )
    return path


def validate_file_event(
    event_type: object, file_path: object, diff: object, command: object
) -> tuple[FileEventType, str | None, str | None, str | None]:
    """Return a file event's checked ``(event_type, file_path, diff, command)``.

    A ``command`` event needs ``command`` and may name a ``file_path`` (where it ran, say);
    every other type needs ``file_path`` and takes no ``command``. ``diff`` is optional on
    every type; it may be empty, and holds at most 7 MiB of UTF-8.
    """
    kind = validate_event_type(event_type)
    path = None if file_path is None else validate_file_path(file_path)
    checked_diff = _optional_text(diff, "diff", MAX_DIFF_BYTES, "7 MiB")
    checked_command = _optional_text(command, "command", MAX_COMMAND_BYTES, "256 KiB")
    if kind is FileEventType.COMMAND:
        if checked_command is None or not checked_command.strip():
            raise InvalidInputError("command", "is required (non-blank) for a command event")
    else:
        if path is None:
            raise InvalidInputError("file_path", f"is required for {_an(kind.value)} event")
        if checked_command is not None:
            raise InvalidInputError(
                "command", f"belongs to command events only, not to {_an(kind.value)} event"
            )
    return kind, path, checked_diff, checked_command


def _an(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def validate_on_conflict(value: object) -> str:
    """Return the import conflict policy if it is ``"error"`` or ``"new_external_id"``."""
    if isinstance(value, str) and value in IMPORT_CONFLICT_POLICIES:
        return value
    allowed = ", ".join(repr(policy) for policy in IMPORT_CONFLICT_POLICIES)
    raise InvalidInputError("on_conflict", f"{abbreviated_repr(value)} is not one of {allowed}")


def _optional_text(value: object, argument: str, maximum: int, shown_maximum: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(argument, f"must be a string or None, got {_kind(value)}")
    size = _check_text(value, argument)
    if size > maximum:
        raise InvalidInputError(
            argument,
            f"is {size} bytes of UTF-8; the most allowed is {maximum} ({shown_maximum})",
        )
    return value


_NEW_MESSAGE_FIELDS = frozenset({"role", "content", "metadata", "token_count"})


def validate_new_messages(value: object) -> list[NewMessage]:
    """Return checked copies of the messages to append: roles as members, metadata as dicts.

    ``value`` is a list or tuple of :class:`NewMessage` or of mappings with the keys ``role``
    and ``content`` (and optionally ``metadata`` and ``token_count``), at most 100000 of them.
    A bad field raises ``InvalidInputError`` naming it, such as ``messages[3].content``.
    """
    if not isinstance(value, list | tuple):
        raise InvalidInputError("messages", f"must be a list or tuple, got {_kind(value)}")
    if len(value) > MAX_MESSAGE_LIMIT:
        raise InvalidInputError(
            "messages",
            f"holds {len(value)} messages; one call appends at most {MAX_MESSAGE_LIMIT}",
        )
    return [_new_message(item, f"messages[{index}]") for index, item in enumerate(value)]


def _new_message(item: object, where: str) -> NewMessage:
    if isinstance(item, NewMessage):
        fields: Mapping[str, object] = {
            "role": item.role,
            "content": item.content,
            "metadata": item.metadata,
            "token_count": item.token_count,
        }
    elif isinstance(item, Mapping):
        unknown = sorted(abbreviated_repr(key) for key in item.keys() - _NEW_MESSAGE_FIELDS)
        if unknown:
            raise InvalidInputError(where, f"has unknown field(s) {', '.join(unknown)}")
        for required in ("role", "content"):
            if required not in item:
                raise InvalidInputError(where, f"lacks the field {required!r}")
        fields = item
    else:
        raise InvalidInputError(where, f"must be a NewMessage or a mapping, got {_kind(item)}")
    try:
        return NewMessage(
            role=validate_role(fields["role"]),
            content=validate_content(fields["content"]),
            metadata=validate_metadata(fields.get("metadata")),
            token_count=validate_token_count(fields.get("token_count")),
        )
    except InvalidInputError as exc:
        raise InvalidInputError(f"{where}.{exc.argument}", exc.reason) from None


def validate_limit(value: object, *, maximum: int, argument: str = "limit") -> int:
    """Return a page size if it is an integer from 1 to ``maximum``."""
    if not _is_int(value):
        raise InvalidInputError(argument, f"must be an integer, got {_kind(value)}")
    assert isinstance(value, int)
    if not 1 <= value <= maximum:
        raise InvalidInputError(
            argument, f"must be between 1 and {maximum}, got {_abbreviated_int(value)}"
        )
    return value


def validate_offset(value: object) -> int:
    """Return an offset if it is an integer from 0 to 2**53 - 1."""
    if not _is_int(value):
        raise InvalidInputError("offset", f"must be an integer, got {_kind(value)}")
    assert isinstance(value, int)
    if not 0 <= value <= MAX_OFFSET:
        raise InvalidInputError(
            "offset", f"must be between 0 and {MAX_OFFSET}, got {_abbreviated_int(value)}"
        )
    return value


def _non_negative_int(value: object, argument: str) -> int:
    if not _is_int(value):
        raise InvalidInputError(argument, f"must be an integer, got {_kind(value)}")
    assert isinstance(value, int)
    if value < 0:
        raise InvalidInputError(argument, f"must be 0 or more, got {_abbreviated_int(value)}")
    if value > MAX_TOKEN_COUNT:
        raise InvalidInputError(
            argument, f"must be at most {MAX_TOKEN_COUNT}, got {_abbreviated_int(value)}"
        )
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_json_value(value: object, path: str, depth: int) -> None:
    if isinstance(value, str):
        _check_text(value, "metadata", path)
        return
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > MAX_JSON_INTEGER:
            raise InvalidInputError(
                "metadata",
                f"{path} is {_abbreviated_int(value)}, outside +/-{MAX_JSON_INTEGER} "
                f"(2**53 - 1), which JSON readers cannot hold exactly",
            )
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError("metadata", f"{path} is {value!r}, which JSON cannot hold")
        return
    if isinstance(value, dict | list | tuple) and depth > MAX_METADATA_DEPTH:
        raise InvalidInputError(
            "metadata",
            f"{path} is nested {depth} levels deep; the most allowed is {MAX_METADATA_DEPTH}",
        )
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(
                    "metadata", f"{path} has a non-string key {abbreviated_repr(key)}"
                )
            _check_text(key, "metadata", f"a key of {path}")
            _check_json_value(item, f"{path}[{abbreviated_repr(key)}]", depth + 1)
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json_value(item, f"{path}[{index}]", depth + 1)
        return
    raise InvalidInputError(
        "metadata", f"{path} holds a {_kind(value)}, which is not JSON-serialisable"
    )


def _bounded_text(value: object, argument: str, maximum: int, *, or_none: bool = False) -> str:
    """Return ``value`` unless it is not a string, blank, over ``maximum`` characters or bad text.

    The rule of every name-like argument: actor names, external ids, idempotency keys, paths.
    """
    if not isinstance(value, str):
        expected = "a string or None" if or_none else "a string"
        raise InvalidInputError(argument, f"must be {expected}, got {_kind(value)}")
    if not value.strip():
        raise InvalidInputError(argument, "must not be empty or blank")
    if len(value) > maximum:
        raise InvalidInputError(
            argument, f"is {len(value)} characters long; the most allowed is {maximum}"
        )
    _check_text(value, argument)
    return value


def _check_text(value: str, argument: str, where: str | None = None) -> int:
    """Refuse NUL characters and lone surrogates; return the size of ``value`` in UTF-8."""
    place = f"{where} " if where else ""
    if "\x00" in value:
        raise InvalidInputError(
            argument, f"{place}contains a NUL character (\\x00), which databases cannot store"
        )
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            argument,
            f"{place}contains a lone surrogate (U+{ord(value[exc.start]):04X}) at index "
            f"{exc.start}, which is not valid Unicode",
        ) from None


def abbreviated_repr(value: object, limit: int = _SHOWN_CHARACTERS) -> str:
    """Return ``repr(value)`` cut to about ``limit`` characters, for error messages."""
    shown = repr(value)
    if len(shown) <= limit:
        return shown
    return f"{shown[:limit]}... ({len(shown)} characters)"


def _abbreviated_int(value: int) -> str:
    if abs(value) < 10**30:
        return str(value)
    digits = int(value.bit_length() * math.log10(2)) + 1
    return f"{'-' if value < 0 else ''}an integer of about {digits} digits"


def _kind(value: object) -> str:
    return type(value).__name__
