"""Steps about a session's history (forks, rewinds, compactions) and its export.

The history is made through the public service; a copy is compared with its original by what
import keeps: every field but the ids, with each ``rewound_by`` read as the place of its rewind
in the session's list of rewinds.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from behave import given, then, when
from behave.runner import Context
from ulid import ULID

from agent_sessions import MessageRole
from features.session_world import (
    attempt,
    history_row,
    independent_checksum,
    note_history_row,
    remember,
    session_of,
)

_DATA = Path(__file__).resolve().parent.parent / "data"
_ROLES = (MessageRole.USER, MessageRole.ASSISTANT)


# --- history made through the library ---------------------------------------------------------


@given('"{actor}" rewound its session to sequence {point:d}')
def step_actor_rewound(context: Context, actor: str, point: int) -> None:
    rewind = context.service.rewind(session_of(context, actor).id, point)
    assert rewind is not None, f"the rewind of {actor} to {point} hid nothing"
    note_history_row(context, "rewind", actor, rewind)


@given('"{actor}" rewound its session to sequence {point:d}, then undid that rewind')
def step_actor_rewound_and_undid(context: Context, actor: str, point: int) -> None:
    step_actor_rewound(context, actor, point)
    undone = context.service.undo_rewind(session_of(context, actor).id)
    assert undone.id == history_row(context, "rewind", actor).id, undone


@given('"{actor}" compacted its session through sequence {point:d}')
def step_actor_compacted(context: Context, actor: str, point: int) -> None:
    compaction = context.service.compact(
        session_of(context, actor).id, point, f"what {actor} said up to {point}"
    )
    note_history_row(context, "compaction", actor, compaction)


@given('"{actor}" forked its session at sequence {point:d} for "{fork}"')
def step_actor_forked(context: Context, actor: str, point: int, fork: str) -> None:
    session_id = session_of(context, actor).id
    remember(context, context.service.fork_session(session_id, at_sequence=point, actor_name=fork))


@given('"{actor}" appended {count:d} more messages')
def step_actor_appended(context: Context, actor: str, count: int) -> None:
    session_id = session_of(context, actor).id
    for number in range(1, count + 1):
        context.service.append_message(session_id, _ROLES[number % 2], f"more {number} of {actor}")


# --- what a copy must hold --------------------------------------------------------------------


def _apart_from_ids(row: Any, place: dict[str, int]) -> Any:
    """Return a message or compaction without its ids, its rewind named by its place."""
    hider = None if row.rewound_by is None else f"rewind #{place[row.rewound_by]}"
    return dataclasses.replace(row, id="", session_id="", rewound_by=hider)


def _history(context: Context, session_id: str) -> dict[str, Any]:
    """Return what import keeps of a session's history, ids replaced by places in lists."""
    service = context.service
    rewinds = service.list_rewinds(session_id)
    place = {rewind.id: index for index, rewind in enumerate(rewinds)}
    session = service.get(session_id)
    return {
        "fork": (session.parent_session_id, session.forked_at_sequence),
        "rewinds": [
            (r.to_sequence, r.through_sequence, r.reason, r.created_at, r.undone_at)
            for r in rewinds
        ],
        "compactions": [
            _apart_from_ids(row, place) for row in service.list_compactions(session_id)
        ],
        "transcript": [
            _apart_from_ids(message, place)
            for message in service.get_messages(session_id, include_rewound=True)
        ],
    }


def _document_of(context: Context, actor: str) -> dict[str, Any]:
    """Return the export document of the actor's session, as read back from a JSON file."""
    document = context.service.export_session(session_of(context, actor).id)
    return json.loads(json.dumps(document, ensure_ascii=False))  # type: ignore[no-any-return]


def _stream_of(context: Context, actor: str) -> bytes:
    target = io.BytesIO()
    context.service.export_session_to(session_of(context, actor).id, target)
    return target.getvalue()


@when('I export the session of "{actor}" as {form} and import it as a copy')
def step_export_import(context: Context, actor: str, form: str) -> None:
    service = context.service
    if form == "a document":
        context.copy = service.import_session(_document_of(context, actor))
    elif form == "a JSON Lines stream":
        context.copy = service.import_session_from(io.BytesIO(_stream_of(context, actor)))
    else:
        raise ValueError(f"the steps know no export form {form!r}")


@then('the copy holds the transcript, rewinds and compactions of "{actor}", linked as there')
def step_copy_holds_history(context: Context, actor: str) -> None:
    original = _history(context, session_of(context, actor).id)
    copied = _history(context, context.copy.id)
    for part in ("transcript", "rewinds", "compactions"):
        assert copied[part] == original[part], (part, copied[part], original[part])
    original_ids = {r.id for r in context.service.list_rewinds(session_of(context, actor).id)}
    assert not original_ids & {r.id for r in context.service.list_rewinds(context.copy.id)}


