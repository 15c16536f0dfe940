"""Checks of export and import: the document, the JSON Lines stream, and what import refuses."""

from __future__ import annotations

import copy
import hashlib
import io
import json
from typing import Any

from agent_sessions.domain.entities import FileEvent, Session, SessionMessage
from agent_sessions.domain.errors import (
    ImportIntegrityError,
    InvalidInputError,
    UnsupportedSchemaVersionError,
)
from agent_sessions.domain.export_format import compute_checksum
from agent_sessions.domain.service import SessionService
from agent_sessions.testing.check import conformance_check
from agent_sessions.testing.checks.sessions import ACTOR
from agent_sessions.testing.expectations import (
    calling,
    expect,
    expect_equal,
    expect_raises,
    expect_unchanged,
    store_state,
)

DOCUMENT_FIELDS = {
    "format",
    "schema_version",
    "exported_at",
    "session",
    "rewinds",
    "compactions",
    "messages",
    "file_events",
    "checksum",
}


def _sample(service: SessionService) -> Session:
    """Create a session with an external id, metadata, messages, file events and token usage."""
    session = service.create(
        ACTOR, title="Fix the greeting", metadata={"repo": "acme/app"}, external_id="ses_export"
    )
    service.append_message(session.id, "user", "Make greet() say hello.", token_count=7)
    reply = service.append_message(
        session.id, "assistant", "Done; the tests pass.", metadata={"model": "m-1"}, token_count=6
    )
    service.record_file_event(session.id, reply.id, "edit", file_path="src/app.py", diff="-a\n+b\n")
    service.record_file_event(session.id, reply.id, "command", command="pytest -q")
    return service.update_token_usage(session.id, prompt_tokens=7, completion_tokens=6)


def _resigned(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "checksum": compute_checksum(document)}


def _older(document: dict[str, Any], version: int) -> dict[str, Any]:
    """Return a version 3 document of a session without history as ``version`` 2 wrote it."""
    old = {k: v for k, v in document.items() if k not in ("rewinds", "compactions")}
    added = ("parent_session_id", "forked_at_sequence", "owner_id")
    old["session"] = {k: v for k, v in document["session"].items() if k not in added}
    old["messages"] = [
        {k: v for k, v in message.items() if k != "rewound_by"} for message in document["messages"]
    ]
    return _resigned({**old, "schema_version": version})


def _history_sample(service: SessionService) -> Session:
    """Fork the sample at its first message, then compact, rewind and undo a rewind of the fork.

    The fork ends with 4 messages (the last 2 hidden), 2 rewinds (the first one undone) and 2
    compactions (the second one hidden).
    """
    parent = _sample(service)
    fork = service.fork_session(parent.id, at_sequence=1, actor_name=f"{ACTOR}-fork")
    for role, text in (("user", "Say it louder."), ("assistant", "HELLO."), ("user", "Why?")):
        service.append_message(fork.id, role, text)
    service.rewind(fork.id, 2, reason="to be undone")
    service.undo_rewind(fork.id)
    service.compact(fork.id, 1, "The user wants greet() to say hello.")
    service.compact(fork.id, 3, "greet() says HELLO.", metadata={"model": "m-1"}, token_count=4)
    service.rewind(fork.id, 2, reason="wrong turn")
    return service.get(fork.id)


def _history_content(service: SessionService, session_id: str) -> tuple[object, ...]:
    """Return what import keeps of a session's history; rewinds named by their place."""
    rewinds = service.list_rewinds(session_id)
    place = {rewind.id: index for index, rewind in enumerate(rewinds)}
    transcript = service.get_messages(session_id, include_rewound=True)
    return (
        [(r.to_sequence, r.through_sequence, r.reason, r.created_at, r.undone_at) for r in rewinds],
        [
            (c.through_sequence, c.summary, c.metadata, c.token_count, c.created_at, hider)
            for c in service.list_compactions(session_id)
            for hider in [place.get(c.rewound_by or "")]
        ],
        [(*_message_content(m), place.get(m.rewound_by or "")) for m in transcript],
    )


def _message_content(message: SessionMessage) -> tuple[object, ...]:
    """Return what import keeps of a message: everything but its ids."""
    return (message.sequence, message.role, message.content, message.metadata,
            message.token_count, message.created_at, message.rewound)  # fmt: skip


def _event_content(event: FileEvent, sequences: dict[str, int]) -> tuple[object, ...]:
    """Return what import keeps of an event: its fields, and its message by sequence."""
    return (sequences[event.message_id], event.event_type, event.file_path, event.diff,
            event.command, event.created_at)  # fmt: skip


