"""Forks, rewinds and compactions on the SQL backends: what the adapter's SQL must get right.

The fork copies rows inside the database (``INSERT ... SELECT``), numbering them and computing
their ids in SQL; these tests hold that SQL to the domain's rules (``numbered_id``, gapless
renumbering, events and compactions following their messages) on every backend, and the
history writes to the rules they call under the session's row lock.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Integer, delete, event, literal, select

from agent_sessions import PersistentSessionService
from agent_sessions.application.ids import new_ulid
from agent_sessions.domain import (
    DatabaseError,
    InvalidInputError,
    SequenceConflictError,
    SessionNotFoundError,
)
from agent_sessions.domain.entities import NewMessage, Session
from agent_sessions.domain.history import ID_NUMBER_DIGITS, POP_REWIND_REASON, ForkIds, numbered_id
from agent_sessions.domain.ports import UnitOfWork
from agent_sessions.infrastructure.database import SqlAlchemySessionStore
from agent_sessions.infrastructure.database.statements import MESSAGES, numbered_id_sql


def _conversation(service: PersistentSessionService, count: int, *, tokens: bool = False) -> str:
    """Return a new session holding ``count`` messages, user and assistant in turn."""
    session_id = service.create("history-tests").id
    service.append_messages(
        session_id,
        [
            NewMessage(
                role="user" if number % 2 else "assistant",
                content=f"message {number}",
                metadata={"number": number},
                token_count=number if tokens else None,
            )
            for number in range(1, count + 1)
        ],
    )
    return session_id


def _new_fork(ids: ForkIds) -> Session:
    """Return the session row a fork with ``ids`` starts from, as the service builds it."""
    now = datetime.now(UTC)
    return Session(
        id=ids.session_id,
        actor_name="history-tests",
        title=None,
        metadata={},
        prompt_tokens=0,
        completion_tokens=0,
        message_count=0,
        created_at=now,
        updated_at=now,
    )


def _fork(
    store: SqlAlchemySessionStore, source_id: str, at_sequence: int | None = None
) -> tuple[Session, ForkIds]:
    """Fork through the repository with known ids; return the fork and its ids."""
    ids = ForkIds.fresh(new_ulid)
    start = _new_fork(ids)

    def fork(uow: UnitOfWork) -> Session | None:
        return uow.sessions.fork(source_id, ids=ids, fork=start, at_sequence=at_sequence)

    forked = store.transaction(fork, writes=True)
    assert forked is not None
    return forked, ids


@pytest.mark.parametrize("number", [1, 31, 32, 1025, 2000, 12_345_678, 32**ID_NUMBER_DIGITS - 1])
def test_ids_computed_in_sql_are_numbered_ids(store: SqlAlchemySessionStore, number: int) -> None:
    """Every digit of a copied row's id comes out of SQL as numbered_id writes it."""
    prefix = new_ulid()[:20]
    with store.engine.connect() as connection:
        computed = connection.execute(
            select(numbered_id_sql(prefix, literal(number, Integer())))
        ).scalar_one()
    assert computed == numbered_id(prefix, number)


def test_a_fork_copies_the_visible_messages_renumbered_with_numbered_ids(
    service: PersistentSessionService, store: SqlAlchemySessionStore
) -> None:
    """Rewound messages are left out; the copies number 1..k and keep everything else."""
    source = _conversation(service, 10, tokens=True)
    service.rewind(source, 4)
    service.append_messages(source, [NewMessage("user", "after the rewind")])
    visible = service.get_messages(source)

    fork, ids = _fork(store, source)

    copies = service.get_messages(fork.id, include_rewound=True)
    assert [m.sequence for m in copies] == list(range(1, len(visible) + 1))
    assert [m.id for m in copies] == [numbered_id(ids.message_prefix, m.sequence) for m in copies]
    assert [(m.role, m.content, m.metadata, m.token_count, m.created_at) for m in copies] == [
        (m.role, m.content, m.metadata, m.token_count, m.created_at) for m in visible
    ]
    assert all(m.rewound_by is None and m.session_id == fork.id for m in copies)
    stored = service.get(fork.id)
    assert stored == fork
    assert (stored.parent_session_id, stored.forked_at_sequence) == (source, 11)
    assert (stored.message_count, stored.prompt_tokens, stored.completion_tokens) == (5, 0, 0)


