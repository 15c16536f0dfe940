"""Hypothesis strategies: sessions a caller may record, and single changes to a document.

Text is any Unicode except what validation refuses by contract (NUL and lone surrogates);
metadata is any JSON within the documented limits (integers within +/- (2**53 - 1), finite
floats, at most 20 levels deep). A session may carry an external id and file events of every
type, each attached to one of its messages; paths run up to the path limits (768 characters,
2048 bytes of UTF-8). A session may be a fork of another one, and its history may then change:
rewinds (and their undoing), compactions, pops and more appends, in any order.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from agent_sessions import FileEventType, MessageRole
from agent_sessions.domain.export_records import canonical_json, format_timestamp, parse_timestamp
from agent_sessions.domain.validation import (
    MAX_EXTERNAL_ID_LENGTH,
    MAX_FILE_PATH_BYTES,
    MAX_FILE_PATH_LENGTH,
    MAX_JSON_INTEGER,
    MAX_METADATA_DEPTH,
    MAX_OWNER_ID_LENGTH,
)

__all__ = [
    "SESSIONS",
    "TEXT",
    "FileEventSpec",
    "ForkSpec",
    "HistoryStep",
    "MessageSpec",
    "SessionSpec",
    "single_change",
]

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


def _non_blank(text: str) -> bool:
    return bool(text.strip())


def _repeated_to_limit(piece: str, most_characters: int, most_bytes: int | None = None) -> str:
    """Return ``piece`` repeated, then cut to the longest text within the limits."""
    text = (piece * most_characters)[:most_characters]
    while most_bytes is not None and len(text.encode("utf-8")) > most_bytes:
        text = text[:-1]
    return text


def _fits_path_limits(path: str) -> bool:
    return _non_blank(path) and len(path.encode("utf-8")) <= MAX_FILE_PATH_BYTES


PIECES = st.text(alphabet=UNICODE, min_size=1, max_size=4).filter(_non_blank)
FILE_PATHS = st.text(alphabet=UNICODE, min_size=1, max_size=MAX_FILE_PATH_LENGTH).filter(
    _fits_path_limits
) | PIECES.map(lambda piece: _repeated_to_limit(piece, MAX_FILE_PATH_LENGTH, MAX_FILE_PATH_BYTES))
"""Any non-blank path within the limits, and often one right at them (as many characters or
bytes as allowed)."""
EXTERNAL_IDS = TEXT.filter(_non_blank) | PIECES.map(
    lambda piece: _repeated_to_limit(piece, MAX_EXTERNAL_ID_LENGTH)
)
OWNER_IDS = TEXT.filter(_non_blank) | PIECES.map(
    lambda piece: _repeated_to_limit(piece, MAX_OWNER_ID_LENGTH)
)
DIFFS = st.none() | st.text(alphabet=UNICODE, max_size=200)


@dataclass(frozen=True)
class MessageSpec:
    """A message to append: what a caller passes to ``append_message``."""

    role: MessageRole
    content: str
    metadata: dict[str, Any]
    token_count: int | None


@dataclass(frozen=True)
class FileEventSpec:
    """A file event to record: what a caller passes to ``record_file_event``.

    ``message`` is the index (from 0) of the session's message that it belongs to.
    """

    message: int
    event_type: FileEventType
    file_path: str | None
    diff: str | None
    command: str | None


@dataclass(frozen=True)
class ForkSpec:
    """How a session is a fork: its first ``at`` messages are recorded on a parent first.

    The parent gets ``beyond`` more messages of its own after them, then is forked at ``at``;
    the rest of the session is recorded on the fork.
    """

    at: int
    beyond: int


@dataclass(frozen=True)
class HistoryStep:
    """One change of a session's history, made once its messages and events are recorded.

    ``kind`` is ``rewind``, ``undo``, ``compact``, ``pop`` or ``append``. ``choice`` picks the
    point of a rewind or compaction among the visible messages (and 0, for a rewind), modulo
    their number; ``text`` is the rewind's reason, the compaction's summary or the appended
    message's content. A step that the rules refuse at that point is skipped.
    """

    kind: str
    choice: int
    text: str


@dataclass(frozen=True)
class SessionSpec:
    """A session to record: ``create``, its messages and file events, ``update_token_usage``.

    File events are recorded in the order given, each once its message is appended, so
    messages and events interleave. With a ``fork``, the session is a fork of a parent that
    holds its first messages; ``history`` changes it afterwards.
    """

    actor_name: str
    title: str | None
    metadata: dict[str, Any]
    messages: tuple[MessageSpec, ...]
    prompt_tokens: int
    completion_tokens: int
    external_id: str | None
    file_events: tuple[FileEventSpec, ...]
    fork: ForkSpec | None = None
    history: tuple[HistoryStep, ...] = ()
    owner_id: str | None = None


MESSAGES = st.builds(
    MessageSpec,
    role=st.sampled_from(MessageRole),
    content=st.text(alphabet=UNICODE, max_size=200),
    metadata=METADATA,
    token_count=st.none() | TOKENS,
)


@st.composite
def file_events(draw: st.DrawFn, message_count: int) -> FileEventSpec:
    """Return a valid file event of any type on one of ``message_count`` messages."""
    event_type = draw(st.sampled_from(FileEventType))
    if event_type is FileEventType.COMMAND:
        file_path = draw(st.none() | FILE_PATHS)
        command = draw(st.text(alphabet=UNICODE, min_size=1, max_size=60).filter(_non_blank))
    else:
        file_path, command = draw(FILE_PATHS), None
    return FileEventSpec(
        message=draw(st.integers(0, message_count - 1)),
        event_type=event_type,
        file_path=file_path,
        diff=draw(DIFFS),
        command=command,
    )


HISTORY_STEPS = st.builds(
    HistoryStep,
    kind=st.sampled_from(["rewind", "rewind", "undo", "compact", "compact", "pop", "append"]),
    choice=st.integers(0, 1000),
    text=st.text(alphabet=UNICODE, min_size=1, max_size=30).filter(_non_blank),
)


@st.composite
def sessions(draw: st.DrawFn) -> SessionSpec:
    """Return a session with up to 4 messages and up to 5 file events attached to them.

    Often a fork of another session, and often with up to 6 changes of its history after.
    """
    messages = tuple(draw(st.lists(MESSAGES, max_size=4)))
    events = draw(st.lists(file_events(len(messages)), max_size=5)) if messages else []
    fork = draw(
        st.none() | st.builds(ForkSpec, at=st.integers(0, len(messages)), beyond=st.integers(0, 2))
    )
    return SessionSpec(
        actor_name=draw(TEXT.filter(_non_blank)),
        title=draw(st.none() | TEXT),
        metadata=draw(METADATA),
        messages=messages,
        prompt_tokens=draw(TOKENS),
        completion_tokens=draw(TOKENS),
        external_id=draw(st.none() | EXTERNAL_IDS),
        file_events=tuple(events),
        fork=fork,
        history=tuple(draw(st.lists(HISTORY_STEPS, max_size=6))),
        owner_id=draw(st.none() | OWNER_IDS),
    )


SESSIONS = sessions()

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
        choices = TEXT | st.sampled_from(
            [role.value for role in MessageRole] + [kind.value for kind in FileEventType]
        )
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

    Kinds: a different value for one leaf (any string, number, role, event type, timestamp,
    sequence, id, rewound_by, path, the checksum...), a key deleted from or added to any
    object, a message, a file event, a rewind or a compaction dropped, two of them swapped, or
    one listed twice.
    """
    changed = copy.deepcopy(document)
    lists = {
        name: changed.get(name, [])
        for name in ("messages", "file_events", "rewinds", "compactions")
    }
    kinds = ["leaf", "delete key", "add key"]
    kinds += [f"drop {name}" for name, items in lists.items() if items]
    kinds += [f"swap {name}" for name, items in lists.items() if len(items) >= 2]
    kinds += [f"repeat {name}" for name, items in lists.items() if items and name != "messages"]
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
    else:
        action, name = kind.split(" ")
        items = lists[name]
        if action == "drop":
            del items[draw(st.integers(0, len(items) - 1))]
        elif action == "repeat":
            repeated = draw(st.integers(0, len(items) - 1))
            items.insert(draw(st.integers(0, len(items))), copy.deepcopy(items[repeated]))
        else:
            _swap_two(draw, items)
    return changed


def _swap_two(draw: st.DrawFn, items: list[Any]) -> None:
    first = draw(st.integers(0, len(items) - 2))
    second = draw(st.integers(first + 1, len(items) - 1))
    items[first], items[second] = items[second], items[first]
