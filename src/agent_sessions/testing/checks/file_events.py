"""Checks of file events: recording them, their rules, listing, files touched, sessions touching."""

from __future__ import annotations

from collections.abc import Callable

from agent_sessions.domain.entities import FileEvent, FileEventType
from agent_sessions.domain.errors import InvalidInputError
from agent_sessions.domain.service import SessionService
from agent_sessions.testing.check import conformance_check
from agent_sessions.testing.checks.sessions import ACTOR, ULID
from agent_sessions.testing.expectations import (
    calling,
    expect,
    expect_equal,
    expect_raises,
    expect_unchanged,
    expect_utc,
    store_state,
    unknown_id,
)

DIFF = '@@ -1 +1 @@\n-def greet(): return "hi"\n+def greet(): return "hello"\n'


@conformance_check
def record_file_event_fields(service: SessionService) -> None:
    """record_file_event() returns the event with the given fields; each event is later than the one before, and the session's updated_at moves to it."""  # noqa: E501
    session = service.create(ACTOR)
    reply = service.append_message(session.id, "assistant", "Done.")
    edit = service.record_file_event(session.id, reply.id, "edit", file_path="app.py", diff=DIFF)
    expect(ULID.fullmatch(edit.id) is not None, f"record_file_event().id {edit.id!r} not a ULID")
    expect_equal(
        (edit.session_id, edit.message_id, edit.event_type, edit.file_path, edit.diff),
        (session.id, reply.id, FileEventType.EDIT, "app.py", DIFF),
        "edit event (session_id, message_id, event_type, file_path, diff)",
    )
    expect_equal(edit.command, None, "edit event command")
    expect_utc(edit.created_at, "record_file_event().created_at")
    expect_equal(service.get(session.id).updated_at, edit.created_at, "updated_at after an event")
    command = service.record_file_event(
        session.id, reply.id, FileEventType.COMMAND, command="pytest -q"
    )
    expect_equal(
        (command.event_type, command.file_path, command.command, command.diff),
        (FileEventType.COMMAND, None, "pytest -q", None),
        "command event (event_type, file_path, command, diff)",
    )
    expect(
        command.created_at > edit.created_at,
        f"events' created_at must strictly increase: {edit.created_at} then {command.created_at}",
    )
    expect_equal(service.list_file_events(session.id), [edit, command], "list_file_events()")


@conformance_check
def file_event_rules(service: SessionService) -> None:
    """record_file_event() refuses a missing file_path or command, a command on a file event, an unknown type, and a message of another session, naming the argument, and writes nothing."""  # noqa: E501
    session = service.create(ACTOR)
    reply = service.append_message(session.id, "assistant", "Done.")
    other = service.create(ACTOR)
    foreign = service.append_message(other.id, "assistant", "Elsewhere.")

    def record(message_id: str, event_type: object, **fields: str) -> Callable[[], object]:
        return lambda: service.record_file_event(
            session.id,
            message_id,
            event_type,  # type: ignore[arg-type]
            **fields,
        )

    cases: list[tuple[str, str, Callable[[], object]]] = [
        ("file_path", "an edit without file_path", record(reply.id, "edit")),
        ("file_path", "a read of a blank path", record(reply.id, "read", file_path="  ")),
        ("command", "a command event without command", record(reply.id, "command")),
        (
            "command",
            "an edit with a command",
            record(reply.id, "edit", file_path="a.py", command="ls"),
        ),
        ("event_type", "the type 'move'", record(reply.id, "move", file_path="a.py")),
        (
            "message_id",
            "a message of another session",
            record(foreign.id, "read", file_path="a.py"),
        ),
        ("message_id", "an unknown message", record(unknown_id(), "read", file_path="a.py")),
        ("message_id", "a malformed message id", record("nope", "read", file_path="a.py")),
    ]
    before = store_state(service)
    for argument, what, call in cases:
        expect_raises(InvalidInputError, call, f"record_file_event() of {what}", argument=argument)
    expect_unchanged(service, before, "refused record_file_event() calls")