def test_a_fork_at_a_point_copies_up_to_it_and_a_fork_at_zero_copies_nothing(
    service: PersistentSessionService, store: SqlAlchemySessionStore
) -> None:
    """``at_sequence`` bounds the copy; 0 forks from before the first message."""
    source = _conversation(service, 6)

    fork, _ = _fork(store, source, at_sequence=3)
    empty, _ = _fork(store, source, at_sequence=0)

    assert [m.content for m in service.get_messages(fork.id)] == [
        "message 1",
        "message 2",
        "message 3",
    ]
    assert (fork.forked_at_sequence, fork.message_count) == (3, 3)
    assert service.get_messages(empty.id) == []
    assert (empty.forked_at_sequence, empty.message_count) == (0, 0)


def test_a_fork_copies_the_file_events_of_the_copied_messages(
    service: PersistentSessionService, store: SqlAlchemySessionStore
) -> None:
    """Events get numbered ids in the order recorded and point at the copies of their messages."""
    source = _conversation(service, 6)
    messages = service.get_messages(source)
    service.record_file_event(source, messages[4].id, "edit", file_path="late.py")
    service.record_file_event(source, messages[1].id, "write", file_path="b.py", diff="+b")
    service.record_file_event(source, messages[5].id, "edit", file_path="hidden.py")
    service.record_file_event(source, messages[0].id, "command", command="make test")
    service.rewind(source, 5)  # hides message 6 and its event
    recorded = [e for e in service.list_file_events(source) if e.file_path != "hidden.py"]

    fork, ids = _fork(store, source)

    copies = service.list_file_events(fork.id)
    assert [e.id for e in copies] == [
        numbered_id(ids.event_prefix, number) for number in range(1, len(recorded) + 1)
    ]
    sequence_of = {m.id: m.sequence for m in messages}
    assert [e.message_id for e in copies] == [
        numbered_id(ids.message_prefix, sequence_of[e.message_id]) for e in recorded
    ]
    assert [(e.event_type, e.file_path, e.diff, e.command, e.created_at) for e in copies] == [
        (e.event_type, e.file_path, e.diff, e.command, e.created_at) for e in recorded
    ]
    assert [t.file_path for t in service.files_touched(fork.id)] == ["b.py", "late.py"]


def test_a_fork_copies_the_compactions_in_force_with_their_ends_renumbered(
    service: PersistentSessionService, store: SqlAlchemySessionStore
) -> None:
    """A rewound compaction and one past the point stay behind; the others cover the copies."""
    source = _conversation(service, 6)
    covers_two = service.compact(source, 2, "one and two")
    service.compact(source, 5, "rewound with 4..6")
    service.rewind(source, 3)
    service.append_messages(source, [NewMessage("user", f"again {n}") for n in (7, 8, 9, 10)])
    covers_eight = service.compact(source, 8, "1..3, 7 and 8")
    service.compact(source, 10, "past the fork point")

    fork, ids = _fork(store, source, at_sequence=8)

    copies = service.list_compactions(fork.id)
    assert [(c.id, c.through_sequence, c.summary) for c in copies] == [
        (numbered_id(ids.compaction_prefix, 1), 2, "one and two"),
        (numbered_id(ids.compaction_prefix, 2), 5, "1..3, 7 and 8"),
    ]
    assert [c.created_at for c in copies] == [covers_two.created_at, covers_eight.created_at]
    assert all(c.rewound_by is None for c in copies)
    assert [m.content for m in service.context_messages(fork.id)] == ["1..3, 7 and 8"]


def test_a_fork_at_a_rewound_point_is_refused_naming_at_sequence(
    service: PersistentSessionService,
) -> None:
    """Nothing is forked from a message a rewind hid."""
    source = _conversation(service, 5)
    service.rewind(source, 2)

    with pytest.raises(InvalidInputError) as refused:
        service.fork_session(source, at_sequence=4)

    assert refused.value.argument == "at_sequence"
    assert service.list(forked_from=source) == []