@then('the copy names the session of "{actor}" as its parent, forked at sequence {point:d}')
def step_copy_parent(context: Context, actor: str, point: int) -> None:
    stored = context.service.get(context.copy.id)
    assert (stored.parent_session_id, stored.forked_at_sequence) == (
        session_of(context, actor).id,
        point,
    ), stored


@then('the copy reads the same visible history and context messages as "{actor}"')
def step_copy_reads_the_same(context: Context, actor: str) -> None:
    service, original = context.service, session_of(context, actor).id

    def seen(session_id: str) -> tuple[list[Any], list[Any]]:
        visible = [(m.sequence, m.content) for m in service.get_messages(session_id)]
        sent = [(m.role, m.content) for m in service.context_messages(session_id)]
        return visible, sent

    assert seen(context.copy.id) == seen(original), (seen(context.copy.id), seen(original))


# --- a fork's parent is a reference -----------------------------------------------------------


@when('I export the session of "{actor}" as a document')
def step_export_document(context: Context, actor: str) -> None:
    context.document = _document_of(context, actor)


@then(
    'the document names the session of "{parent}" as the parent, forked at sequence {point:d}, '
    'and holds only the {count:d} messages of "{actor}"'
)
def step_document_reference(
    context: Context, parent: str, point: int, count: int, actor: str
) -> None:
    record = context.document["session"]
    assert (record["parent_session_id"], record["forked_at_sequence"]) == (
        session_of(context, parent).id,
        point,
    ), record
    messages = context.document["messages"]
    contents = [m.content for m in context.service.get_messages(
        session_of(context, actor).id, include_rewound=True)]  # fmt: skip
    assert [message["content"] for message in messages] == contents
    assert len(messages) == count, len(messages)


@when('the session of "{actor}" is deleted and the document imported')
def step_delete_then_import(context: Context, actor: str) -> None:
    context.service.delete(session_of(context, actor).id)
    context.copy = context.service.import_session(context.document)


@then('the copy names the deleted session of "{actor}" as its parent')
def step_copy_names_deleted(context: Context, actor: str) -> None:
    deleted = session_of(context, actor).id
    assert context.service.get(context.copy.id).parent_session_id == deleted
    assert context.service.lineage(context.copy.id) == [], "a deleted parent is not listed"


# --- changes while a stream is written --------------------------------------------------------


class _RewindingWriter(io.BytesIO):
    """A stream that, when the export writes its first line, undoes and rewinds the session."""

    def __init__(self, context: Context, session_id: str, point: int) -> None:
        super().__init__()
        self._service = context.service
        self._session_id = session_id
        self._point: int | None = point

    def write(self, data: Any) -> int:
        if self._point is not None:
            point, self._point = self._point, None
            self._service.undo_rewind(self._session_id)
            self._service.rewind(self._session_id, point)
        return super().write(data)


@given('the history of "{actor}" is noted')
def step_note_history(context: Context, actor: str) -> None:
    context.noted_history = _history(context, session_of(context, actor).id)


@when(
    'I export the session of "{actor}" as a JSON Lines stream while its last rewind is undone '
    "and it is rewound to sequence {point:d}"
)
def step_export_while_rewinding(context: Context, actor: str, point: int) -> None:
    target = _RewindingWriter(context, session_of(context, actor).id, point)
    context.service.export_session_to(session_of(context, actor).id, target)
    context.copy = context.service.import_session_from(io.BytesIO(target.getvalue()))


@then("the copy holds the history noted")
def step_copy_holds_noted(context: Context) -> None:
    copied = _history(context, context.copy.id)
    for part in ("transcript", "rewinds", "compactions"):
        assert copied[part] == context.noted_history[part], (part, copied[part])


@then('"{actor}" now has {count:d} rewinds, and {hidden:d} of its messages are hidden')
def step_actor_now(context: Context, actor: str, count: int, hidden: int) -> None:
    session_id = session_of(context, actor).id
    assert len(context.service.list_rewinds(session_id)) == count
    transcript = context.service.get_messages(session_id, include_rewound=True)
    assert sum(message.rewound for message in transcript) == hidden, transcript


# --- damaged history ----------------------------------------------------------------------------


def _rewind_id(document: dict[str, Any], index: int) -> str:
    return str(document["rewinds"][index]["id"])


def _message(index: int, **change: Any) -> Callable[[dict[str, Any]], None]:
    return lambda document: document["messages"][index].update(change)