def _expect_copy(service: SessionService, original: Session, copied: Session, what: str) -> None:
    """Expect ``copied`` to hold ``original``'s content under fresh ids (external id aside)."""
    expect(copied.id != original.id, f"{what} kept the session id {original.id}")
    expect_equal(service.get(copied.id), copied, f"get() of the session {what} returned")
    kept = ("actor_name", "title", "metadata", "prompt_tokens", "completion_tokens",
            "message_count", "created_at", "updated_at")  # fmt: skip
    expect_equal(
        {name: getattr(copied, name) for name in kept},
        {name: getattr(original, name) for name in kept},
        f"the session {what} wrote",
    )
    old = service.get_messages(original.id)
    new = service.get_messages(copied.id)
    expect_equal(
        [_message_content(m) for m in new], [_message_content(m) for m in old], f"{what} messages"
    )
    expect(not {m.id for m in old} & {m.id for m in new}, f"{what} kept message ids instead of new")
    expect(all(m.session_id == copied.id for m in new), f"{what} messages name another session")
    old_events = service.list_file_events(original.id)
    new_events = service.list_file_events(copied.id)
    expect_equal(
        [_event_content(e, {m.id: m.sequence for m in new}) for e in new_events],
        [_event_content(e, {m.id: m.sequence for m in old}) for e in old_events],
        f"{what} file events",
    )
    expect(
        not {e.id for e in old_events} & {e.id for e in new_events},
        f"{what} kept file event ids instead of new ones",
    )


@conformance_check
def export_document_shape(service: SessionService) -> None:
    """export_session() returns a JSON-serialisable document of schema_version 3 with the session, its rewinds and compactions, its messages in order, its file events by message sequence, and a SHA-256 checksum of its canonical JSON."""  # noqa: E501
    session = _sample(service)
    document = service.export_session(session.id)
    expect_equal(set(document), DOCUMENT_FIELDS, "export document fields")
    expect_equal(
        (document["format"], document["schema_version"]),
        ("agent-sessions/export", 3),
        "export (format, schema_version)",
    )
    expect_equal(json.loads(json.dumps(document)), document, "the document through JSON")
    record = document["session"]
    expect_equal(
        {name: record.get(name) for name in ("id", "actor_name", "external_id", "title")},
        {
            "id": session.id,
            "actor_name": ACTOR,
            "external_id": "ses_export",
            "title": "Fix the greeting",
        },
        "export session record",
    )
    expect_equal(
        [record.get(name) for name in ("prompt_tokens", "completion_tokens", "message_count")],
        [7, 6, 2],
        "export session (prompt_tokens, completion_tokens, message_count)",
    )
    expect_equal(
        [(m.get("sequence"), m.get("role"), m.get("content")) for m in document["messages"]],
        [(1, "user", "Make greet() say hello."), (2, "assistant", "Done; the tests pass.")],
        "export messages (sequence, role, content)",
    )
    expect_equal(
        [(e.get("message_sequence"), e.get("event_type")) for e in document["file_events"]],
        [(2, "edit"), (2, "command")],
        "export file events (message_sequence, event_type)",
    )
    expect_equal(document["checksum"], compute_checksum(document), "export checksum")


@conformance_check
def import_round_trip(service: SessionService) -> None:
    """import_session() of an export writes a copy with fresh ids that keeps contents, roles, sequences, metadata, token counts, timestamps, file events and the external id."""  # noqa: E501
    original = _sample(service)
    document = service.export_session(original.id)
    copied = service.import_session(document, on_conflict="new_external_id")
    _expect_copy(service, original, copied, "import_session()")
    service.delete(original.id)
    again = service.import_session(document)
    expect_equal(again.external_id, "ses_export", "external_id imported once it is free")
    _expect_copy(service, copied, again, "a second import_session()")


@conformance_check
def import_external_id_conflict(service: SessionService) -> None:
    """import_session() of a document whose external id the actor already uses raises ImportIntegrityError by default and writes nothing; on_conflict='new_external_id' imports a copy without it."""  # noqa: E501
    original = _sample(service)
    document = service.export_session(original.id)
    before = store_state(service)
    expect_raises(
        ImportIntegrityError,
        lambda: service.import_session(document),
        "import_session() of a document whose external id is taken",
    )
    expect_raises(
        InvalidInputError,
        lambda: service.import_session(document, on_conflict="replace"),
        "import_session(on_conflict='replace')",
        argument="on_conflict",
    )
    expect_unchanged(service, before, "refused import_session() calls")
    copied = service.import_session(document, on_conflict="new_external_id")
    expect_equal(copied.external_id, None, "external_id of the copy")
    expect_equal(service.get(original.id), original, "the original session after the copy")