def test_lineage_and_forks_of_a_family(service: PersistentSessionService) -> None:
    """Parents nearest first, stopping at a deleted one; forks listed by their parent."""
    root = _conversation(service, 3)
    child = service.fork_session(root, at_sequence=2)
    grandchild = service.fork_session(child.id)
    sibling = service.fork_session(root)

    assert [s.id for s in service.lineage(grandchild.id)] == [child.id, root]
    assert {s.id for s in service.list(forked_from=root)} == {child.id, sibling.id}
    service.delete(root)
    assert [s.id for s in service.lineage(grandchild.id)] == [child.id]


def test_a_fork_of_two_thousand_messages_is_one_insert_select(
    service: PersistentSessionService, store: SqlAlchemySessionStore
) -> None:
    """The messages are copied by the database in one statement, not row by row."""
    source = service.create("history-tests").id
    for first in range(0, 2000, 500):
        service.append_messages(
            source, [NewMessage("user", f"m{n}") for n in range(first + 1, first + 501)]
        )
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        fork, ids = _fork(store, source)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)

    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO SESSION_MESS")]
    assert len(inserts) == 1
    assert "SELECT" in inserts[0].upper()
    assert len(statements) < 10
    assert fork.message_count == 2000
    last = service.recent_messages(fork.id, 1)[0]
    assert (last.sequence, last.id, last.content) == (
        2000,
        numbered_id(ids.message_prefix, 2000),
        "m2000",
    )


def test_a_rewind_hides_what_follows_and_appends_continue_after_the_transcript(
    service: PersistentSessionService,
) -> None:
    """Nothing is deleted; the next message takes the number after the highest ever used."""
    session_id = _conversation(service, 5)

    rewind = service.rewind(session_id, 2, reason="wrong turn")
    appended = service.append_message(session_id, "user", "take two")

    assert rewind is not None
    assert (rewind.to_sequence, rewind.through_sequence, rewind.reason) == (2, 5, "wrong turn")
    assert [m.sequence for m in service.get_messages(session_id)] == [1, 2, 6]
    transcript = service.get_messages(session_id, include_rewound=True)
    assert [m.rewound_by for m in transcript] == [None, None, rewind.id, rewind.id, rewind.id, None]
    assert appended.sequence == 6
    assert [m.sequence for m in service.recent_messages(session_id, 2)] == [2, 6]
    assert service.list_rewinds(session_id) == [rewind]


def test_a_rewind_to_the_current_end_writes_nothing(service: PersistentSessionService) -> None:
    """No visible message after the point: no rewind row, and the session is untouched."""
    session_id = _conversation(service, 4)
    service.rewind(session_id, 2)
    before = service.get(session_id)

    assert service.rewind(session_id, 2) is None
    assert service.get(session_id) == before
    assert len(service.list_rewinds(session_id)) == 1


@pytest.mark.parametrize("point", [3, 9])
def test_a_rewind_to_a_hidden_or_missing_message_is_refused(
    service: PersistentSessionService, point: int
) -> None:
    """The point must be a visible message (or 0); the error names to_sequence."""
    session_id = _conversation(service, 5)
    service.rewind(session_id, 2)

    with pytest.raises(InvalidInputError) as refused:
        service.rewind(session_id, point)

    assert refused.value.argument == "to_sequence"


def test_undo_brings_back_messages_and_compactions_until_something_is_appended(
    service: PersistentSessionService,
) -> None:
    """Undo clears the latest rewind's marks; after an append it is a sequence conflict."""
    session_id = _conversation(service, 6)
    compaction = service.compact(session_id, 4, "up to four")
    rewind = service.rewind(session_id, 2)
    assert rewind is not None
    assert service.list_compactions(session_id)[0].rewound_by == rewind.id
    assert [m.content for m in service.context_messages(session_id)] == [
        "message 1",
        "message 2",
    ]

    undone = service.undo_rewind(session_id)

    assert undone.id == rewind.id and undone.undone_at is not None
    assert service.list_rewinds(session_id) == [undone]
    assert [m.sequence for m in service.get_messages(session_id)] == [1, 2, 3, 4, 5, 6]
    assert service.list_compactions(session_id) == [compaction]
    with pytest.raises(InvalidInputError) as nothing_left:
        service.undo_rewind(session_id)
    assert nothing_left.value.argument == "session_id"
    service.rewind(session_id, 5)
    service.append_message(session_id, "user", "moved on")
    with pytest.raises(SequenceConflictError):
        service.undo_rewind(session_id)


