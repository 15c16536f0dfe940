"""Every check of an imported document, one broken field at a time, with a valid checksum.

Each case changes one field of a real export and seals it again (the checksum recomputed
here, from the rules of ``docs/reference/export_format.md``), so that the field check itself
must refuse it. The error names the field by its path, and nothing is written.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math
from collections.abc import Callable
from typing import Any

import pytest

from agent_sessions import (
    ImportIntegrityError,
    PersistentSessionService,
    UnsupportedSchemaVersionError,
)
from agent_sessions.infrastructure.memory import InMemorySessionStore

Document = dict[str, Any]


def _sealed(document: Document) -> Document:
    """Return ``document`` with the checksum of its canonical JSON."""
    body = {key: value for key, value in document.items() if key != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {**body, "checksum": "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()}


@pytest.fixture(scope="module")
def exported() -> Document:
    service = PersistentSessionService(InMemorySessionStore())
    session = service.create(
        "import-bot", title="caf\u00e9", external_id="x-1", metadata={"k": 1}, owner_id="tenant-7"
    )
    first = service.append_message(session.id, "user", "one", token_count=2)
    service.append_message(session.id, "assistant", "two")
    service.record_file_event(session.id, first.id, "edit", file_path="a.py", diff="+a")
    service.record_file_event(session.id, first.id, "command", command="pytest")
    return service.export_session(session.id)


def _set(path: str, value: object) -> Callable[[Document], None]:
    """Return a change that sets the field at ``path`` (dotted, with list indexes)."""

    def change(document: Document) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DROP:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return change


_DROP = object()

CASES: list[tuple[str, Callable[[Document], None], str]] = [
    ("wrong format", _set("format", "other"), "format is 'other', expected "),
    ("no schema_version", _set("schema_version", _DROP), "schema_version is missing"),
    ("text version", _set("schema_version", "2"), "schema_version must be an integer, got str"),
    ("bool version", _set("schema_version", True), "schema_version must be an integer, got bool"),
    ("unknown field", _set("extra", 1), "the export document has unknown field(s) 'extra'"),
    ("no messages", _set("messages", _DROP), "the export document lacks the field(s) messages"),
    ("messages not a list", _set("messages", {}), "messages must be a list, got dict"),
    ("events not a list", _set("file_events", None), "file_events must be a list, got NoneType"),
    ("bad exported_at", _set("exported_at", "soon"), "exported_at is not an ISO 8601 timestamp"),
    ("session not an object", _set("session", []), "session must be a JSON object, got list"),
    ("bad session id", _set("session.id", "nope"), "session.id: 'nope' is not a 26-character"),
    ("blank actor", _set("session.actor_name", " "), "session.actor_name: must not be empty"),
    ("long title", _set("session.title", "t" * 501), "session.title: is 501 characters long"),
    ("nan metadata", _set("session.metadata", {"x": math.nan}), "session.metadata: metadata['x']"),
    ("negative tokens", _set("session.prompt_tokens", -1), "session.prompt_tokens: must be 0"),
    ("bool tokens", _set("session.completion_tokens", True), "session.completion_tokens: must be"),
    ("blank external id", _set("session.external_id", ""), "session.external_id: must not be"),
    ("blank owner", _set("session.owner_id", ""), "session.owner_id: must not be empty or blank"),
    ("long owner", _set("session.owner_id", "o" * 256), "session.owner_id: is 256 characters"),
    ("owner not text", _set("session.owner_id", 7), "session.owner_id: must be a string or None"),
    ("no owner", _set("session.owner_id", _DROP), "session lacks the field(s) owner_id"),
    ("count too high", _set("session.message_count", 3), "session.message_count is 3 but the"),
    ("count not a number", _set("session.message_count", "2"), "session.message_count: must be"),
    ("no time zone", _set("session.created_at", "2026-01-01T00:00:00"), "has no time zone"),
    ("time not text", _set("session.updated_at", 0), "session.updated_at must be an ISO 8601"),
    ("bad message id", _set("messages.0.id", 7), "messages[0].id: must be a 26-character"),
    ("sequence gap", _set("messages.1.sequence", 3), "messages[1].sequence is 3, expected 2"),
    ("text sequence", _set("messages.0.sequence", "1"), "messages[0].sequence must be an integer"),
    ("bool sequence", _set("messages.0.sequence", True), "messages[0].sequence must be an int"),
    ("bad role", _set("messages.0.role", "robot"), "messages[0].role: 'robot' is not one of"),
    ("bad content", _set("messages.1.content", None), "messages[1].content: must be a string"),
    ("bad token count", _set("messages.0.token_count", -2), "messages[0].token_count: must be 0"),
    ("message field", _set("messages.0.colour", "red"), "messages[0] has unknown field(s)"),
    (
        "message lacks",
        _set("messages.0.metadata", _DROP),
        "messages[0] lacks the field(s) metadata",
    ),
    ("message time", _set("messages.0.created_at", "x"), "messages[0].created_at is not an ISO"),
    ("event id", _set("file_events.0.id", ""), "file_events[0].id: '' is not a 26-character"),
    ("event names 0", _set("file_events.0.message_sequence", 0), "names no message of the doc"),
    ("event names 3", _set("file_events.1.message_sequence", 3), "(it holds 2)"),
    ("event bool", _set("file_events.0.message_sequence", True), "must be an integer, got bool"),
    ("event type", _set("file_events.0.event_type", "move"), "file_events[0].event_type: 'move'"),
    ("event path", _set("file_events.0.file_path", None), "file_events[0].file_path: is required"),
    ("event field", _set("file_events.0.size", 1), "file_events[0] has unknown field(s) 'size'"),
]


@pytest.fixture(scope="module")
def with_history() -> Document:
    """Return the export of a fork of 5 messages, rewound and compacted.

    Rewinds: 0 to 4 (through 5), undone; 1 to 3 (through 5), hiding messages 4 and 5 and
    compaction 1. Compactions: 0 through 2, in force; 1 through 4, hidden.
    """
    service = PersistentSessionService(InMemorySessionStore())
    parent = service.create("history-bot")
    for text in ("one", "two"):
        service.append_message(parent.id, "user", text)
    fork = service.fork_session(parent.id)
    for text in ("three", "four", "five"):
        service.append_message(fork.id, "assistant", text)
    service.rewind(fork.id, 4)
    service.undo_rewind(fork.id)
    service.compact(fork.id, 2, "one and two")
    service.compact(fork.id, 4, "one to four")
    service.rewind(fork.id, 3)
    return service.export_session(fork.id)


def _hidden_by(where: str, rewind: int | None) -> Callable[[Document], None]:
    """Return a change that marks the message or compaction at ``where`` as hidden by a rewind.

    ``rewind`` is the place of the rewind in the document's list (-1: a rewind it lacks).
    """

    def change(document: Document) -> None:
        kind, index = where.split(".")
        named = (
            None
            if rewind is None
            else ("0" * 26 if rewind < 0 else document["rewinds"][rewind]["id"])
        )
        document[kind][int(index)]["rewound_by"] = named

    return change


def _swap_times(kind: str) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        first, second = document[kind][0], document[kind][1]
        first["created_at"], second["created_at"] = second["created_at"], first["created_at"]

    return change


HISTORY_CASES: list[tuple[str, Callable[[Document], None], str]] = [
    ("rewinds not a list", _set("rewinds", {}), "rewinds must be a list, got dict"),
    ("parent id", _set("session.parent_session_id", "p"), "session.parent_session_id: 'p' is"),
    ("parent no point", _set("session.forked_at_sequence", None), "must be null exactly when"),
    ("point text", _set("session.forked_at_sequence", "2"), "forked_at_sequence must be an int"),
    ("point negative", _set("session.forked_at_sequence", -1), "forked_at_sequence is -1, below"),
    ("rewind id", _set("rewinds.0.id", "r"), "rewinds[0].id: 'r' is not a 26-character"),
    ("rewind twice", lambda d: d["rewinds"].append(d["rewinds"][1]), "rewinds[2].id repeats"),
    ("rewind to text", _set("rewinds.0.to_sequence", "4"), "rewinds[0].to_sequence must be an"),
    ("rewind to -1", _set("rewinds.0.to_sequence", -1), "rewinds[0].to_sequence is -1, below 0"),
    ("rewind end", _set("rewinds.1.through_sequence", 3), "is 3, not above to_sequence 3"),
    ("rewind past", _set("rewinds.1.through_sequence", 6), "past the transcript's last sequence 5"),
    ("rewind reason", _set("rewinds.0.reason", 5), "rewinds[0].reason: must be a string"),
    ("rewind undone", _set("rewinds.0.undone_at", "later"), "rewinds[0].undone_at is not an ISO"),
    ("rewind order", _swap_times("rewinds"), "rewinds[1].created_at is earlier than the rewind"),
    ("rewind field", _set("rewinds.0.colour", 1), "rewinds[0] has unknown field(s) 'colour'"),
    ("compaction id", _set("compactions.0.id", 1), "compactions[0].id: must be a 26-character"),
    ("compaction at 0", _set("compactions.0.through_sequence", 0), "is 0, which names no message"),
    ("compaction past", _set("compactions.0.through_sequence", 6), "(it holds 5)"),
    ("summary", _set("compactions.0.summary", " "), "compactions[0].summary: must not be empty"),
    ("compaction hider", _set("compactions.1.rewound_by", "r"), "compactions[1].rewound_by: 'r'"),
    ("undone hider", _hidden_by("compactions.1", 0), "compactions[1].rewound_by names rewind"),
    ("unknown hider", _hidden_by("compactions.1", -1), "which is no rewind of the export"),
    ("hider short", _hidden_by("compactions.0", 1), "keeps the sequences up to 3 visible"),
    ("compaction order", _swap_times("compactions"), "compactions[1].created_at is earlier"),
    ("message hider", _set("messages.3.rewound_by", 1), "messages[3].rewound_by: must be a 26"),
    ("outside", _hidden_by("messages.2", 1), "which hides sequences 4 to 5, not sequence 3"),
    ("visible inside", _hidden_by("messages.4", None), "messages[4].rewound_by is null, but"),
    ("hidden by undone", _hidden_by("messages.3", 0), "which was undone"),
]


def test_the_owner_goes_out_and_comes_back_whole(exported: Document) -> None:
    """The document and the stream carry the owner, under the checksum, and import keeps it."""
    assert exported["session"]["owner_id"] == "tenant-7"
    service = PersistentSessionService(InMemorySessionStore())
    from_document = service.import_session(exported)
    assert from_document.owner_id == "tenant-7"
    stream = io.BytesIO()
    service.export_session_to(from_document.id, stream)
    assert b'"owner_id":"tenant-7"' in stream.getvalue()
    stream.seek(0)
    from_stream = service.import_session_from(stream, on_conflict="new_external_id")
    assert from_stream.owner_id == "tenant-7"
    listed = {session.id for session in service.list(owner_id="tenant-7")}
    assert listed == {from_stream.id, from_document.id}
    changed = copy.deepcopy(exported)
    changed["session"]["owner_id"] = "tenant-8"
    with pytest.raises(ImportIntegrityError, match="checksum mismatch"):
        service.import_session(changed)


def test_the_history_imports_as_it_is_and_an_undone_rewind_may_end_past_the_transcript(
    with_history: Document,
) -> None:
    service = PersistentSessionService(InMemorySessionStore())
    copied = service.import_session(_sealed(with_history))
    assert [r.undone for r in service.list_rewinds(copied.id)] == [True, False]
    # Rewound to 1, undone, then the last message popped: the undone rewind ends at 3 of 2.
    session = service.create("pop-bot")
    for text in ("one", "two", "three"):
        service.append_message(session.id, "user", text)
    service.rewind(session.id, 1)
    service.undo_rewind(session.id)
    service.pop_message(session.id)
    document = service.export_session(session.id)
    assert (document["rewinds"][0]["through_sequence"], len(document["messages"])) == (3, 2)
    assert service.import_session(document).message_count == 2


ALL_CASES = [("exported", *case) for case in CASES] + [
    ("with_history", *case) for case in HISTORY_CASES
]


@pytest.mark.parametrize(
    ("source", "change", "expected"),
    [(case[0], *case[2:]) for case in ALL_CASES],
    ids=[case[1] for case in ALL_CASES],
)
def test_a_broken_field_is_refused_by_its_path(
    request: pytest.FixtureRequest,
    source: str,
    change: Callable[[Document], None],
    expected: str,
) -> None:
    """Every case breaks one field of an export (of history, for HISTORY_CASES), re-sealed."""
    store = InMemorySessionStore()
    service = PersistentSessionService(store)
    document = copy.deepcopy(request.getfixturevalue(source))
    change(document)
    with pytest.raises(ImportIntegrityError) as raised:
        service.import_session(_sealed(document))
    assert expected in str(raised.value)
    assert not store.tables.sessions and not store.tables.messages and not store.tables.rewinds


def test_events_must_come_in_the_order_recorded_and_before_the_session_changed(
    exported: Document,
) -> None:
    service = PersistentSessionService(InMemorySessionStore())
    same_time = copy.deepcopy(exported)
    events = same_time["file_events"]
    events[1]["created_at"] = events[0]["created_at"]
    with pytest.raises(ImportIntegrityError, match=r"file_events\[1\].created_at is not later"):
        service.import_session(_sealed(same_time))
    late = copy.deepcopy(exported)
    late["file_events"][1]["created_at"] = "2999-01-01T00:00:00.000000Z"
    with pytest.raises(ImportIntegrityError, match=r"is later than session\.updated_at"):
        service.import_session(_sealed(late))
    at_the_update = copy.deepcopy(exported)
    at_the_update["file_events"][1]["created_at"] = exported["session"]["updated_at"]
    copied = service.import_session(_sealed(at_the_update))
    assert len(service.list_file_events(copied.id)) == 2


def test_what_is_not_a_document_is_named(exported: Document) -> None:
    service = PersistentSessionService(InMemorySessionStore())
    with pytest.raises(ImportIntegrityError, match="must be a JSON object, got list"):
        service.import_session([])  # type: ignore[arg-type]
    with pytest.raises(UnsupportedSchemaVersionError) as raised:
        service.import_session(_sealed({**exported, "schema_version": 4}))
    assert raised.value.found == 4


def _version_2(exported: Document) -> Document:
    """Return the export as version 2 wrote it: no history, no parent, no rewound_by."""
    document = copy.deepcopy(exported)
    document["schema_version"] = 2
    del document["rewinds"], document["compactions"]
    del document["session"]["parent_session_id"], document["session"]["forked_at_sequence"]
    del document["session"]["owner_id"]
    for message in document["messages"]:
        del message["rewound_by"]
    return document


def test_a_version_2_document_has_no_history_nor_parent(exported: Document) -> None:
    service = PersistentSessionService(InMemorySessionStore())
    version_2 = {**_version_2(exported), "rewinds": []}
    with pytest.raises(ImportIntegrityError, match=r"has unknown field\(s\) 'rewinds'"):
        service.import_session(_sealed(version_2))
    del version_2["rewinds"]
    version_2["session"]["parent_session_id"] = None
    with pytest.raises(ImportIntegrityError, match=r"unknown field\(s\) 'parent_session_id'"):
        service.import_session(_sealed(version_2))
    del version_2["session"]["parent_session_id"]
    version_2["session"]["owner_id"] = "tenant-7"
    with pytest.raises(ImportIntegrityError, match=r"unknown field\(s\) 'owner_id'"):
        service.import_session(_sealed(version_2))
    del version_2["session"]["owner_id"]
    version_2["messages"][1]["rewound_by"] = None
    with pytest.raises(ImportIntegrityError, match=r"messages\[1\] has unknown field\(s\)"):
        service.import_session(_sealed(version_2))
    del version_2["messages"][1]["rewound_by"]
    imported = service.import_session(_sealed(version_2), on_conflict="new_external_id")
    assert imported.message_count == 2 and imported.parent_session_id is None
    assert imported.owner_id is None
    assert len(service.list_file_events(imported.id)) == 2


def test_a_version_1_document_has_no_file_events_nor_external_id(exported: Document) -> None:
    service = PersistentSessionService(InMemorySessionStore())
    version_1 = _version_2(exported)
    version_1["schema_version"] = 1
    with pytest.raises(ImportIntegrityError, match=r"has unknown field.*'file_events'"):
        service.import_session(_sealed(version_1))
    del version_1["file_events"]
    with pytest.raises(ImportIntegrityError, match=r"session has unknown field\(s\) 'external_id'"):
        service.import_session(_sealed(version_1))
    del version_1["session"]["external_id"]
    imported = service.import_session(_sealed(version_1))
    assert imported.external_id is None and imported.message_count == 2
    assert imported.owner_id is None
    assert service.list_file_events(imported.id) == []


def test_the_checksum_is_checked_last_and_exactly(exported: Document) -> None:
    service = PersistentSessionService(InMemorySessionStore())
    for stated in (None, "sha256:" + "A" * 64, "sha256:" + "a" * 63, "md5:" + "a" * 64):
        with pytest.raises(ImportIntegrityError, match="'sha256:' and 64 lower-case hex"):
            service.import_session({**exported, "checksum": stated})
    flipped = exported["checksum"][:-1] + ("0" if exported["checksum"][-1] != "0" else "1")
    with pytest.raises(ImportIntegrityError) as raised:
        service.import_session({**exported, "checksum": flipped})
    assert str(raised.value) == (
        "checksum mismatch: the document was changed or damaged after export "
        f"(stated {flipped}, computed {exported['checksum']})"
    )
    assert _sealed(exported)["checksum"] == exported["checksum"]


def _canonical_size(document: Document) -> int:
    body = {key: value for key, value in document.items() if key != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode())


def test_a_document_holds_at_most_64_mib_of_canonical_json(exported: Document) -> None:
    service = PersistentSessionService(InMemorySessionStore())
    document = copy.deepcopy(exported)
    document["messages"] = [document["messages"][0]] * 10  # shared: fill them as one
    document["messages"] = [dict(m, sequence=i + 1) for i, m in enumerate(document["messages"])]
    document["session"]["message_count"] = 10
    room = 64 * 1024 * 1024 - _canonical_size(document)
    for index, message in enumerate(document["messages"]):
        message["content"] += "a" * (room // 10 + (room % 10 if index == 0 else 0))
    assert _canonical_size(document) == 64 * 1024 * 1024
    wrong = "sha256:" + "0" * 64
    # At the limit the size passes and the checksum is compared; one byte more is refused.
    with pytest.raises(ImportIntegrityError, match="checksum mismatch"):
        service.import_session({**document, "checksum": wrong})
    document["messages"][0]["content"] += "a"
    with pytest.raises(ImportIntegrityError) as raised:
        service.import_session({**document, "checksum": wrong})
    assert str(raised.value) == (
        f"the export document is {64 * 1024 * 1024 + 1} bytes of canonical JSON; an import "
        f"takes at most {64 * 1024 * 1024} (64 MiB)"
    )


@pytest.mark.parametrize(
    ("name", "most"),
    [
        ("messages", 100_000),
        ("file_events", 1_000_000),
        ("rewinds", 100_000),
        ("compactions", 100_000),
    ],
)
def test_a_document_holds_at_most_so_many_items(exported: Document, name: str, most: int) -> None:
    service = PersistentSessionService(InMemorySessionStore())
    broken = {"broken": True}
    # At the limit the count passes and the first item is checked (and refused here).
    with pytest.raises(ImportIntegrityError) as raised:
        service.import_session({**exported, name: [broken] * most})
    assert str(raised.value).startswith(f"{name}[0] lacks the field(s) ")
    with pytest.raises(ImportIntegrityError) as raised:
        service.import_session({**exported, name: [broken] * (most + 1)})
    assert str(raised.value) == f"{name} holds {most + 1} items; an import takes at most {most}"


def _stream_lines() -> list[bytes]:
    """Return the lines of a real JSON Lines export: header, two messages, two events, trailer."""
    service = PersistentSessionService(InMemorySessionStore())
    session = service.create("stream-bot")
    first = service.append_message(session.id, "user", "hi")
    service.append_message(session.id, "assistant", "hello")
    service.record_file_event(session.id, first.id, "edit", file_path="a.py", diff="+a")
    service.record_file_event(session.id, first.id, "command", command="pytest")
    out = io.BytesIO()
    service.export_session_to(session.id, out)
    return out.getvalue().splitlines(keepends=True)


def _resealed(lines: list[bytes]) -> bytes:
    """Return the stream of ``lines`` (the trailer last) with its checksum recomputed."""
    *body, trailer = lines
    record = json.loads(trailer)
    record["checksum"] = "sha256:" + hashlib.sha256(b"".join(body)).hexdigest()
    return b"".join([*body, json.dumps(record).encode() + b"\n"])


def _key_twice(line: bytes, key: str, value: str) -> bytes:
    """Return ``line`` with ``"key": value`` written again at the end of its innermost record."""
    return line.rstrip(b"\n")[:-2] + f',"{key}":{json.dumps(value)}}}}}\n'.encode()


STREAM_CASES: list[tuple[str, int, Callable[[bytes], bytes], str]] = [
    (
        "content twice",
        1,
        lambda line: _key_twice(line, "content", "INJECTED"),
        "line 2 is not valid JSON: the key 'content' appears twice in one object",
    ),
    (
        "actor twice in the header",
        0,
        lambda line: _key_twice(line, "actor_name", "someone-else"),
        "line 1 is not valid JSON: the key 'actor_name' appears twice in one object",
    ),
    (
        "blank owner in the header",
        0,
        lambda line: line.replace(b'"owner_id":null', b'"owner_id":" "'),
        "line 1: session.owner_id: must not be empty or blank",
    ),
    (
        "NaN token count",
        2,
        lambda line: line.replace(b'"token_count":null', b'"token_count":NaN'),
        "line 3 is not valid JSON: NaN is not a JSON number",
    ),
    (
        "Infinity in metadata",
        1,
        lambda line: line.replace(b'"metadata":{}', b'"metadata":{"x":-Infinity}'),
        "line 2 is not valid JSON: -Infinity is not a JSON number",
    ),
    (
        "metadata nested past the parser",
        1,
        lambda line: line.replace(b'"metadata":{}', b'"metadata":' + b"[" * 10**5 + b"]" * 10**5),
        "line 2 is not valid JSON: maximum recursion depth exceeded",
    ),
]


@pytest.mark.parametrize(
    ("at", "change", "expected"),
    [case[1:] for case in STREAM_CASES],
    ids=[c[0] for c in STREAM_CASES],
)
def test_a_stream_is_read_with_the_strict_json_of_a_document(
    at: int, change: Callable[[bytes], bytes], expected: str
) -> None:
    lines = _stream_lines()
    changed = change(lines[at])
    assert changed != lines[at]
    store = InMemorySessionStore()
    service = PersistentSessionService(store)
    with pytest.raises(ImportIntegrityError) as raised:
        service.import_session_from(io.BytesIO(_resealed([*lines[:at], changed, *lines[at + 1 :]])))
    assert str(raised.value).startswith(expected)
    assert not store.tables.sessions and not store.tables.messages
    assert not store.tables.file_events
    # The same stream, resealed but unchanged, imports: only the strict JSON refused it.
    assert service.import_session_from(io.BytesIO(_resealed(lines))).message_count == 2
