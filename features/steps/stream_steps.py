"""Steps about the JSON Lines export: export_session_to and import_session_from."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import threading
from typing import IO, Any

from behave import given, then, when
from behave.runner import Context

from features.session_world import attempt, remember, unknown_session_id


@given(
    'a session of actor "{actor}" with external id "{external_id}", {messages:d} messages '
    "and {events:d} file events"
)
def step_streamed_session(
    context: Context, actor: str, external_id: str, messages: int, events: int
) -> None:
    service = context.service
    session = service.create(actor, external_id=external_id, metadata={"repo": "ünïcode"})
    stored = service.append_messages(
        session.id,
        [
            {
                "role": "user" if n % 2 else "assistant",
                "content": f"message {n} ☃",
                "token_count": n,
            }
            for n in range(1, messages + 1)
        ],
    )
    for n in range(events):
        if n % 4 == 3:
            service.record_file_event(session.id, stored[n].id, "command", command=f"pytest -k {n}")
        else:
            service.record_file_event(
                session.id, stored[n].id, "edit", file_path=f"src/m{n % 3}.py", diff=f"-a\n+b{n}\n"
            )
    remember(context, service.get(session.id))


def _export(context: Context, target: Any) -> None:
    context.service.export_session_to(context.session.id, target)


@when("I export the session as JSON Lines to {stream}")
@given("I exported the session as JSON Lines")
def step_export(context: Context, stream: str = "a binary file") -> None:
    if stream == "a text file":
        text = io.StringIO()
        _export(context, text)
        context.stream = text.getvalue().encode("utf-8")
    else:
        binary = io.BytesIO()
        _export(context, binary)
        context.stream = binary.getvalue()


def _source(context: Context, stream: str, data: bytes) -> IO[Any]:
    if stream == "a text file":
        return io.StringIO(data.decode("utf-8"))
    if stream == "a text file on disk":
        folder = context.scenario_stack.enter_context(tempfile.TemporaryDirectory())
        path = os.path.join(folder, "session.jsonl")
        with open(path, "wb") as written:
            written.write(data)
        text = open(path, encoding="utf-8")  # noqa: SIM115 - closed by the cleanup
        context.add_cleanup(text.close)
        return text
    if stream == "a pipe":
        read_end, write_end = os.pipe()

        def feed() -> None:
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(data)

        feeder = threading.Thread(target=feed)
        feeder.start()
        context.add_cleanup(feeder.join)
        pipe = os.fdopen(read_end, "rb")
        context.add_cleanup(pipe.close)
        return pipe
    return io.BytesIO(data)


@when("I import that stream from {stream} as a copy without the external id")
def step_import_copy(context: Context, stream: str) -> None:
    source = _source(context, stream, context.stream)
    context.imported = context.service.import_session_from(source, on_conflict="new_external_id")


def _session_fields(session: Any) -> dict[str, Any]:
    fields = {name: getattr(session, name) for name in session.__slots__}
    fields.pop("id")
    return fields


@then("the imported session equals the original apart from ids and the external id")
def step_imported_equal(context: Context) -> None:
    original = _session_fields(context.service.get(context.session.id))
    imported = _session_fields(context.service.get(context.imported.id))
    assert imported.pop("external_id") is None
    assert original.pop("external_id") == "ext-7"
    assert imported == original, (imported, original)


def _contents(context: Context, session_id: str) -> tuple[list[Any], list[Any]]:
    messages = [
        (m.sequence, m.role, m.content, m.metadata, m.token_count, m.created_at)
        for m in context.service.iter_messages(session_id)
    ]
    sequence_of = {m.id: m.sequence for m in context.service.get_messages(session_id)}
    events = [
        (sequence_of[e.message_id], e.event_type, e.file_path, e.diff, e.command, e.created_at)
        for e in context.service.list_file_events(session_id)
    ]
    return messages, events


@then("its messages and file events equal the original's apart from ids")
def step_contents_equal(context: Context) -> None:
    original = _contents(context, context.session.id)
    assert len(original[0]) == 30 and len(original[1]) == 12
    assert _contents(context, context.imported.id) == original


def _lines(context: Context) -> list[bytes]:
    return context.stream.splitlines(keepends=True)


@then("the stream has {count:d} lines")
def step_line_count(context: Context, count: int) -> None:
    assert len(_lines(context)) == count, len(_lines(context))
    assert context.stream.endswith(b"\n")


@given("the session also holds {messages:d} more messages and {events:d} more file events")
def step_more_records(context: Context, messages: int, events: int) -> None:
    service, session_id = context.service, context.session.id
    stored = service.append_messages(
        session_id, [{"role": "user", "content": f"more {n}"} for n in range(messages)]
    )
    for n in range(events):
        service.record_file_event(
            session_id, stored[n % len(stored)].id, "read", file_path=f"lib/{n % 17}.py"
        )


@then(
    "its messages and file events, {messages:d} and {events:d}, equal the original's apart from ids"
)
def step_many_equal(context: Context, messages: int, events: int) -> None:
    original = _contents(context, context.session.id)
    assert (len(original[0]), len(original[1])) == (messages, events)
    assert _contents(context, context.imported.id) == original


class _DeletingWriter(io.BytesIO):
    """A stream that deletes the session when the export writes its first line."""

    def __init__(self, context: Context) -> None:
        super().__init__()
        self._context = context

    def write(self, data: Any) -> int:
        if self.tell() == 0:
            self._context.service.delete(self._context.session.id)
        return super().write(data)


@when("I export the session as JSON Lines while it is deleted")
def step_export_deleted(context: Context) -> None:
    target = _DeletingWriter(context)
    attempt(context, lambda: _export(context, target))


class _MeddlingWriter(io.BytesIO):
    """A stream that, when the export writes its first line, changes the session."""

    def __init__(self, context: Context) -> None:
        super().__init__()
        self._context = context
        self._meddled = False

    def write(self, data: Any) -> int:
        if not self._meddled:
            self._meddled = True
            service, session_id = self._context.service, self._context.session.id
            message = service.append_message(session_id, "assistant", "appended meanwhile")
            service.record_file_event(session_id, message.id, "read", file_path="late.py")
        return super().write(data)


@when("I export the session as JSON Lines while a message is appended and an event recorded")
def step_export_meddled(context: Context) -> None:
    target = _MeddlingWriter(context)
    _export(context, target)
    context.stream = target.getvalue()


@then("the stream holds {messages:d} messages and {events:d} file events")
def step_stream_holds(context: Context, messages: int, events: int) -> None:
    trailer = json.loads(_lines(context)[-1])
    assert (trailer["messages"], trailer["file_events"]) == (messages, events), trailer
    imported = context.service.import_session_from(
        io.BytesIO(context.stream), on_conflict="new_external_id"
    )
    assert imported.message_count == messages
    assert len(context.service.list_file_events(imported.id)) == events
    context.service.delete(imported.id)


@then("the session now holds {messages:d} messages and {events:d} file events")
def step_session_now(context: Context, messages: int, events: int) -> None:
    assert context.service.get(context.session.id).message_count == messages
    assert len(context.service.list_file_events(context.session.id)) == events


def _edit_line(lines: list[bytes], index: int, change: Any) -> None:
    record = json.loads(lines[index])
    change(record)
    lines[index] = json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"


def _rehash(lines: list[bytes]) -> None:
    """Recompute the trailer's checksum over the (changed) lines before it, as an attacker can."""
    digest = hashlib.sha256(b"".join(lines[:-1])).hexdigest()
    _edit_line(lines, len(lines) - 1, lambda r: r.update(checksum=f"sha256:{digest}"))


