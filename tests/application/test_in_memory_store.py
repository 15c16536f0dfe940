"""What the in-memory store promises beyond the kit: all-or-nothing transactions, the schema's
constraints, rows of its own for every caller, and the verifier's reports on a damaged store.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import re

import pytest

from agent_sessions import (
    DatabaseError,
    FileEventType,
    ImportIntegrityError,
    InvalidInputError,
    PersistentSessionService,
    Session,
)
from agent_sessions.application.ids import new_ulid
from agent_sessions.domain.history import ForkIds
from agent_sessions.domain.ports import UnitOfWork
from agent_sessions.infrastructure.memory import InMemorySessionStore

ACTOR = "memory-bot"


def _conversation(service: PersistentSessionService, count: int = 3) -> Session:
    session = service.create(ACTOR, external_id="ses_1")
    for number in range(count):
        service.append_message(session.id, "user", f"message {number + 1}", token_count=1)
    return service.update_token_usage(session.id, prompt_tokens=count)


def _stored(service: PersistentSessionService, session_id: str) -> dict[str, object]:
    """Return the session's export document without what changes between exports."""
    document = service.export_session(session_id)
    return {k: v for k, v in document.items() if k not in ("exported_at", "checksum")}


def _history(store: InMemorySessionStore) -> tuple[object, ...]:
    """Return the rows of the history tables, which an export does not show whole."""
    tables = store.tables
    return (dict(tables.sessions), dict(tables.messages), tables.rewinds, tables.compactions)


def _problems(service: PersistentSessionService) -> list[tuple[str, str, str]]:
    return [(p.kind, p.session_id, p.detail) for p in service.verify().problems]


# --- transactions ------------------------------------------------------------------------------