@conformance_check
def import_refuses_tampered_document(service: SessionService) -> None:
    """import_session() of a document edited after export (checksum kept), with a wrong checksum, a missing field or that is not a dict raises ImportIntegrityError and writes nothing."""  # noqa: E501
    session = _sample(service)
    document = service.export_session(session.id)
    edited = copy.deepcopy(document)
    edited["messages"][0]["content"] = "Make greet() say goodbye."
    wrong = {**document, "checksum": "sha256:" + "0" * 64}
    missing = _resigned({k: v for k, v in document.items() if k != "exported_at"})
    unknown_field = _resigned({**document, "note": "added"})
    broken = copy.deepcopy(document)
    broken["messages"][1]["sequence"] = 3
    before = store_state(service)
    for what, bad in (
        ("a document whose content was edited", edited),
        ("a wrong checksum", wrong),
        ("a missing field (re-signed)", missing),
        ("an unknown field (re-signed)", unknown_field),
        ("a sequence gap (re-signed)", _resigned(broken)),
        ("a list", [document]),
    ):
        expect_raises(
            ImportIntegrityError,
            calling(service.import_session, bad, on_conflict="new_external_id"),
            f"import_session() of {what}",
        )
    expect_unchanged(service, before, "refused import_session() calls")


@conformance_check
def import_refuses_unknown_schema_version(service: SessionService) -> None:
    """import_session() of a document of an unknown schema_version raises UnsupportedSchemaVersionError (a ValueError) and writes nothing."""  # noqa: E501
    session = _sample(service)
    document = service.export_session(session.id)
    before = store_state(service)
    for version in (4, 99, 0):
        error = expect_raises(
            UnsupportedSchemaVersionError,
            calling(
                service.import_session,
                _resigned({**document, "schema_version": version}),
                on_conflict="new_external_id",
            ),
            f"import_session() of schema_version {version}",
        )
        expect_equal(error.found, version, "UnsupportedSchemaVersionError.found")
    expect_unchanged(service, before, "import_session() of unknown versions")


@conformance_check
def import_reads_version_1(service: SessionService) -> None:
    """import_session() reads a schema_version 1 document (no file events, no external id) as a session without either."""  # noqa: E501
    session = _sample(service)
    document = _older(service.export_session(session.id), 2)
    old = {k: v for k, v in document.items() if k != "file_events"}
    old["session"] = {k: v for k, v in document["session"].items() if k != "external_id"}
    copied = service.import_session(_resigned({**old, "schema_version": 1}))
    expect_equal(copied.external_id, None, "external_id of a version 1 import")
    expect_equal(service.list_file_events(copied.id), [], "file events of a version 1 import")
    expect_equal(
        [_message_content(m) for m in service.get_messages(copied.id)],
        [_message_content(m) for m in service.get_messages(session.id)],
        "messages of a version 1 import",
    )


@conformance_check
def import_reads_version_2(service: SessionService) -> None:
    """import_session() reads a schema_version 2 document (no parent, rewinds, compactions or rewound_by) as a session without history."""  # noqa: E501
    session = _sample(service)
    copied = service.import_session(
        _older(service.export_session(session.id), 2), on_conflict="new_external_id"
    )
    _expect_copy(service, session, copied, "import_session() of a version 2 document")
    expect_equal(
        (copied.parent_session_id, copied.forked_at_sequence),
        (None, None),
        "the fork point of a version 2 import",
    )
    expect_equal(
        (service.list_rewinds(copied.id), service.list_compactions(copied.id)),
        ([], []),
        "the rewinds and compactions of a version 2 import",
    )


@conformance_check
def export_round_trip_with_history(service: SessionService) -> None:
    """export_session() and export_session_to() of a rewound and compacted fork carry its whole transcript, rewinds and compactions, and its parent's id as a reference; both import back as a copy with fresh ids, linked as in the original."""  # noqa: E501
    fork = _history_sample(service)
    document = service.export_session(fork.id)
    expect_equal(
        (document["session"]["parent_session_id"], document["session"]["forked_at_sequence"]),
        (fork.parent_session_id, 1),
        "export session (parent_session_id, forked_at_sequence)",
    )
    expect_equal(
        (len(document["rewinds"]), len(document["compactions"]), len(document["messages"])),
        (2, 2, 4),
        "export (rewinds, compactions, messages) of a fork with history",
    )
    binary = io.BytesIO()
    service.export_session_to(fork.id, binary)
    original = _history_content(service, fork.id)
    for what, copied in (
        ("import_session()", service.import_session(json.loads(json.dumps(document)))),
        ("import_session_from()", service.import_session_from(io.BytesIO(binary.getvalue()))),
    ):
        expect_equal(_history_content(service, copied.id), original, f"history after {what}")
        expect_equal(
            (copied.parent_session_id, copied.forked_at_sequence),
            (fork.parent_session_id, 1),
            f"(parent_session_id, forked_at_sequence) after {what}",
        )
        expect(
            not {r.id for r in service.list_rewinds(copied.id)}
            & {r.id for r in service.list_rewinds(fork.id)},
            f"{what} kept rewind ids instead of new ones",
        )
        expect_equal(
            [(m.role, m.content) for m in service.context_messages(copied.id)],
            [(m.role, m.content) for m in service.context_messages(fork.id)],
            f"context_messages() of the copy {what} wrote",
        )