def _record_sample(service: SessionService) -> tuple[str, list[FileEvent]]:
    session = service.create(ACTOR)
    reply = service.append_message(session.id, "assistant", "Done.")
    events = [
        service.record_file_event(session.id, reply.id, "read", file_path="src/a.py"),
        service.record_file_event(session.id, reply.id, "edit", file_path="src/a.py", diff=DIFF),
        service.record_file_event(session.id, reply.id, "edit", file_path="src/b.py"),
        service.record_file_event(session.id, reply.id, "command", command="pytest -q"),
        service.record_file_event(
            session.id, reply.id, "command", command="ruff check", file_path="src"
        ),
        service.record_file_event(session.id, reply.id, "write", file_path="README.md"),
    ]
    return session.id, events


@conformance_check
def list_file_events_filters(service: SessionService) -> None:
    """list_file_events() returns the events in the order recorded, filtered by exact type and path, paged by limit and offset."""  # noqa: E501
    session_id, events = _record_sample(service)
    for arguments, expected in (
        ({}, events),
        ({"event_type": "edit"}, events[1:3]),
        ({"event_type": FileEventType.COMMAND}, events[3:5]),
        ({"file_path": "src/a.py"}, events[0:2]),
        ({"file_path": "src/a.py", "event_type": "edit"}, events[1:2]),
        ({"file_path": "./src/a.py"}, []),
        ({"limit": 2, "offset": 1}, events[1:3]),
        ({"offset": 6}, []),
    ):
        got = calling(service.list_file_events, session_id, **arguments)()
        expect_equal(got, expected, f"list_file_events(**{arguments!r})")
    empty = service.create(ACTOR)
    expect_equal(service.list_file_events(empty.id), [], "list_file_events() of no events")
    for argument, bad in (
        ("limit", {"limit": 0}),
        ("offset", {"offset": -1}),
        ("event_type", {"event_type": "move"}),
    ):
        expect_raises(
            InvalidInputError,
            calling(service.list_file_events, session_id, **bad),
            f"list_file_events(**{bad!r})",
            argument=argument,
        )


@conformance_check
def files_touched_counts(service: SessionService) -> None:
    """files_touched() gives one entry per path in code-point order, with counts by type, the total and the last event's time; a command without a path is not counted."""  # noqa: E501
    session_id, events = _record_sample(service)
    touched = service.files_touched(session_id)
    expect_equal(
        [(t.file_path, dict(t.counts), t.total) for t in touched],
        [
            ("README.md", {FileEventType.WRITE: 1}, 1),
            ("src", {FileEventType.COMMAND: 1}, 1),
            ("src/a.py", {FileEventType.READ: 1, FileEventType.EDIT: 1}, 2),
            ("src/b.py", {FileEventType.EDIT: 1}, 1),
        ],
        "files_touched() (file_path, counts, total)",
    )
    expect_equal(
        [t.last_event_at for t in touched],
        [events[5].created_at, events[4].created_at, events[1].created_at, events[2].created_at],
        "files_touched() last_event_at",
    )
    empty = service.create(ACTOR)
    expect_equal(service.files_touched(empty.id), [], "files_touched() of no events")


@conformance_check
def sessions_touching_finds_sessions(service: SessionService) -> None:
    """sessions_touching(path) returns the sessions of any actor with an event on exactly that path, newest first, at most limit."""  # noqa: E501
    touching = []
    for actor, path in (
        (ACTOR, "src/app.py"),
        ("other-bot", "src/app.py"),
        (ACTOR, "./src/app.py"),
    ):
        session = service.create(actor)
        reply = service.append_message(session.id, "assistant", "Done.")
        service.record_file_event(session.id, reply.id, "edit", file_path=path)
        if path == "src/app.py":
            touching.append(service.get(session.id))
    newest_first = sorted(touching, key=lambda s: (s.created_at, s.id), reverse=True)
    expect_equal(service.sessions_touching("src/app.py"), newest_first, "sessions_touching()")
    expect_equal(
        service.sessions_touching("src/app.py", limit=1),
        newest_first[:1],
        "sessions_touching(limit=1)",
    )
    expect_equal(service.sessions_touching("missing.py"), [], "sessions_touching() of no events")
    for bad in (0, 1001):
        expect_raises(
            InvalidInputError,
            calling(service.sessions_touching, "src/app.py", limit=bad),
            f"sessions_touching(limit={bad})",
            argument="limit",
        )
