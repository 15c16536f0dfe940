"""On a retry every write first looks for what an earlier try committed (``uow.attempt > 1``).

The store makes the first try of the write fail with a transient error: either after it
committed (the acknowledgement was lost), so the retry must find the rows and write nothing
more, or before it committed, so the retry must write everything once. Either way the caller
gets what is stored, and the store holds it once.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from agent_sessions import (
    DatabaseError,
    NewMessage,
    PersistentSessionService,
    SessionNotFoundError,
)
from agent_sessions.infrastructure.memory import InMemorySessionStore

ACTOR = "retry-bot"


def _rows(store: InMemorySessionStore) -> tuple[int, ...]:
    tables = store.tables
    return (
        len(tables.sessions),
        len(tables.messages),
        len(tables.file_events),
        len(tables.token_usage),
        len(tables.rewinds),
        len(tables.compactions),
    )


def _with_messages(service: PersistentSessionService, count: int) -> str:
    session = service.create(ACTOR, external_id="ses_1")
    for number in range(count):
        service.append_message(session.id, "user", f"message {number + 1}")
    return session.id


def _with_history(service: PersistentSessionService) -> str:
    """A session of 4 messages, 2 events, a compaction and a rewind that hides another one."""
    session_id = _with_messages(service, 4)
    first, second = service.get_messages(session_id)[:2]
    for message in (first, second):
        service.record_file_event(session_id, message.id, "read", file_path="a.py")
    for through in (1, 3):
        service.compact(session_id, through, f"up to {through}")
    service.rewind(session_id, 2)
    return session_id


def _exported(service: PersistentSessionService) -> dict[str, Any]:
    session_id = _with_messages(service, 2)
    message = service.get_messages(session_id)[0]
    service.record_file_event(session_id, message.id, "read", file_path="README.md")
    document = service.export_session(session_id)
    service.delete(session_id)
    return document


@dataclass(frozen=True)
class Write:
    """A write of the service: how to prepare for it, make it, and what it leaves stored."""

    name: str
    prepare: Callable[[PersistentSessionService], Any]
    call: Callable[[PersistentSessionService, Any], Any]
    rows: tuple[int, ...]
    """(sessions, messages, file events, token-usage receipts, rewinds, compactions) stored."""
    stored: Callable[[PersistentSessionService, Any, Any], object]
    """What the store holds of the write, to compare with what the call returned."""


def _nothing(service: PersistentSessionService) -> None:
    return None


def _stream(document_service: PersistentSessionService) -> bytes:
    session_id = _with_messages(document_service, 2)
    buffer = io.BytesIO()
    document_service.export_session_to(session_id, buffer)
    document_service.delete(session_id)
    return buffer.getvalue()


def _appends(label: str, **options: Any) -> list[Write]:
    """The two appends to a session of one message, given ``options`` (an expected_sequence)."""
    return [
        Write(
            f"append_message{label}",
            lambda service: _with_messages(service, 1),
            lambda service, session_id: service.append_message(
                session_id, "assistant", "hi", **options
            ),
            (1, 2, 0, 0, 0, 0),
            lambda service, session_id, _: service.get_messages(session_id)[-1],
        ),
        Write(
            f"append_messages{label}",
            lambda service: _with_messages(service, 1),
            lambda service, session_id: service.append_messages(
                session_id, [NewMessage("user", "a"), NewMessage("assistant", "b")], **options
            ),
            (1, 3, 0, 0, 0, 0),
            lambda service, session_id, _: service.get_messages(session_id)[1:],
        ),
    ]


WRITES = [
    Write(
        "create",
        _nothing,
        lambda service, _: service.create(ACTOR, title="t"),
        (1, 0, 0, 0, 0, 0),
        lambda service, _, made: service.get(made.id),
    ),
    Write(
        "create with an external id",
        _nothing,
        lambda service, _: service.create(ACTOR, external_id="ses_x"),
        (1, 0, 0, 0, 0, 0),
        lambda service, _, made: service.get_by_external_id(ACTOR, "ses_x"),
    ),
    Write(
        "get_or_create",
        _nothing,
        lambda service, _: service.get_or_create(ACTOR, "ses_y"),
        (1, 0, 0, 0, 0, 0),
        lambda service, _, made: service.get_by_external_id(ACTOR, "ses_y"),
    ),
    *_appends(""),
    *_appends(" with expected_sequence", expected_sequence=1),
    Write(
        "pop_message",
        lambda service: _with_messages(service, 3),
        lambda service, session_id: service.pop_message(session_id),
        (1, 2, 0, 0, 0, 0),
        lambda service, session_id, popped: (
            popped.sequence == 3 and service.get(session_id).message_count == 2 and popped
        ),
    ),
    Write(
        "import_session",
        _exported,
        lambda service, document: service.import_session(document),
        (1, 2, 1, 0, 0, 0),
        lambda service, _, made: service.get(made.id),
    ),
    Write(
        "import_session_from",
        _stream,
        lambda service, stream: service.import_session_from(io.BytesIO(stream)),
        (1, 2, 0, 0, 0, 0),
        lambda service, _, made: service.get(made.id),
    ),
    Write(
        "record_file_event",
        lambda service: (sid := _with_messages(service, 1), service.get_messages(sid)[0].id),
        lambda service, ids: service.record_file_event(*ids, "edit", file_path="a.py"),
        (1, 1, 1, 0, 0, 0),
        lambda service, ids, _: service.list_file_events(ids[0])[0],
    ),
    Write(
        "update_token_usage",
        lambda service: _with_messages(service, 0),
        lambda service, session_id: service.update_token_usage(
            session_id, prompt_tokens=3, completion_tokens=4
        ),
        (1, 0, 0, 1, 0, 0),
        lambda service, session_id, _: service.get(session_id),
    ),
    Write(
        "update_token_usage with a key",
        lambda service: _with_messages(service, 0),
        lambda service, session_id: service.update_token_usage(
            session_id, prompt_tokens=3, completion_tokens=4, idempotency_key="call-1"
        ),
        (1, 0, 0, 1, 0, 0),
        lambda service, session_id, _: service.get(session_id),
    ),
    Write(
        "pop_message that hides",
        lambda service: (sid := _with_messages(service, 3), service.rewind(sid, 2))[0],
        lambda service, session_id: service.pop_message(session_id),
        (1, 3, 0, 0, 2, 0),
        lambda service, session_id, _: service.get_messages(session_id, include_rewound=True)[1],
    ),
    Write(
        "fork_session",
        _with_history,
        lambda service, session_id: service.fork_session(session_id, external_id="fork"),
        (2, 6, 4, 0, 1, 3),
        lambda service, _, made: service.get(made.id),
    ),
    Write(
        "rewind",
        lambda service: _with_messages(service, 3),
        lambda service, session_id: service.rewind(session_id, 1, reason="r"),
        (1, 3, 0, 0, 1, 0),
        lambda service, session_id, _: service.list_rewinds(session_id)[0],
    ),
    Write(
        "undo_rewind",
        lambda service: (sid := _with_messages(service, 3), service.rewind(sid, 1))[0],
        lambda service, session_id: service.undo_rewind(session_id),
        (1, 3, 0, 0, 1, 0),
        lambda service, session_id, _: service.list_rewinds(session_id)[0],
    ),
    Write(
        "compact",
        lambda service: _with_messages(service, 3),
        lambda service, session_id: service.compact(session_id, 2, "summary"),
        (1, 3, 0, 0, 0, 1),
        lambda service, session_id, _: service.list_compactions(session_id)[0],
    ),
    Write(
        "delete",
        lambda service: _with_messages(service, 2),
        lambda service, session_id: service.delete(session_id),
        (0, 0, 0, 0, 0, 0),
        lambda service, session_id, _: None,
    ),
]


@pytest.mark.parametrize("committed", [True, False], ids=["commit lost", "before commit"])
@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.name)
def test_a_retried_write_is_stored_once(
    write: Write, committed: bool, service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    prepared = write.prepare(service)
    store.fail_next(committed=committed)
    returned = write.call(service, prepared)
    assert store.pending_faults == 0, "the failure struck the write, which was retried"
    assert _rows(store) == write.rows
    assert write.stored(service, prepared, returned) == returned
    if write.name.startswith("update_token_usage"):
        assert (returned.prompt_tokens, returned.completion_tokens) == (3, 4)
    assert service.verify().ok


def test_a_retried_pop_removes_one_message_and_its_events(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    session_id = _with_messages(service, 2)
    newest = service.get_messages(session_id)[-1]
    service.record_file_event(session_id, newest.id, "write", file_path="b.py")
    store.fail_next()
    assert service.pop_message(session_id) == newest
    assert [m.sequence for m in service.get_messages(session_id)] == [1]
    assert service.list_file_events(session_id) == []


def test_a_write_whose_tries_all_fail_raises_and_leaves_nothing() -> None:
    store = InMemorySessionStore(attempts=3)
    service = PersistentSessionService(store)
    store.fail_next(3, committed=False)
    with pytest.raises(DatabaseError, match="still failing after 3 attempt"):
        service.create(ACTOR)
    assert _rows(store) == (0, 0, 0, 0, 0, 0)


def test_a_delete_retried_after_its_commit_reports_no_missing_session(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    session_id = _with_messages(service, 1)
    store.fail_next(2)
    service.delete(session_id)
    with pytest.raises(SessionNotFoundError):
        service.delete(session_id)


def test_reads_pass_untouched_unless_asked(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    session = service.create(ACTOR)
    store.fail_next()
    assert service.get(session.id) == session
    assert store.pending_faults == 1, "a read took a failure meant for a write"
    service.append_message(session.id, "user", "hi")
    assert store.pending_faults == 0
    store.fail_next(reads=True)
    assert service.get(session.id).message_count == 1
    assert store.pending_faults == 0, "the read was not struck"
