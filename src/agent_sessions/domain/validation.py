"""Argument rules shared by every implementation of the session service.

Each function returns the normalised value or raises :class:`InvalidInputError` naming the
argument and the reason. They run before any I/O, so a rejected call writes nothing.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from agent_sessions.domain.entities import MessageRole
from agent_sessions.domain.errors import InvalidInputError

__all__ = [
    "MAX_ACTOR_NAME_LENGTH",
    "MAX_LIST_LIMIT",
    "MAX_MESSAGE_LIMIT",
    "MAX_TITLE_LENGTH",
    "MAX_TOKEN_COUNT",
    "validate_actor_name",
    "validate_content",
    "validate_limit",
    "validate_metadata",
    "validate_offset",
    "validate_role",
    "validate_session_id",
    "validate_title",
    "validate_token_count",
    "validate_token_delta",
]

MAX_ACTOR_NAME_LENGTH = 255
MAX_TITLE_LENGTH = 500
MAX_LIST_LIMIT = 1000
MAX_MESSAGE_LIMIT = 100_000
MAX_TOKEN_COUNT = 2**53 - 1
"""Largest token figure accepted; fits every backend's BIGINT and a JSON number exactly."""

_ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def validate_session_id(value: object, argument: str = "session_id") -> str:
    """Return the canonical (upper-case) form of a ULID session id."""
    if not isinstance(value, str):
        raise InvalidInputError(argument, f"must be a 26-character ULID string, got {_kind(value)}")
    canonical = value.upper()
    if not _ULID.match(canonical):
        raise InvalidInputError(argument, f"{value!r} is not a 26-character ULID")
    return canonical


def validate_actor_name(value: object) -> str:
    """Return the actor name if it is a non-blank string of at most 255 characters."""
    if not isinstance(value, str):
        raise InvalidInputError("actor_name", f"must be a string, got {_kind(value)}")
    if not value.strip():
        raise InvalidInputError("actor_name", "must not be empty or blank")
    _reject_nul(value, "actor_name")
    if len(value) > MAX_ACTOR_NAME_LENGTH:
        raise InvalidInputError(
            "actor_name",
            f"is {len(value)} characters long; the most allowed is {MAX_ACTOR_NAME_LENGTH}",
        )
    return value


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
    _reject_nul(value, "title")
    return value


def validate_role(value: object) -> MessageRole:
    """Return the :class:`MessageRole` named by ``value`` (a member or its string value)."""
    if isinstance(value, MessageRole):
        return value
    if isinstance(value, str):
        try:
            return MessageRole(value)
        except ValueError:
            pass
    allowed = ", ".join(role.value for role in MessageRole)
    raise InvalidInputError("role", f"{value!r} is not one of {allowed}")


def validate_content(value: object) -> str:
    """Return the message content if it is a string (any length, empty allowed)."""
    if not isinstance(value, str):
        raise InvalidInputError("content", f"must be a string, got {_kind(value)}")
    _reject_nul(value, "content")
    return value


def validate_metadata(value: object) -> dict[str, Any]:
    """Return a copy of ``value`` if it is a dict that survives a strict JSON round trip.

    None stands for an empty dict. Keys must be strings; values must be JSON types (no NaN or
    infinity, no sets, no objects), so what is stored is exactly what is read back.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError("metadata", f"must be a dict, got {_kind(value)}")
    _check_json_value(value, "metadata")
    copied: dict[str, Any] = json.loads(json.dumps(value, allow_nan=False))
    return copied


def validate_token_count(value: object) -> int | None:
    """Return a message's token count if it is None or a non-negative integer."""
    if value is None:
        return None
    return _non_negative_int(value, "token_count")


def validate_token_delta(value: object, argument: str) -> int:
    """Return a token increment if it is a non-negative integer."""
    return _non_negative_int(value, argument)


def validate_limit(value: object, *, maximum: int, argument: str = "limit") -> int:
    """Return a page size if it is an integer from 1 to ``maximum``."""
    if not _is_int(value):
        raise InvalidInputError(argument, f"must be an integer, got {_kind(value)}")
    assert isinstance(value, int)
    if not 1 <= value <= maximum:
        raise InvalidInputError(argument, f"must be between 1 and {maximum}, got {value}")
    return value


def validate_offset(value: object) -> int:
    """Return an offset if it is a non-negative integer."""
    if not _is_int(value):
        raise InvalidInputError("offset", f"must be an integer, got {_kind(value)}")
    assert isinstance(value, int)
    if value < 0:
        raise InvalidInputError("offset", f"must be 0 or more, got {value}")
    return value


def _non_negative_int(value: object, argument: str) -> int:
    if not _is_int(value):
        raise InvalidInputError(argument, f"must be an integer, got {_kind(value)}")
    assert isinstance(value, int)
    if value < 0:
        raise InvalidInputError(argument, f"must be 0 or more, got {value}")
    if value > MAX_TOKEN_COUNT:
        raise InvalidInputError(argument, f"must be at most {MAX_TOKEN_COUNT}, got {value}")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_json_value(value: object, path: str) -> None:
    if isinstance(value, str):
        _reject_nul(value, "metadata", path)
        return
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError("metadata", f"{path} is {value!r}, which JSON cannot hold")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError("metadata", f"{path} has a non-string key {key!r}")
            _reject_nul(key, "metadata", f"a key of {path}")
            _check_json_value(item, f"{path}[{key!r}]")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json_value(item, f"{path}[{index}]")
        return
    raise InvalidInputError(
        "metadata", f"{path} holds a {_kind(value)}, which is not JSON-serialisable"
    )


def _reject_nul(value: str, argument: str, where: str | None = None) -> None:
    if "\x00" in value:
        place = f"{where} " if where else ""
        raise InvalidInputError(
            argument, f"{place}contains a NUL character (\\x00), which databases cannot store"
        )


def _kind(value: object) -> str:
    return type(value).__name__