_DOCUMENT_DAMAGE: dict[str, Callable[[dict[str, Any]], None]] = {
    "marking message 1 as hidden by a rewind the document does not hold": _message(
        0, rewound_by=str(ULID())
    ),
    "making message 7 visible": _message(6, rewound_by=None),
    "marking message 3 as hidden by the undone rewind": lambda d: d["messages"][2].update(
        rewound_by=_rewind_id(d, 1)
    ),
    "marking message 2 as hidden by the rewind that holds": lambda d: d["messages"][1].update(
        rewound_by=_rewind_id(d, 0)
    ),
    "ending the first rewind past the transcript": lambda d: d["rewinds"][0].update(
        through_sequence=9
    ),
    "ending the first compaction past the transcript": lambda d: d["compactions"][0].update(
        through_sequence=9
    ),
    "hiding the first compaction by the undone rewind": lambda d: d["compactions"][0].update(
        rewound_by=_rewind_id(d, 1)
    ),
    "listing the rewinds in the wrong order": lambda d: d["rewinds"].reverse(),
    "listing the first rewind twice": lambda d: d["rewinds"].append(d["rewinds"][0]),
    "naming the session as its own parent": lambda d: d["session"].update(
        parent_session_id=d["session"]["id"]
    ),
    "dropping the parent but keeping the fork point": lambda d: d["session"].update(
        parent_session_id=None
    ),
    "removing the rewinds field": lambda d: d.pop("rewinds"),
}


@when('I import the document of "{actor}" after {damage}, re-signed')
def step_import_damaged_document(context: Context, actor: str, damage: str) -> None:
    document = copy.deepcopy(_document_of(context, actor))
    _DOCUMENT_DAMAGE[damage](document)
    document["checksum"] = independent_checksum(document)
    service = context.service
    attempt(context, lambda: service.import_session(document, on_conflict="new_external_id"))


def _rehashed(lines: list[bytes]) -> bytes:
    """Return the stream with its trailer's checksum recomputed, as anyone can."""
    trailer = json.loads(lines[-1])
    trailer["checksum"] = "sha256:" + hashlib.sha256(b"".join(lines[:-1])).hexdigest()
    return b"".join([*lines[:-1], json.dumps(trailer).encode("utf-8") + b"\n"])


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"


def _stream_damage(lines: list[bytes], damage: str) -> list[bytes]:
    """Return the lines of a stream with one change (header, 2 rewinds, 2 compactions, ...)."""
    if damage == "its second rewind line moved after its first message":
        return [lines[0], lines[1], *lines[3:6], lines[2], *lines[6:]]
    if damage == "its first message naming a rewind the stream does not hold":
        record = json.loads(lines[5])
        record["message"]["rewound_by"] = str(ULID())
        return [*lines[:5], _line(record), *lines[6:]]
    if damage == "a trailer that counts 3 rewinds":
        trailer = json.loads(lines[-1])
        trailer["rewinds"] = 3
        return [*lines[:-1], _line(trailer)]
    raise ValueError(f"the steps know no damage {damage!r}")


@when('I import the JSON Lines stream of "{actor}" with {damage}, rehashed')
def step_import_damaged_stream(context: Context, actor: str, damage: str) -> None:
    lines = _stream_of(context, actor).splitlines(keepends=True)
    assert [next(iter(json.loads(line))) for line in lines[1:5]] == [
        "rewind", "rewind", "compaction", "compaction"]  # fmt: skip
    data = _rehashed(_stream_damage(lines, damage))
    attempt(
        context,
        lambda: context.service.import_session_from(
            io.BytesIO(data), on_conflict="new_external_id"
        ),
    )


# --- exports of earlier versions ----------------------------------------------------------------


@when('I import the stored schema_version 2 {form} "{name}"')
def step_import_stored_version_2(context: Context, form: str, name: str) -> None:
    data = (_DATA / name).read_bytes()
    service = context.service
    if form == "document":
        document = json.loads(data)
        assert document["schema_version"] == 2, document["schema_version"]
        assert document["checksum"] == independent_checksum(document)
        context.copy = service.import_session(document, on_conflict="new_external_id")
    else:
        assert json.loads(data.splitlines()[0])["schema_version"] == 2
        context.copy = service.import_session_from(io.BytesIO(data), on_conflict="new_external_id")


@then(
    "the copy holds {messages:d} messages and {events:d} file events, "
    "and no parent, rewind or compaction"
)
def step_copy_without_history(context: Context, messages: int, events: int) -> None:
    service, session_id = context.service, context.copy.id
    history = _history(context, session_id)
    assert history["fork"] == (None, None), history["fork"]
    assert history["rewinds"] == history["compactions"] == [], history
    transcript = history["transcript"]
    assert [message.sequence for message in transcript] == list(range(1, messages + 1))
    assert not any(message.rewound for message in transcript), "a message is hidden"
    assert len(service.list_file_events(session_id)) == events
    assert service.export_session(session_id)["schema_version"] == 3
