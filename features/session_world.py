"""Shared vocabulary of the session persistence steps (imported by the step modules).

Kept out of ``features/steps/`` because Behave executes every module there as a step module.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from behave import register_type
from ulid import ULID

from agent_sessions import Session

ULID_PATTERN = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
SHA256_CHECKSUM = re.compile(r"^sha256:[0-9a-f]{64}$")
E = TypeVar("E", bound=BaseException)

_NAMED_VALUES: dict[str, Callable[[], Any]] = {
    "None": lambda: None,
    "an empty string": lambda: "",
    "a blank string": lambda: "  \t ",
    "a string with a NUL character": lambda: "before\x00after",
    "a lone surrogate": lambda: "before\ud800after",
    "a naive datetime": lambda: datetime(2024, 1, 1, 12, 0),
    "a number": lambda: 42,
    "a float": lambda: 1.5,
    "a boolean": lambda: True,
    "a word": lambda: "ten",
    "a list": lambda: ["channel", "web"],
    "a set": lambda: {"channel", "web"},
    "a dict holding NaN": lambda: {"score": math.nan},
    "a dict holding infinity": lambda: {"score": math.inf},
    "a dict with a number as a key": lambda: {1: "one"},
    "a dict holding a datetime": lambda: {"when": datetime(2024, 1, 1)},
    "a dict holding a NUL character": lambda: {"note": "a\x00b"},
    "more than 2**53 - 1": lambda: 2**53,
    "an id that is too short": lambda: "01HZX3NDEK",
    "an id with the letter U": lambda: "01HZX3NDEKTSV4RRFFQ69G5FAU",
    "an id that overflows 128 bits": lambda: "81HZX3NDEKTSV4RRFFQ69G5FAV",
    "an id with a hyphen": lambda: "01HZX3NDEK-SV4RRFFQ69G5FAV",
}
_CHARACTERS = re.compile(r"^(\d+) characters$")
_QUOTED = re.compile(r'^the (?:string|role) "(.*)"$')


def sample_value(description: str) -> Any:
    """Return the Python value that a feature file describes in words (or as an integer)."""
    text = description.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if (match := _CHARACTERS.match(text)) is not None:
        return "x" * int(match.group(1))
    if (match := _QUOTED.match(text)) is not None:
        return match.group(1)
    try:
        return _NAMED_VALUES[text]()
    except KeyError:
        raise ValueError(f"the steps know no value described as {description!r}") from None


def parse_sequences(text: str) -> list[int]:
    """Read "1, 2, 3" or "1 to 10" as a list of sequence numbers."""
    if (match := re.fullmatch(r"\s*(\d+) to (\d+)\s*", text)) is not None:
        return list(range(int(match.group(1)), int(match.group(2)) + 1))
    return [int(part) for part in text.split(",")]


def parse_names(text: str) -> list[str]:
    """Read "a, b, c" as a list of names."""
    return [part.strip() for part in text.split(",")]


def attempt(context: Any, call: Callable[[], Any]) -> Any:
    """Run ``call``; keep what it returned in ``context.result`` (and return it), or None.

    What it raised (or None) goes to ``context.error``, the one place where every step that
    expects a refusal or a failure looks (``expected_error`` and the steps of common_steps).
    """
    context.error = None
    context.result = None
    try:
        context.result = call()
    except Exception as exc:
        context.error = exc
    return context.result


def expected_error(context: Any, error_type: type[E]) -> E:
    """Return the error the last ``attempt`` kept, failing unless it is an ``error_type``."""
    error = getattr(context, "error", None)
    assert error is not None, f"expected {error_type.__name__}, but the call succeeded"
    assert isinstance(error, error_type), (
        f"expected {error_type.__name__}, got {type(error).__name__}: {error}"
    )
    return error


def no_error(context: Any) -> None:
    """Fail if the last ``attempt`` raised."""
    error = getattr(context, "error", None)
    assert error is None, f"the call failed: {error!r}"


def remember(context: Any, session: Session) -> Session:
    """Make ``session`` "the session" of the scenario and file it under its actor's name."""
    context.session = session
    if not hasattr(context, "sessions"):
        context.sessions = {}
    context.sessions[session.actor_name] = session
    return session


def history_row(context: Any, kind: str, actor: str) -> Any:
    """Return the last rewind or compaction (``kind``) made of ``actor``'s session."""
    return context.history_rows[(kind, actor)]


def note_history_row(context: Any, kind: str, actor: str, row: Any) -> None:
    """File a rewind or compaction (``kind``) made of ``actor``'s session, for later steps."""
    if not hasattr(context, "history_rows"):
        context.history_rows = {}
    context.history_rows[(kind, actor)] = row


def session_of(context: Any, actor: str) -> Session:
    """Return the session recorded for ``actor`` in this scenario."""
    return context.sessions[actor]


def unknown_session_id() -> str:
    """Return a well-formed ULID that names no stored session."""
    return str(ULID())


def independent_checksum(document: dict[str, Any]) -> str:
    """Compute the export checksum from the published rule, without the library's code."""
    body = {key: value for key, value in document.items() if key != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def assert_utc(moment: datetime, what: str) -> None:
    """Fail unless ``moment`` is timezone-aware with a zero UTC offset."""
    assert moment.tzinfo is not None, f"{what} is naive: {moment!r}"
    assert moment.utcoffset() == timedelta(0), f"{what} is not in UTC: {moment!r}"


def assert_same_json(actual: Any, expected: Any, path: str = "value") -> None:
    """Fail unless two JSON values are equal with the same types (True is not 1, 1.0 not 1)."""
    assert type(actual) is type(expected), (
        f"{path}: expected {type(expected).__name__} {expected!r}, "
        f"got {type(actual).__name__} {actual!r}"
    )
    if isinstance(expected, dict):
        assert actual.keys() == expected.keys(), (
            f"{path}: keys {sorted(actual)} != {sorted(expected)}"
        )
        for key, item in expected.items():
            assert_same_json(actual[key], item, f"{path}[{key!r}]")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{path}: {len(actual)} items, not {len(expected)}"
        for index, (got, wanted) in enumerate(zip(actual, expected, strict=True)):
            assert_same_json(got, wanted, f"{path}[{index}]")
    else:
        assert actual == expected, f"{path}: expected {expected!r}, got {actual!r}"


def quoted_text(text: str) -> str:
    """Parse type of a double-quoted argument: any characters but a double quote."""
    return text


quoted_text.pattern = r'[^"]*'  # type: ignore[attr-defined]


register_type(Text=quoted_text)
