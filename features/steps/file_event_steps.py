"""Steps about file events, the files a session touched, external ids and export version 2."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from behave import given, then, when
from behave.runner import Context
from sqlalchemy import func, inspect, select, table, text

from agent_sessions import FileEvent, FileEventType, PersistentSessionService
from agent_sessions.domain.validation import MAX_COMMAND_BYTES, MAX_DIFF_BYTES
from agent_sessions.infrastructure.database import create_database_engine, open_store
from features.session_world import (
    ULID_PATTERN,
    assert_utc,
    attempt,
    independent_checksum,
    parse_names,
    parse_sequences,
    remember,
    sample_value,
    session_of,
    unknown_session_id,
)

_DATA = Path(__file__).resolve().parents[1] / "data"

# --- recording events from a table -----------------------------------------------------------


def _cell(value: str | None) -> str | None:
    """A blank cell is None, ``""`` is the empty string, ``<space>`` stands for a space."""
    if value is None or not value.strip():
        return None
    if value == '""':
        return ""
    return value.replace("<space>", " ")


def _record_table(context: Context, service: PersistentSessionService) -> None:
    session = context.session
    messages = context.service.get_messages(session.id)
    context.recorded_rows = []
    context.recorded = []
    for row in context.table:
        message = messages[int(row["message"]) - 1]
        wanted = {
            "message_id": message.id,
            "event_type": row["event_type"],
            "file_path": _cell(row["file_path"]),
            "diff": _cell(row["diff"]),
            "command": _cell(row["command"]),
        }
        context.recorded_rows.append(wanted)
        context.recorded.append(
            service.record_file_event(
                session.id,
                message.id,
                row["event_type"],
                file_path=wanted["file_path"],
                diff=wanted["diff"],
                command=wanted["command"],
            )
        )


@given("these file events were recorded on its messages:")
@when("these file events are recorded on its messages:")
def step_record_table(context: Context) -> None:
    _record_table(context, context.service)


@when("these file events are recorded on its messages through that service:")
def step_record_table_through(context: Context) -> None:
    context.updated_before = context.service.get(context.session.id).updated_at
    _record_table(context, context.second_service)


@then("listing its file events gives those events in the order recorded, with every field")
def step_listed_in_order(context: Context) -> None:
    listed = context.service.list_file_events(context.session.id)
    assert listed == context.recorded, f"listed {listed}\nrecorded {context.recorded}"
    assert len({event.id for event in listed}) == len(listed), "event ids repeat"
    for number, (event, wanted) in enumerate(zip(listed, context.recorded_rows, strict=True), 1):
        assert ULID_PATTERN.match(event.id), f"row {number}: id {event.id!r} is not a ULID"
        assert event.session_id == context.session.id, f"row {number}: {event.session_id}"
        assert event.message_id == wanted["message_id"], f"row {number}: {event.message_id}"
        assert isinstance(event.event_type, FileEventType), f"row {number}: {event.event_type!r}"
        assert event.event_type.value == wanted["event_type"], f"row {number}: {event.event_type}"
        for name in ("file_path", "diff", "command"):
            assert getattr(event, name) == wanted[name], (
                f"row {number}: {name} is {getattr(event, name)!r}, not {wanted[name]!r}"
            )
        assert_utc(event.created_at, f"row {number}: created_at")
    moments = [event.created_at for event in listed]
    assert moments == sorted(moments), "created_at does not follow the order recorded"


# --- filters and pages ------------------------------------------------------------------------

_SELECTION_PARTS = {
    "event_type": re.compile(r'of type "([^"]*)"'),
    "file_path": re.compile(r'on "([^"]*)"'),
    "limit": re.compile(r"limit (\d+)"),
    "offset": re.compile(r"offset (\d+)"),
}
_SELECTION_FILLER = re.compile(r"\b(?:with|and|without a filter)\b")


def _selection(text: str) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    rest = text
    for name, pattern in _SELECTION_PARTS.items():
        match = pattern.search(rest)
        if match is not None:
            value = match.group(1)
            arguments[name] = int(value) if name in ("limit", "offset") else value
            rest = rest.replace(match.group(0), " ", 1)
    leftover = _SELECTION_FILLER.sub(" ", rest).strip()
    assert not leftover, f"the steps do not understand {leftover!r} in {text!r}"
    return arguments


@when("I list its file events {selection}")
def step_list_selection(context: Context, selection: str) -> None:
    arguments = _selection(selection)
    context.listed_events = context.service.list_file_events(context.session.id, **arguments)


@then("I get the file events recorded in rows {rows}")
def step_listed_rows(context: Context, rows: str) -> None:
    numbers = [] if rows.strip() == "none" else parse_sequences(rows)
    expected = [context.recorded[number - 1] for number in numbers]
    got = context.listed_events
    shown = [context.recorded.index(event) + 1 for event in got if event in context.recorded]
    assert got == expected, f"got the events of rows {shown} ({len(got)} events), not {numbers}"


# --- time -------------------------------------------------------------------------------------

_CLOCK_OFFSETS = {"an hour ago": timedelta(hours=-1), "an hour from now": timedelta(hours=1)}


@given("a second service on the same database whose clock stands still {when}")
def step_still_clock(context: Context, when: str) -> None:
    moment = datetime.now(UTC) + _CLOCK_OFFSETS[when]
    service = PersistentSessionService(
        open_store(context.database_url, on_drift="off"), clock=lambda: moment
    )
    context.scenario_stack.callback(service.close)
    context.second_service = service


@then(
    "each listed file event's created_at is later than the one before and than the "
    "session's last update before it"
)
def step_strictly_later(context: Context) -> None:
    listed = context.service.list_file_events(context.session.id)
    assert listed == context.recorded, "the listed events differ from the recorded ones"
    previous = context.updated_before
    for number, event in enumerate(listed, 1):
        assert_utc(event.created_at, f"event {number}'s created_at")
        assert event.created_at > previous, (
            f"event {number} at {event.created_at} is not later than {previous}"
        )
        previous = event.created_at


@then("the session's updated_at is now the last file event's created_at")
def step_updated_at_last_event(context: Context) -> None:
    stored = context.service.get(context.session.id)
    last = context.recorded[-1].created_at
    assert stored.updated_at == last, f"updated_at {stored.updated_at}, last event at {last}"


# --- files touched ----------------------------------------------------------------------------


@when("I ask which files the session touched")
def step_files_touched(context: Context) -> None:
    context.touched = context.service.files_touched(context.session.id)


def _counts(text: str) -> dict[FileEventType, int]:
    counts: dict[FileEventType, int] = {}
    for part in parse_names(text):
        kind, number = part.split()
        counts[FileEventType(kind)] = int(number)
    return counts


@then("the files touched are, in this order:")
def step_touched_table(context: Context) -> None:
    expected_paths = [str(_cell(row["file_path"])) for row in context.table]
    assert expected_paths == sorted(expected_paths), "the table itself is not in code-point order"
    got = context.touched
    assert [touch.file_path for touch in got] == expected_paths, (
        f"paths {[touch.file_path for touch in got]}"
    )
    for touch, row in zip(got, context.table, strict=True):
        counts = _counts(row["counts"])
        assert touch.counts == counts, f"{touch.file_path!r}: counts {touch.counts}"
        assert all(isinstance(kind, FileEventType) for kind in touch.counts), touch.counts
        assert touch.total == sum(counts.values()), f"{touch.file_path!r}: total {touch.total}"
        last = context.recorded[int(row["last event"]) - 1].created_at
        assert touch.last_event_at == last, f"{touch.file_path!r}: last {touch.last_event_at}"
        assert_utc(touch.last_event_at, f"{touch.file_path!r}: last_event_at")


@then("the files touched are none")
def step_touched_none(context: Context) -> None:
    assert context.touched == [], f"files touched: {context.touched}"


# --- sessions touching a path -----------------------------------------------------------------


@given("sessions recorded these file events, each session created at its first row:")
def step_sessions_recorded(context: Context) -> None:
    service = context.service
    for row in context.table:
        actor = row["actor"]
        if actor not in getattr(context, "sessions", {}):
            session = service.create(actor)
            service.append_message(session.id, "assistant", f"work of {actor}")
            remember(context, session)
        session = session_of(context, actor)
        (message,) = service.get_messages(session.id)
        service.record_file_event(
            session.id, message.id, row["event_type"], file_path=row["file_path"]
        )


@when('I ask which sessions touched "{path:Text}"')
def step_sessions_touching(context: Context, path: str) -> None:
    context.touching = context.service.sessions_touching(path)


@when('I ask which sessions touched "{path:Text}", {limit:d} at most')
def step_sessions_touching_limited(context: Context, path: str, limit: int) -> None:
    context.touching = context.service.sessions_touching(path, limit=limit)


@then("the sessions touching it are those of {actors}")
def step_touching_actors(context: Context, actors: str) -> None:
    wanted = [name.strip('"') for name in parse_names(actors)]
    got = [session.actor_name for session in context.touching]
    assert got == wanted, f"sessions of {got}, not {wanted}"
    for session in context.touching:
        assert session == context.service.get(session.id), f"{session} is not the stored one"


@then("no session touches it")
def step_touching_none(context: Context) -> None:
    assert context.touching == [], f"sessions touching: {context.touching}"


_PATHS_AT_THE_LIMIT = {
    "768 ASCII characters": lambda: "p/" + "a" * 766,
    "512 four-byte characters": lambda: "😀" * 512,
    "682 three-byte characters": lambda: "/" * 2 + "語" * 682,
}


@when("an edit of a file_path of {description} is recorded on its first message")
def step_record_path_at_limit(context: Context, description: str) -> None:
    context.limit_path = _PATHS_AT_THE_LIMIT[description]()
    (message, *_) = context.service.get_messages(context.session.id)
    context.limit_event = context.service.record_file_event(
        context.session.id, message.id, "edit", file_path=context.limit_path, diff="+x"
    )


@then("its file events on that path and the sessions touching that path find it")
def step_path_at_limit_found(context: Context) -> None:
    path = context.limit_path
    listed = context.service.list_file_events(context.session.id, file_path=path)
    assert listed == [context.limit_event], f"listed {listed}"
    assert listed[0].file_path == path, "the path changed on its way through the database"
    touching = context.service.sessions_touching(path)
    assert [session.id for session in touching] == [context.session.id], touching
    (touch,) = context.service.files_touched(context.session.id)
    assert touch.file_path == path and touch.counts == {FileEventType.EDIT: 1}, touch


# --- a large diff -----------------------------------------------------------------------------

_DIFF_LINES = "+    naïve = 'café' # 日本語 🚀\r\n-\told line\twith tabs  \n \n"


@when(
    "an edit with a diff of {length:d} characters mixing ASCII, multi-byte text and line ends "
    "is recorded on its first message"
)
def step_record_large_diff(context: Context, length: int) -> None:
    diff = (_DIFF_LINES * (length // len(_DIFF_LINES) + 1))[:length]
    context.large_diff_digest = hashlib.sha256(diff.encode("utf-8")).hexdigest()
    context.large_diff_length = length
    assert len(diff.encode("utf-8")) > 2_000_000
    (message, *_) = context.service.get_messages(context.session.id)
    context.service.record_file_event(
        context.session.id, message.id, "edit", file_path="src/big.py", diff=diff
    )


@then("its file event reads back with exactly that diff")
def step_large_diff_back(context: Context) -> None:
    (event,) = context.service.list_file_events(context.session.id)
    assert event.diff is not None
    assert len(event.diff) == context.large_diff_length, f"{len(event.diff)} characters"
    digest = hashlib.sha256(event.diff.encode("utf-8")).hexdigest()
    assert digest == context.large_diff_digest, "the diff changed on its way through the database"


# --- rows in the database ---------------------------------------------------------------------


def _row_counts(url: str) -> dict[str, int]:
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            return {
                name: connection.execute(select(func.count()).select_from(table(name))).scalar_one()
                for name in inspect(connection).get_table_names()
            }
    finally:
        engine.dispose()


def _query(url: str, sql: str, **parameters: Any) -> list[Any]:
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql), parameters))
    finally:
        engine.dispose()


@given('the table "{name}" holds {count:d} rows')
def step_table_holds(context: Context, name: str, count: int) -> None:
    counted = _row_counts(context.database_url)[name]
    assert counted == count, f"{name} holds {counted} rows, not {count}"


@then('the table "session_file_events" holds 1 row, an event of the session of "{actor:Text}"')
def step_one_event_left(context: Context, actor: str) -> None:
    rows = _query(context.database_url, "SELECT session_id FROM session_file_events")
    owners = [row.session_id for row in rows]
    assert owners == [session_of(context, actor).id], f"the rows left belong to {owners}"


# --- refused input ----------------------------------------------------------------------------

_VALID_EVENT: dict[str, Any] = {"event_type": "edit", "file_path": "src/app.py", "diff": "-a+b"}


def _command_event(**changes: Any) -> Callable[[Context], dict[str, Any]]:
    return lambda context: {"event_type": "command", "command": "make", **changes}


def _event(**changes: Any) -> Callable[[Context], dict[str, Any]]:
    return lambda context: {**_VALID_EVENT, **changes}


def _other_message(context: Context) -> dict[str, Any]:
    (message,) = context.service.get_messages(session_of(context, "other").id)
    return {**_VALID_EVENT, "message_id": message.id}


_REFUSED_EVENTS: dict[str, Callable[[Context], dict[str, Any]]] = {
    'event_type "command" and no command': _command_event(command=None),
    'event_type "command" and a blank command': _command_event(command=" \t\n"),
    'event_type "read" and no file_path': _event(event_type="read", file_path=None, diff=None),
    'event_type "edit" and a command': _event(command="make"),
    'event_type "move"': _event(event_type="move"),
    'event_type "READ"': _event(event_type="READ"),
    "an event_type that is a number": _event(event_type=1),
    "the message of another session": _other_message,
    "a message_id that names no message": _event(message_id=unknown_session_id()),
    "a malformed message_id": _event(message_id="01HZX3NDEK-SV4RRFFQ69G5FAV"),
    "a file_path of 769 characters": _event(file_path="p" * 769),
    "a file_path of 513 four-byte characters": _event(file_path="😀" * 513),
    "a blank file_path": _event(file_path="  \t "),
    "a file_path holding a NUL character": _event(file_path="src/a\x00b.py"),
    "a file_path holding a lone surrogate": _event(file_path="src/\ud800.py"),
    "a diff one byte over 7 MiB": _event(diff="x" * (MAX_DIFF_BYTES + 1)),
    "a diff that is not a string": _event(diff=b"-a+b"),
    "a diff holding a NUL character": _event(diff="-a\x00+b"),
    "a command holding a lone surrogate": _command_event(command="echo \udcff"),
    "a command one byte over 256 KiB": _command_event(command="x" * (MAX_COMMAND_BYTES + 1)),
}


@when("I try to record a file event with {case}")
def step_try_record(context: Context, case: str) -> None:
    arguments = _REFUSED_EVENTS[case](context)
    session_id = context.session.id
    (message, *_) = context.service.get_messages(session_id)
    message_id = arguments.pop("message_id", message.id)
    event_type = arguments.pop("event_type")
    attempt(
        context,
        lambda: context.service.record_file_event(session_id, message_id, event_type, **arguments),
    )


@when("I try to list its file events with {argument:w} set to {value}")
def step_try_list_events(context: Context, argument: str, value: str) -> None:
    arguments = {argument: sample_value(value)}
    session_id = context.session.id
    attempt(context, lambda: context.service.list_file_events(session_id, **arguments))


@when("I try to find the sessions touching a path with {argument:w} set to {value}")
def step_try_touching(context: Context, argument: str, value: str) -> None:
    arguments = {"file_path": "src/app.py", "limit": 10, argument: sample_value(value)}
    attempt(context, lambda: context.service.sessions_touching(**arguments))


# --- external ids -----------------------------------------------------------------------------


@given('a session of actor "{actor:Text}" with the external id "{external_id:Text}"')
def step_create_with_external_id(context: Context, actor: str, external_id: str) -> None:
    session = context.service.create(actor, external_id=external_id)
    assert session.external_id == external_id, f"created with {session.external_id!r}"
    remember(context, session)


@when('I try to get or create a session of "{actor:Text}" with the external id set to {value}')
def step_try_get_or_create(context: Context, actor: str, value: str) -> None:
    external_id = sample_value(value)
    attempt(context, lambda: context.service.get_or_create(actor, external_id))


@when('I try to look up a session of "{actor:Text}" with the external id set to {value}')
def step_try_lookup(context: Context, actor: str, value: str) -> None:
    external_id = sample_value(value)
    attempt(context, lambda: context.service.get_by_external_id(actor, external_id))


# --- export version 2 and import --------------------------------------------------------------

_FIXTURE_TYPES = (
    FileEventType.READ,
    FileEventType.EDIT,
    FileEventType.COMMAND,
    FileEventType.WRITE,
    FileEventType.RENAME,
    FileEventType.DELETE,
)


def _fixture_event(index: int) -> dict[str, Any]:
    """The ``index``-th event of a generated session: every type, paths, diffs and commands."""
    kind = _FIXTURE_TYPES[index % len(_FIXTURE_TYPES)]
    path = f"src/pkg_{index % 13}/módulo_{index % 7}.py"
    diff = (None, "", f"@@ -{index},1 +{index},2 @@\n-old {index}\n+new {index} ✓\n")[index % 3]
    if kind is FileEventType.COMMAND:
        where = None if index % 12 < 6 else "src"
        return {"event_type": kind, "file_path": where, "command": f"pytest -k 'case_{index}' 🚀"}
    if kind is FileEventType.READ:
        diff = None
    return {"event_type": kind, "file_path": path, "diff": diff}


def _build_session(
    context: Context, actor: str, external_id: str | None, messages: int, events: int
) -> None:
    service = context.service
    session = service.create(actor, title="generated", external_id=external_id)
    appended = [
        service.append_message(
            session.id, ("user", "assistant")[number % 2], f"message {number} — ünïcode"
        )
        for number in range(1, messages + 1)
    ]
    for index in range(events):
        message = appended[(index * 7) % messages]
        service.record_file_event(session.id, message.id, **_fixture_event(index))
    remember(context, service.get(session.id))


@given(
    'a session of actor "{actor:Text}" with the external id "{external_id:Text}", '
    "{messages:d} messages and {events:d} file events"
)
def step_session_with_external_id_and_events(
    context: Context, actor: str, external_id: str, messages: int, events: int
) -> None:
    _build_session(context, actor, external_id, messages, events)


@given('a session of actor "{actor:Text}" with {messages:d} messages and {events:d} file events')
def step_session_with_events(context: Context, actor: str, messages: int, events: int) -> None:
    _build_session(context, actor, None, messages, events)


@then("its {count:d} file events name their messages by message_sequence, in the order recorded")
def step_document_events(context: Context, count: int) -> None:
    document = context.document
    session_id = context.session.id
    events = context.service.list_file_events(session_id)
    sequence_of = {
        message.id: message.sequence for message in context.service.get_messages(session_id)
    }
    records = document["file_events"]
    assert len(records) == len(events) == count, f"{len(records)} records, {len(events)} events"
    assert document["session"]["external_id"] == context.session.external_id
    for index, (record, event) in enumerate(zip(records, events, strict=True)):
        expected = {
            "id": event.id,
            "message_sequence": sequence_of[event.message_id],
            "event_type": event.event_type.value,
            "file_path": event.file_path,
            "diff": event.diff,
            "command": event.command,
            "created_at": event.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        assert record == expected, f"file_events[{index}] is {record}, expected {expected}"
        linked = document["messages"][record["message_sequence"] - 1]
        assert linked["id"] == event.message_id, f"file_events[{index}] names another message"
    assert {record["event_type"] for record in records} == {kind.value for kind in FileEventType}


@when("the session is deleted and its export document, read back from JSON, imported")
def step_delete_and_import(context: Context) -> None:
    service = context.service
    session_id = context.session.id
    text_form = json.dumps(service.export_session(session_id), ensure_ascii=False)
    context.original = service.get(session_id)
    context.original_messages = service.get_messages(session_id)
    context.original_events = service.list_file_events(session_id)
    context.original_touched = service.files_touched(session_id)
    service.delete(session_id)
    context.imported = service.import_session(json.loads(text_form))


def _assert_same_events(
    copies: list[FileEvent],
    originals: list[FileEvent],
    copy_sequences: dict[str, int],
    original_sequences: dict[str, int],
    copy_session_id: str,
) -> None:
    assert len(copies) == len(originals), f"{len(copies)} events, not {len(originals)}"
    old_ids = {event.id for event in originals}
    for index, (copied, original) in enumerate(zip(copies, originals, strict=True)):
        assert copied.id not in old_ids, f"event {index} kept an old id"
        assert ULID_PATTERN.match(copied.id), f"{copied.id!r} is not a ULID"
        assert copied.session_id == copy_session_id, f"event {index} is in {copied.session_id}"
        assert copy_sequences[copied.message_id] == original_sequences[original.message_id], (
            f"event {index} moved from message {original_sequences[original.message_id]}"
        )
        same = dataclasses.replace(
            copied,
            id=original.id,
            session_id=original.session_id,
            message_id=original.message_id,
        )
        assert same == original, f"imported {copied!r}\noriginal {original!r}"
    assert len({event.id for event in copies}) == len(copies), "event ids repeat"


@then(
    "the imported file events have new ids and otherwise the same contents, "
    "on the messages of the same sequence"
)
def step_imported_events(context: Context) -> None:
    service = context.service
    imported_id = context.imported.id
    _assert_same_events(
        service.list_file_events(imported_id),
        context.original_events,
        {message.id: message.sequence for message in service.get_messages(imported_id)},
        {message.id: message.sequence for message in context.original_messages},
        imported_id,
    )
    assert service.files_touched(imported_id) == context.original_touched, "files touched differ"


@given('the stored export document "{name}" of schema_version {version:d}, with a valid checksum')
def step_stored_document(context: Context, name: str, version: int) -> None:
    document = json.loads((_DATA / name).read_text(encoding="utf-8"))
    assert document["schema_version"] == version, f"schema_version {document['schema_version']}"
    assert "file_events" not in document and "external_id" not in document["session"]
    assert document["checksum"] == independent_checksum(document), "the stored checksum is wrong"
    context.stored_document = document


@when("I import the stored export document")
def step_import_stored(context: Context) -> None:
    context.imported = context.service.import_session(copy.deepcopy(context.stored_document))


@then("the imported session holds what the document says, message for message")
def step_imported_as_stored(context: Context) -> None:
    document = context.stored_document
    wanted = document["session"]
    session = context.service.get(context.imported.id)
    assert session == context.imported, "import_session returned other data than it stored"
    assert session.id != wanted["id"] and ULID_PATTERN.match(session.id), session.id
    for name in ("actor_name", "title", "metadata", "prompt_tokens", "completion_tokens"):
        assert getattr(session, name) == wanted[name], f"{name}: {getattr(session, name)!r}"
    assert session.message_count == len(document["messages"]) == wanted["message_count"]
    for name in ("created_at", "updated_at"):
        assert getattr(session, name) == datetime.fromisoformat(wanted[name]), name
    messages = context.service.get_messages(session.id)
    assert len(messages) == len(document["messages"]), f"{len(messages)} messages"
    for message, record in zip(messages, document["messages"], strict=True):
        where = f"message {record['sequence']}"
        assert message.id != record["id"], f"{where} kept its old id"
        assert message.sequence == record["sequence"], f"{where}: sequence {message.sequence}"
        assert message.role.value == record["role"], f"{where}: role {message.role}"
        assert message.content == record["content"], f"{where}: content {message.content!r}"
        assert message.metadata == record["metadata"], f"{where}: metadata {message.metadata!r}"
        assert message.token_count == record["token_count"], f"{where}: {message.token_count}"
        assert message.created_at == datetime.fromisoformat(record["created_at"]), where


@then("it has no file events, touched no file and has no external id")
def step_imported_without_events(context: Context) -> None:
    session_id = context.imported.id
    assert context.service.list_file_events(session_id) == []
    assert context.service.files_touched(session_id) == []
    assert context.service.get(session_id).external_id is None


@then("its export is a schema_version {version:d} document with an empty list of file events")
def step_reexported(context: Context, version: int) -> None:
    document = context.service.export_session(context.imported.id)
    assert document["schema_version"] == version, document["schema_version"]
    assert document["file_events"] == [], document["file_events"]
    assert document["session"]["external_id"] is None
    assert document["checksum"] == independent_checksum(document)


@when("its export document is imported again while the session still holds the external id")
def step_import_again(context: Context) -> None:
    document = context.service.export_session(context.session.id)
    attempt(context, lambda: context.service.import_session(document))


# --- tampered documents -----------------------------------------------------------------------


def _swap_events(document: dict[str, Any]) -> None:
    events = document["file_events"]
    events[1], events[2] = events[2], events[1]


def _event_change(index: int, **changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda document: document["file_events"][index].update(changes)


def _version_1_with_events(document: dict[str, Any]) -> None:
    """Make a version 1 document of it, but for its file events."""
    document["schema_version"] = 1
    for added in ("rewinds", "compactions"):
        del document[added]
    for added in ("external_id", "parent_session_id", "forked_at_sequence", "owner_id"):
        del document["session"][added]
    for message in document["messages"]:
        del message["rewound_by"]


_TAMPERINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "pointing file_events[0] at message_sequence 4": _event_change(0, message_sequence=4),
    "pointing file_events[0] at message_sequence 0": _event_change(0, message_sequence=0),
    "giving file_events[0] a text as message_sequence": _event_change(0, message_sequence="1"),
    'giving file_events[1] the event_type "move"': _event_change(1, event_type="move"),
    "swapping file_events[1] and file_events[2]": _swap_events,
    "dating file_events[3] after session.updated_at": _event_change(
        3, created_at="2999-01-01T00:00:00.000000Z"
    ),
    "removing the command of file_events[2]": _event_change(2, command=None),
    "putting a NUL character in file_events[0].file_path": _event_change(
        0, file_path="src/a\x00.py"
    ),
    "removing the diff field of file_events[0]": lambda document: document["file_events"][0].pop(
        "diff"
    ),
    "changing the diff of file_events[1]": _event_change(1, diff="+tampered"),
    "setting schema_version 1 with its file events kept": _version_1_with_events,
    "giving the session a blank external_id": lambda document: document["session"].update(
        external_id="  "
    ),
    "turning file_events into an object": lambda document: document.update(
        file_events={str(i): event for i, event in enumerate(document["file_events"])}
    ),
    "turning file_events[0] into a list": lambda document: document["file_events"].__setitem__(
        0, list(document["file_events"][0].values())
    ),
    'adding the field "author" to file_events[0]': _event_change(0, author="mallory"),
}
_RESIGNED = ", re-signed"


@when("I import its export document after {tampering}")
def step_import_tampered(context: Context, tampering: str) -> None:
    document = copy.deepcopy(context.service.export_session(context.session.id))
    resign = tampering.endswith(_RESIGNED)
    _TAMPERINGS[tampering.removesuffix(_RESIGNED)](document)
    if resign:
        document["checksum"] = independent_checksum(document)
    attempt(context, lambda: context.service.import_session(document))