def _damaged(context: Context, damage: str) -> bytes:
    lines = _lines(context)
    if damage == "one changed character in a message":
        lines[4] = lines[4].replace(b"message 4", b"message X")
    elif damage == "its trailer cut off":
        lines = lines[:-1]
    elif damage == "its last message line removed":
        del lines[30]
    elif damage == "a line that is not JSON":
        lines[4] = b'{"message": \n'
    elif damage == "a line after the trailer":
        lines.append(lines[1])
    elif damage == "a blank line and a line after the trailer":
        lines.extend([b"\n", lines[1]])
    elif damage == "a message with the wrong sequence":
        _edit_line(lines, 2, lambda r: r["message"].update(sequence=7))
    elif damage == "a file event naming message 99":
        _edit_line(lines, 31, lambda r: r["file_event"].update(message_sequence=99))
    elif damage == "a line that is neither message nor event":
        lines[5] = b'{"note": "hello"}\n'
    elif damage == "a header of another format":
        _edit_line(lines, 0, lambda r: r.update(format="agent-sessions/export"))
    elif damage == "nothing at all":
        lines = []
    elif damage == "trailer counts that disagree":
        _edit_line(lines, len(lines) - 1, lambda r: r.update(messages=29))
    elif damage == "its header saying schema_version 4":
        _edit_line(lines, 0, lambda r: r.update(schema_version=4))
    elif damage == "a header whose schema_version is a string":
        _edit_line(lines, 0, lambda r: r.update(schema_version="2"))
    elif damage == "a line that is a JSON array":
        lines[2] = b"[1, 2]\n"
    elif damage == "a message after a file event":
        lines.insert(32, lines.pop(30))
    elif damage == "a trailer checksum that is not SHA-256 hex":
        _edit_line(lines, len(lines) - 1, lambda r: r.update(checksum="md5:abc"))
    elif damage == "a header message_count of 29, rehashed":
        _edit_line(lines, 0, lambda r: r["session"].update(message_count=29))
        _rehash(lines)
    elif damage == "a line longer than 32 MiB":
        lines[3] = b'{"message": "' + b"x" * (32 * 1024 * 1024) + b'"}\n'
    elif damage == "a header without its session":
        _edit_line(lines, 0, lambda r: r.pop("session"))
    elif damage == "a trailer with an unknown field":
        _edit_line(lines, len(lines) - 1, lambda r: r.update(signed=True))
    else:
        raise AssertionError(f"unknown damage {damage!r}")
    return b"".join(lines)


@when("I import the stream with {damage} as a copy")
def step_import_damaged(context: Context, damage: str) -> None:
    data = _damaged(context, damage)
    attempt(
        context,
        lambda: context.service.import_session_from(
            io.BytesIO(data), on_conflict="new_external_id"
        ),
    )


@when("I import the stream as it is")
def step_import_as_is(context: Context) -> None:
    attempt(context, lambda: context.service.import_session_from(io.BytesIO(context.stream)))


@when("I try the JSON Lines call {call}")
def step_try_stream_call(context: Context, call: str) -> None:
    if call == "out a session that does not exist":
        target = unknown_session_id()
        attempt(context, lambda: context.service.export_session_to(target, io.BytesIO()))
    elif call.startswith("out the session id "):
        bad = json.loads(call.removeprefix("out the session id "))
        attempt(context, lambda: context.service.export_session_to(bad, io.BytesIO()))
    else:
        policy = json.loads(call.removeprefix("in with on_conflict "))
        with tempfile.TemporaryFile() as empty:
            attempt(context, lambda: context.service.import_session_from(empty, on_conflict=policy))