@conformance_check
def import_refuses_inconsistent_history(service: SessionService) -> None:
    """import_session() of a document whose history does not hold together (a visible message inside a rewind that holds, a rewound_by naming no rewind of the document, a compaction past the transcript), even re-signed, raises ImportIntegrityError and writes nothing."""  # noqa: E501
    document = service.export_session(_history_sample(service).id)
    visible = copy.deepcopy(document)
    visible["messages"][3]["rewound_by"] = None
    stray = copy.deepcopy(document)
    stray["messages"][0]["rewound_by"] = stray["rewinds"][0]["id"]  # the undone rewind
    past = copy.deepcopy(document)
    past["compactions"][0]["through_sequence"] = 5
    before = store_state(service)
    for what, bad in (
        ("a visible message inside a rewind that holds", visible),
        ("a message hidden by an undone rewind", stray),
        ("a compaction past the transcript", past),
    ):
        expect_raises(
            ImportIntegrityError,
            calling(service.import_session, _resigned(bad)),
            f"import_session() of a document with {what} (re-signed)",
        )
    expect_unchanged(service, before, "refused import_session() calls")


@conformance_check
def stream_round_trip(service: SessionService) -> None:
    """export_session_to() writes JSON Lines (header, a line per message and event, a trailer whose SHA-256 covers every byte before it) to binary and text files; import_session_from() reads either back as a copy with fresh ids."""  # noqa: E501
    session = _sample(service)
    binary = io.BytesIO()
    exported = service.export_session_to(session.id, binary)
    expect_equal(exported, service.get(session.id), "export_session_to() result")
    data = binary.getvalue()
    lines = data.splitlines(keepends=True)
    expect_equal(len(lines), 1 + 2 + 2 + 1, "lines of a stream of 2 messages and 2 events")
    header, trailer = json.loads(lines[0]), json.loads(lines[-1])
    expect_equal(
        (header.get("format"), header.get("schema_version")),
        ("agent-sessions/export-jsonl", 3),
        "stream header (format, schema_version)",
    )
    expected = "sha256:" + hashlib.sha256(b"".join(lines[:-1])).hexdigest()
    expect_equal(
        trailer,
        {"checksum": expected, "messages": 2, "file_events": 2, "rewinds": 0, "compactions": 0},
        "trailer",
    )
    text = io.StringIO()
    service.export_session_to(session.id, text)
    expect_equal(
        text.getvalue().encode("utf-8").splitlines(keepends=True)[1:-1],
        lines[1:-1],
        "message and file event lines written to a text file",
    )
    from_bytes = service.import_session_from(io.BytesIO(data), on_conflict="new_external_id")
    _expect_copy(service, session, from_bytes, "import_session_from(a binary file)")
    from_text = service.import_session_from(
        io.StringIO(text.getvalue()), on_conflict="new_external_id"
    )
    _expect_copy(service, session, from_text, "import_session_from(a text file)")


@conformance_check
def stream_refuses_damage(service: SessionService) -> None:
    """import_session_from() of a stream cut short, edited, or whose external id is taken raises ImportIntegrityError and writes nothing."""  # noqa: E501
    session = _sample(service)
    stream = io.BytesIO()
    service.export_session_to(session.id, stream)
    data = stream.getvalue()
    before = store_state(service)
    for what, bad, policy in (
        ("a stream without its trailer", data[: data.rindex(b"{")], "new_external_id"),
        ("an edited stream", data.replace(b"tests pass", b"tests fail"), "new_external_id"),
        ("an empty stream", b"", "new_external_id"),
        ("a stream whose external id is taken", data, "error"),
    ):
        expect_raises(
            ImportIntegrityError,
            calling(service.import_session_from, io.BytesIO(bad), on_conflict=policy),
            f"import_session_from() of {what}",
        )
    expect_unchanged(service, before, "refused import_session_from() calls")