def test_a_compaction_ends_before_the_call_whose_results_follow_it(
    service: PersistentSessionService,
) -> None:
    """The boundary moves back off a tool call; a compaction short of the one in force fails."""
    session_id = service.create("history-tests").id
    service.append_messages(
        session_id,
        [
            NewMessage("user", "list the files"),
            NewMessage("assistant", "calling ls"),
            NewMessage("tool", "a.py"),
            NewMessage("tool", "b.py"),
            NewMessage("assistant", "two files"),
        ],
    )

    compaction = service.compact(session_id, 3, "asked for the files")

    assert compaction.through_sequence == 1
    assert [m.sequence for m in service.context_messages(session_id)] == [1, 2, 3, 4, 5]
    service.compact(session_id, 5, "everything")
    with pytest.raises(InvalidInputError) as short:
        service.compact(session_id, 2, "less than before")
    assert short.value.argument == "through_sequence"


def test_a_compaction_at_a_rewound_point_is_refused(service: PersistentSessionService) -> None:
    """Only a visible message (or 0) can end a compaction; the error names through_sequence."""
    session_id = _conversation(service, 5)
    service.rewind(session_id, 2)

    with pytest.raises(InvalidInputError) as refused:
        service.compact(session_id, 4, "over hidden messages")

    assert refused.value.argument == "through_sequence"


def test_pop_hides_what_it_cannot_delete_and_deletes_the_transcripts_last(
    service: PersistentSessionService,
) -> None:
    """After a rewind the newest visible message is hidden by a rewind of its own."""
    session_id = _conversation(service, 5)
    service.rewind(session_id, 3)

    hidden = service.pop_message(session_id)

    assert hidden is not None and hidden.sequence == 3 and hidden.rewound
    pop_rewind = service.list_rewinds(session_id)[-1]
    assert (pop_rewind.id, pop_rewind.reason) == (hidden.rewound_by, POP_REWIND_REASON)
    assert (pop_rewind.to_sequence, pop_rewind.through_sequence) == (2, 5)
    assert service.get(session_id).message_count == 5
    service.append_message(session_id, "user", "new end")
    deleted = service.pop_message(session_id)
    assert deleted is not None and deleted.sequence == 6 and not deleted.rewound
    assert service.get(session_id).message_count == 5
    assert service.verify(session_id).ok


def test_files_touched_leaves_out_rewound_messages(service: PersistentSessionService) -> None:
    """Events stay listed; only the visible messages' files count as touched."""
    session_id = _conversation(service, 4)
    messages = service.get_messages(session_id)
    service.record_file_event(session_id, messages[0].id, "edit", file_path="kept.py")
    service.record_file_event(session_id, messages[3].id, "edit", file_path="rewound.py")

    service.rewind(session_id, 2)

    assert [t.file_path for t in service.files_touched(session_id)] == ["kept.py"]
    assert len(service.list_file_events(session_id)) == 2