def test_an_exception_rolls_back_everything_the_transaction_wrote(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    session = _conversation(service)
    service.compact(session.id, 1, "the first message")
    service.rewind(session.id, 2)
    before = _stored(service, session.id)
    history = copy.deepcopy(_history(store))
    now = service.get(session.id).updated_at

    def damage_then_fail(uow: UnitOfWork) -> None:
        uow.history.undo_rewind(session.id, undone_at=now)
        uow.history.compact(
            session.id,
            compaction_id="1" * 26,
            through_sequence=2,
            summary="two",
            metadata={},
            token_count=None,
            created_at=now,
        )
        deleted = uow.messages.pop_last(session.id, updated_at=now, rewind_id="2" * 26)
        hidden = uow.messages.pop_last(session.id, updated_at=now, rewind_id="3" * 26)
        assert (deleted, hidden) == (
            dataclasses.replace(deleted, sequence=3, rewound_by=None),
            dataclasses.replace(hidden, sequence=2, rewound_by="3" * 26),
        )
        uow.history.rewind(
            session.id, rewind_id="4" * 26, to_sequence=0, reason=None, created_at=now
        )
        uow.sessions.update(session.id, add_prompt_tokens=5, updated_at=now)
        uow.sessions.create(dataclasses.replace(session, id="0" * 26, external_id="ses_2"))
        ids = ForkIds.fresh(new_ulid)
        fork = dataclasses.replace(session, id=ids.session_id, external_id=None)
        uow.sessions.fork(session.id, ids=ids, fork=fork, at_sequence=None)
        uow.sessions.delete(session.id)
        raise RuntimeError("the work fails")

    with pytest.raises(RuntimeError, match="the work fails"):
        store.transaction(damage_then_fail, writes=True)
    assert _stored(service, session.id) == before
    assert _history(store) == history
    assert service.get_by_external_id(ACTOR, "ses_1") == service.get(session.id)
    assert service.get_by_external_id(ACTOR, "ses_2") is None
    assert service.verify().ok


def test_a_failed_import_leaves_nothing(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    session = _conversation(service)
    stream = io.BytesIO()
    service.export_session_to(session.id, stream)
    service.delete(session.id)
    cut = stream.getvalue().splitlines(keepends=True)[:-1]  # the trailer is missing
    with pytest.raises(ImportIntegrityError):
        service.import_session_from(io.BytesIO(b"".join(cut)))
    assert (store.tables.sessions, store.tables.messages) == ({}, {})


def test_a_transaction_inside_another_is_refused(store: InMemorySessionStore) -> None:
    def nested(uow: UnitOfWork) -> None:
        store.transaction(lambda inner: None, writes=False)

    with pytest.raises(DatabaseError, match="inside another"):
        store.transaction(nested, writes=True)
    assert store.transaction(lambda uow: uow.attempt, writes=False) == 1


def test_a_closed_store_refuses_work(service: PersistentSessionService) -> None:
    service.create(ACTOR)
    service.close()
    with pytest.raises(DatabaseError, match="closed"):
        service.list()


@pytest.mark.parametrize("bad", [0, 1001, "2", True])
def test_bad_bounds_are_refused(bad: object, store: InMemorySessionStore) -> None:
    with pytest.raises(InvalidInputError) as refused:
        InMemorySessionStore(attempts=bad)  # type: ignore[arg-type]
    assert refused.value.argument == "attempts"
    with pytest.raises(InvalidInputError) as refused:
        store.fail_next(bad)  # type: ignore[arg-type]
    assert refused.value.argument == "times"
    assert store.pending_faults == 0


# --- constraints -------------------------------------------------------------------------------


def test_the_schema_constraints_hold(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    session = _conversation(service, 2)
    first, second = service.get_messages(session.id)
    event = service.record_file_event(session.id, first.id, "read", file_path="a.py")
    other = dataclasses.replace(session, id="0" * 26)
    refused = {
        "primary key sessions.id": lambda uow: uow.sessions.create(session),
        "unique key sessions(actor_name, external_id)": lambda uow: uow.sessions.create(other),
        "primary key session_messages.id": lambda uow: uow.messages.insert_many([first]),
        "foreign key session_messages.session_id": lambda uow: uow.messages.insert_many(
            [dataclasses.replace(first, id="1" * 26, session_id="0" * 26)]
        ),
        "unique key session_messages(session_id, sequence)": lambda uow: uow.messages.insert_many(
            [dataclasses.replace(second, id="1" * 26)]
        ),
        "primary key session_file_events.id": lambda uow: uow.file_events.insert_many([event]),
        "foreign key session_file_events.session_id": lambda uow: uow.file_events.insert_many(
            [dataclasses.replace(event, id="1" * 26, session_id="0" * 26)]
        ),
        "foreign key session_file_events.message_id": lambda uow: uow.file_events.insert_many(
            [dataclasses.replace(event, id="1" * 26, message_id="0" * 26)]
        ),
        "primary key session_token_usage(session_id, usage_key)": lambda uow: [
            uow.sessions.update(session.id, updated_at=session.updated_at, usage_key=key)
            for key in ("k", "k")
        ],
    }
    before = _stored(service, session.id)
    for constraint, work in refused.items():
        with pytest.raises(DatabaseError, match=re.escape(constraint)):
            store.transaction(work, writes=True)
    assert _stored(service, session.id) == before
    assert len(store.tables.token_usage) == 1


def test_the_history_constraints_hold(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    session = _conversation(service, 3)
    compaction = service.compact(session.id, 1, "the first message")
    rewind = service.rewind(session.id, 2)
    assert rewind is not None
    first = service.get_messages(session.id)[0]
    absent = "0" * 26
    refused = {
        "primary key session_rewinds.id": ([rewind], []),
        "foreign key session_rewinds.session_id": (
            [dataclasses.replace(rewind, id=absent, session_id=absent)],
            [],
        ),
        "check constraint ck_session_rewinds_sequences_ordered": (
            [dataclasses.replace(rewind, id=absent, to_sequence=3)],
            [],
        ),
        "primary key session_compactions.id": ([], [compaction]),
        "foreign key session_compactions.session_id": (
            [],
            [dataclasses.replace(compaction, id=absent, session_id=absent)],
        ),
        "check constraint ck_session_compactions_through_sequence_positive": (
            [],
            [dataclasses.replace(compaction, id=absent, through_sequence=0)],
        ),
        "foreign key session_compactions.rewound_by": (
            [],
            [dataclasses.replace(compaction, id=absent, rewound_by=absent)],
        ),
    }
    before = copy.deepcopy(_history(store))
    for constraint, (rewinds, compactions) in refused.items():
        with pytest.raises(DatabaseError, match=re.escape(constraint)):
            store.transaction(
                lambda uow, r=rewinds, c=compactions: uow.history.insert_many(r, c), writes=True
            )
    hidden = dataclasses.replace(first, id=absent, sequence=9, rewound_by="1" * 26)
    with pytest.raises(DatabaseError, match=re.escape("foreign key session_messages.rewound_by")):
        store.transaction(lambda uow: uow.messages.insert_many([hidden]), writes=True)
    for parent, point in ((None, 0), (session.id, None), (session.id, -1)):
        orphan = dataclasses.replace(
            session, id=absent, external_id=None, parent_session_id=parent, forked_at_sequence=point
        )
        with pytest.raises(DatabaseError, match="ck_sessions_fork_point_with_parent"):
            store.transaction(lambda uow, o=orphan: uow.sessions.create(o), writes=True)
    assert _history(store) == before


def test_callers_get_rows_of_their_own(service: PersistentSessionService) -> None:
    session = service.create(ACTOR, metadata={"tags": ["a"]})
    message = service.append_message(session.id, "user", "hi", metadata={"n": {"m": 1}})
    session.metadata["tags"].append("changed")
    message.metadata["n"]["m"] = 2
    assert service.get(session.id).metadata == {"tags": ["a"]}
    assert service.get_messages(session.id)[0].metadata == {"n": {"m": 1}}
    service.get(session.id).metadata["tags"].clear()
    assert service.list()[0].metadata == {"tags": ["a"]}


# --- a damaged store ---------------------------------------------------------------------------


def test_pop_on_a_damaged_store_raises_and_writes_nothing(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    session = _conversation(service)
    newest = service.get_messages(session.id)[-1]
    store.tables.delete_message(newest.id)
    with pytest.raises(DatabaseError, match="counts 3 messages but holds none at sequence 3"):
        service.pop_message(session.id)
    assert service.get(session.id).message_count == 3


def test_verify_reports_gaps_and_a_wrong_count(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    session = _conversation(service, 5)
    messages = service.get_messages(session.id)
    for gone in (messages[1], messages[3], messages[4]):
        store.tables.delete_message(gone.id)
    store.tables.put_message(dataclasses.replace(messages[4], sequence=7))
    assert _problems(service) == [
        ("sequence_gap", session.id, "sequence 2 is missing"),
        ("sequence_gap", session.id, "sequences 4 to 6 are missing"),
        ("message_count_mismatch", session.id, "message_count is 5 but 3 messages are stored"),
    ]


def test_verify_reports_a_duplicate_sequence(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    session = _conversation(service, 2)
    first = service.get_messages(session.id)[0]
    store.tables.put_message(dataclasses.replace(first, id="1" * 26, token_count=None))
    assert _problems(service) == [
        ("duplicate_sequence", session.id, "sequence 1 is held by 2 messages"),
        ("message_count_mismatch", session.id, "message_count is 2 but 3 messages are stored"),
    ]


def test_verify_reports_orphans_and_checks_them_by_id(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    session = _conversation(service, 2)
    lone = service.create(ACTOR)
    service.append_message(lone.id, "user", "alone")
    store.tables.delete_session(session.id)
    store.tables.delete_session(lone.id)
    assert _problems(service) == sorted(
        [
            (
                "orphan_message",
                session.id,
                "2 messages (sequences 1 to 2) belong to no stored session",
            ),
            ("orphan_message", lone.id, "1 message (sequence 1) belongs to no stored session"),
        ]
    )
    one = service.verify(lone.id)
    assert (one.sessions_checked, one.messages_checked, len(one.problems)) == (0, 1, 1)


def test_verify_reports_metadata_that_is_not_a_json_object(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    session = _conversation(service, 1)
    message = service.get_messages(session.id)[0]
    store.tables.put_session(dataclasses.replace(session, metadata=["a"]))  # type: ignore[arg-type]
    store.tables.put_message(dataclasses.replace(message, metadata={"x": float("nan")}))
    assert _problems(service) == [
        ("undecodable_json", session.id, "the session's metadata is JSON but not an object"),
        (
            "undecodable_json",
            session.id,
            f"the metadata of message {message.id} (sequence 1) is not valid JSON",
        ),
    ]


def test_verify_reports_tokens_below_messages_and_misattributed_events(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    session = _conversation(service, 2)
    other = service.create(ACTOR)
    service.update_token_usage(other.id, completion_tokens=1)
    message = service.append_message(other.id, "assistant", "x", token_count=3)
    event = service.record_file_event(other.id, message.id, "read", file_path="a.py")
    store.tables.put_file_event(dataclasses.replace(event, session_id=session.id))
    store.tables.put_file_event(dataclasses.replace(event, id="1" * 26, session_id=session.id))
    assert _problems(service) == sorted(
        [
            (
                "misattributed_file_event",
                session.id,
                f"2 file events of this session name a message of session {other.id}",
            ),
            (
                "tokens_below_messages",
                other.id,
                "prompt_tokens + completion_tokens = 0 + 1 = 1, below the 3 tokens recorded "
                "on its messages",
            ),
        ],
        key=lambda problem: problem[1],
    )
    assert service.verify(other.id).problems[0].kind == "tokens_below_messages"


def test_the_store_shows_no_secret_in_its_repr(service: PersistentSessionService) -> None:
    assert repr(service) == "PersistentSessionService(InMemorySessionStore())"


def test_the_repositories_answer_for_absent_rows(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    session = _conversation(service, 2)
    absent = "0" * 26

    def read(uow: UnitOfWork) -> tuple[object, ...]:
        return (
            uow.messages.count_for_session(session.id),
            uow.messages.count_for_session(absent),
            uow.file_events.record(
                absent,
                event_id=absent,
                message_id=absent,
                event_type=FileEventType.READ,
                file_path="a.py",
                diff=None,
                command=None,
                created_at=session.updated_at,
            ),
        )

    assert store.transaction(read, writes=True) == (2, 0, None)
    store.tables.delete_session(absent)
    assert service.verify().ok

    second = service.get_messages(session.id)[1]

    def read_history(uow: UnitOfWork) -> tuple[object, ...]:
        fork = dataclasses.replace(session, id=absent, external_id=None)
        ids = ForkIds.fresh(new_ulid)
        return (
            uow.messages.at_sequence(session.id, 2) == second,
            uow.messages.at_sequence(session.id, 3),
            uow.sessions.fork(absent, ids=ids, fork=fork, at_sequence=None),
            uow.sessions.lineage(absent),
            uow.history.latest_compaction(absent),
        )

    assert store.transaction(read_history, writes=True) == (True, None, None, [], None)


def test_lineage_stops_at_a_cycle_of_a_damaged_store(
    service: PersistentSessionService, store: InMemorySessionStore
) -> None:
    root = service.create(ACTOR)
    child = service.fork_session(root.id)
    grandchild = service.fork_session(child.id)
    store.tables.put_session(
        dataclasses.replace(root, parent_session_id=grandchild.id, forked_at_sequence=0)
    )
    assert [s.id for s in service.lineage(grandchild.id)] == [child.id, root.id]
    assert [s.id for s in service.lineage(root.id)] == [grandchild.id, child.id]
