"""Hypothesis strategies: sessions a caller may record, and single changes to a document.

Text is any Unicode except what validation refuses by contract (NUL and lone surrogates);
metadata is any JSON within the documented limits (integers within +/- (2**53 - 1), finite
floats, at most 20 levels deep).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from agent_sessions import MessageRole
from agent_sessions.domain.export_format import canonical_json, format_timestamp, parse_timestamp
from agent_sessions.domain.validation import MAX_JSON_INTEGER, MAX_METADATA_DEPTH

__all__ = ["SESSIONS", "TEXT", "MessageSpec", "SessionSpec", "single_change"]

UNICODE = st.characters(codec="utf-8", exclude_characters="\x00")
"""Any character but NUL and the surrogates (which UTF-8 cannot encode)."""
TEXT = st.text(alphabet=UNICODE, max_size=30)
JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_JSON_INTEGER, MAX_JSON_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


JSON = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=10,
)
METADATA = st.dictionaries(TEXT, JSON, max_size=4).filter(
    lambda metadata: _depth(metadata) <= MAX_METADATA_DEPTH
)
TOKENS = st.integers(0, 2**40)


@dataclass(frozen=True)
class MessageSpec:
    """A message to append: what a caller passes to ``append_message``."""

    role: MessageRole
    content: str
    metadata: dict[str, Any]
    token_count: int | None


@dataclass(frozen=True)
class SessionSpec:
    """A session to record: ``create``, then each message, then ``update_token_usage``."""

    actor_name: str
    title: str | None
    metadata: dict[str, Any]
    messages: tuple[MessageSpec, ...]
    prompt_tokens: int
    completion_tokens: int


MESSAGES = st.builds(
    MessageSpec,
    role=st.sampled_from(MessageRole),
    content=st.text(alphabet=UNICODE, max_size=200),
    metadata=METADATA,
    token_count=st.none() | TOKENS,
)
SESSIONS = st.builds(
    SessionSpec,
    actor_name=TEXT.filter(lambda name: bool(name.strip())),
    title=st.none() | TEXT,
    metadata=METADATA,
    messages=st.lists(MESSAGES, max_size=4).map(tuple),
    prompt_tokens=TOKENS,
    completion_tokens=TOKENS,
)

Path = tuple[str | int, ...]


def _leaf_paths(value: object, path: Path = ()) -> Iterator[Path]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaf_paths(item, (*path, index))
    else:
        yield path


def _dict_paths(value: object, path: Path = ()) -> Iterator[Path]:
    if isinstance(value, dict):
        yield path
        for key, item in value.items():
            yield from _dict_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _dict_paths(item, (*path, index))


def _at(document: Any, path: Path) -> Any:
    for step in path:
        document = document[step]
    return document


def _is_timestamp(text: str) -> bool:
    try:
        parse_timestamp(text, "value")
    except ValueError:
        return False
    return True


def _other_values(old: object) -> st.SearchStrategy[Any]:
    """Return values that differ from ``old`` in the canonical JSON the checksum covers."""
    if isinstance(old, bool):
        choices: st.SearchStrategy[Any] = st.just(not old) | st.none()
    elif isinstance(old, int):
        choices = st.integers(-3, 3).map(lambda delta: old + delta) | st.integers() | TEXT
    elif isinstance(old, float):
        choices = st.floats(allow_nan=False, allow_infinity=False) | st.integers()
    elif isinstance(old, str):
        choices = TEXT | st.sampled_from([role.value for role in MessageRole])
        if _is_timestamp(old):
            moment = parse_timestamp(old, "value")
            choices |= st.integers(-(10**9), 10**9).map(
                lambda micros: format_timestamp(moment + timedelta(microseconds=micros))
            )
    else:
        choices = JSON_LEAVES
    return choices.filter(lambda new: canonical_json(new) != canonical_json(old))


@st.composite
def single_change(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``document`` with exactly one change drawn from every kind there is.

    Kinds: a different value for one leaf (any string, number, role, timestamp, sequence, id,
    the checksum...), a key deleted from or added to any object, a message dropped, or two
    messages swapped.
    """
    changed = copy.deepcopy(document)
    messages = changed["messages"]
    kinds = ["leaf", "delete key", "add key"]
    kinds += ["drop message"] if messages else []
    kinds += ["swap messages"] if len(messages) >= 2 else []
    kind = draw(st.sampled_from(kinds))
    if kind == "leaf":
        path = draw(st.sampled_from(list(_leaf_paths(changed))))
        parent = _at(changed, path[:-1])
        parent[path[-1]] = draw(_other_values(parent[path[-1]]))
    elif kind == "delete key":
        owners = [path for path in _dict_paths(changed) if _at(changed, path)]
        owner = _at(changed, draw(st.sampled_from(owners)))
        del owner[draw(st.sampled_from(sorted(owner)))]
    elif kind == "add key":
        owner = _at(changed, draw(st.sampled_from(list(_dict_paths(changed)))))
        owner[draw(TEXT.filter(lambda key: key not in owner))] = draw(JSON_LEAVES)
    elif kind == "drop message":
        del messages[draw(st.integers(0, len(messages) - 1))]
    else:
        first = draw(st.integers(0, len(messages) - 2))
        second = draw(st.integers(first + 1, len(messages) - 1))
        messages[first], messages[second] = messages[second], messages[first]
    return changed