def test_history_writes_see_what_was_committed_before_their_lock(
    backend: str, service: PersistentSessionService, store: SqlAlchemySessionStore
) -> None:
    """A fork and a rewind after an earlier read in their transaction see a later append.

    MariaDB's REPEATABLE READ answers plain reads from the snapshot of the transaction's first
    read; the writes read under the lock by locking reads, which see the latest commit.
    """
    if backend == "sqlite":
        pytest.skip("SQLite writers hold the database's write lock: no append commits meanwhile")
    session_id = _conversation(service, 3)
    ids = ForkIds.fresh(new_ulid)
    start = _new_fork(ids)

    def fork_then_rewind(uow: UnitOfWork) -> tuple[Session | None, Any]:
        uow.messages.get_for_session(session_id)  # the transaction's snapshot
        late = threading.Thread(target=service.append_message, args=(session_id, "user", "late"))
        late.start()
        late.join()
        fork = uow.sessions.fork(session_id, ids=ids, fork=start, at_sequence=None)
        rewind = uow.history.rewind(
            session_id,
            rewind_id=new_ulid(),
            to_sequence=3,
            reason=None,
            created_at=start.created_at,
        )
        return fork, rewind

    fork, rewind = store.transaction(fork_then_rewind, writes=True)

    assert fork is not None and fork.message_count == 4
    assert service.get_messages(fork.id)[-1].content == "late"
    assert (rewind.to_sequence, rewind.through_sequence) == (3, 4)


def test_history_writes_on_a_missing_session_raise_not_found(
    service: PersistentSessionService,
) -> None:
    """Fork, rewind, undo and compaction of a session that is not stored write nothing."""
    missing = new_ulid()

    for write in (
        lambda: service.fork_session(missing),
        lambda: service.rewind(missing, 0),
        lambda: service.undo_rewind(missing),
        lambda: service.compact(missing, 1, "nothing"),
    ):
        with pytest.raises(SessionNotFoundError):
            write()


def test_pop_on_a_damaged_store_raises_and_hides_nothing(
    service: PersistentSessionService, store: SqlAlchemySessionStore
) -> None:
    """A message_count naming no message is reported, not papered over by a hiding rewind."""
    session_id = _conversation(service, 3)
    service.rewind(session_id, 1)
    last = service.get_messages(session_id, include_rewound=True)[-1]
    with store.engine.begin() as connection:
        connection.execute(delete(MESSAGES).where(MESSAGES.c.id == last.id))

    with pytest.raises(DatabaseError, match="3"):
        service.pop_message(session_id)

    assert len(service.list_rewinds(session_id)) == 1
    assert [m.sequence for m in service.get_messages(session_id)] == [1]


def test_rows_inserted_as_given_read_back_as_given(
    service: PersistentSessionService, store: SqlAlchemySessionStore
) -> None:
    """An import's rewinds, compactions and rewound messages keep their ids and marks."""
    source = _conversation(service, 4)
    service.compact(source, 2, "covered")
    service.rewind(source, 1)
    session = service.get(source)
    messages = service.get_messages(source, include_rewound=True)
    rewinds = service.list_rewinds(source)
    compactions = service.list_compactions(source)
    copy_id = new_ulid()
    rewind_id = new_ulid()  # the import gives rows fresh ids and remaps the marks

    def marked(mark: str | None) -> str | None:
        return None if mark is None else rewind_id

    def copy(uow: UnitOfWork) -> None:
        uow.sessions.create(dataclasses.replace(session, id=copy_id))
        uow.history.insert_many(
            [dataclasses.replace(rewinds[0], id=rewind_id, session_id=copy_id)],
            [
                dataclasses.replace(
                    c, id=new_ulid(), session_id=copy_id, rewound_by=marked(c.rewound_by)
                )
                for c in compactions
            ],
        )
        uow.messages.insert_many(
            [
                dataclasses.replace(
                    m, id=new_ulid(), session_id=copy_id, rewound_by=marked(m.rewound_by)
                )
                for m in messages
            ]
        )

    store.transaction(copy, writes=True)

    assert [m.sequence for m in service.get_messages(copy_id)] == [1]
    assert service.list_compactions(copy_id)[0].rewound_by == rewind_id

    def look_up(uow: UnitOfWork) -> tuple[Any, Any, Any]:
        compaction_id = uow.history.compactions(copy_id)[0].id
        return (
            uow.history.get_rewind(rewind_id),
            uow.history.get_compaction(compaction_id),
            uow.messages.at_sequence(copy_id, 4),
        )

    rewind, compaction, fourth = store.transaction(look_up, writes=False)
    assert rewind == dataclasses.replace(rewinds[0], id=rewind_id, session_id=copy_id)
    assert compaction.summary == "covered"
    assert (fourth.content, fourth.rewound_by) == ("message 4", rewind_id)
