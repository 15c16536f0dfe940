"""Steps about forking a session: what a fork holds, what it leaves, its family, and refusals.

"The fork" is the session the scenario's last ``fork_session`` returned (``context.fork``);
forks given a name ("B", "C") are kept in ``context.forks``; "the session" is the source.
"""

from __future__ import annotations

import json

from behave import given, then, when
from behave.runner import Context

from agent_sessions import FileEvent, MessageRole, NewMessage, Session, SessionMessage
from features.session_world import (
    ULID_PATTERN,
    attempt,
    parse_names,
    parse_sequences,
    remember,
    sample_value,
)

# --- the world --------------------------------------------------------------------------------


@given(
    'a session of actor "{actor:Text}" with {count:d} messages carrying metadata and token counts'
)
def step_session_with_rich_messages(context: Context, actor: str, count: int) -> None:
    session = context.service.create(actor)
    context.service.append_messages(
        session.id,
        [
            NewMessage(
                (MessageRole.USER, MessageRole.ASSISTANT)[number % 2],
                f"message {number} of {actor}",
                metadata={"turn": number, "tags": ["fork", str(number)], "nested": {"n": number}},
                token_count=10 * number,
            )
            for number in range(1, count + 1)
        ],
    )
    spent = sum(10 * number for number in range(1, count + 1))  # as the agent's model reported
    context.service.update_token_usage(session.id, prompt_tokens=spent)
    remember(context, context.service.get(session.id))


@given('a session of actor "{actor:Text}" titled "{title:Text}" with metadata {metadata}')
def step_session_titled_with_metadata(
    context: Context, actor: str, title: str, metadata: str
) -> None:
    session = context.service.create(actor, title=title, metadata=json.loads(metadata))
    context.service.append_messages(
        session.id, [NewMessage("user", "first question"), NewMessage("assistant", "an answer")]
    )
    remember(context, context.service.get(session.id))


def _named(context: Context, name: str) -> Session:
    forks: dict[str, Session] = context.forks
    return forks[name]


def _keep_fork(context: Context, name: str, fork: Session) -> None:
    context.forks = {**getattr(context, "forks", {}), name: fork}


@given('the session was forked at sequence {point:d} as "{name}"')
def step_session_forked_as(context: Context, point: int, name: str) -> None:
    _keep_fork(context, name, context.service.fork_session(context.session.id, at_sequence=point))


@given('"{parent}" was forked at sequence {point:d} as "{name}"')
def step_fork_forked_as(context: Context, parent: str, point: int, name: str) -> None:
    source = _named(context, parent).id
    _keep_fork(context, name, context.service.fork_session(source, at_sequence=point))


@given('"{name}" was rewound to sequence {point:d}')
def step_fork_rewound(context: Context, name: str, point: int) -> None:
    assert context.service.rewind(_named(context, name).id, point) is not None


# --- forking ----------------------------------------------------------------------------------


@when("I fork the session at sequence {point:d}")
def step_fork_at(context: Context, point: int) -> None:
    context.fork = context.service.fork_session(context.session.id, at_sequence=point)


@when("I fork the session")
def step_fork(context: Context) -> None:
    context.fork = context.service.fork_session(context.session.id)


@when(
    'I fork the session for actor "{actor:Text}" titled "{title:Text}" '
    'with the external id "{external_id:Text}"'
)
def step_fork_named(context: Context, actor: str, title: str, external_id: str) -> None:
    context.fork = context.service.fork_session(
        context.session.id, actor_name=actor, title=title, external_id=external_id
    )


@when("I try to fork the session at sequence {value}")
def step_try_fork_at(context: Context, value: str) -> None:
    session_id = context.session.id
    point = sample_value(value)
    attempt(context, lambda: context.service.fork_session(session_id, at_sequence=point))


@when('I try to fork "{name}" at sequence {point:d}')
def step_try_fork_named_at(context: Context, name: str, point: int) -> None:
    source = _named(context, name).id
    attempt(context, lambda: context.service.fork_session(source, at_sequence=point))


@when('I try to fork the session with the external id "{external_id:Text}"')
def step_try_fork_external_id(context: Context, external_id: str) -> None:
    session_id = context.session.id
    attempt(context, lambda: context.service.fork_session(session_id, external_id=external_id))


# --- what the fork holds ----------------------------------------------------------------------


def _originals(context: Context, sequences: str) -> list[SessionMessage]:
    transcript = context.service.get_messages(context.session.id, include_rewound=True)
    by_sequence = {message.sequence: message for message in transcript}
    return [by_sequence[sequence] for sequence in parse_sequences(sequences)]


def _assert_copies(
    context: Context, fork: Session, originals: list[SessionMessage], numbers: list[int]
) -> None:
    copies = context.service.get_messages(fork.id, include_rewound=True)
    assert [copy.sequence for copy in copies] == numbers, [copy.sequence for copy in copies]
    source_ids = {
        message.id
        for message in context.service.get_messages(context.session.id, include_rewound=True)
    }
    for copy, original in zip(copies, originals, strict=True):
        assert ULID_PATTERN.match(copy.id), f"{copy.id!r} is not a ULID"
        assert copy.id not in source_ids, f"copy {copy.sequence} kept the id {copy.id}"
        assert copy.session_id == fork.id, copy
        kept = ("role", "content", "metadata", "token_count", "created_at")
        for field in kept:
            assert getattr(copy, field) == getattr(original, field), (
                f"copy {copy.sequence}: {field} is {getattr(copy, field)!r}, "
                f"not {getattr(original, field)!r}"
            )
        assert copy.rewound_by is None, f"copy {copy.sequence} is marked as rewound"
    assert len({copy.id for copy in copies}) == len(copies), "the copies' ids repeat"


@then("the fork holds copies of the session's messages {sequences} at the sequences {numbers}")
def step_fork_holds_copies(context: Context, sequences: str, numbers: str) -> None:
    _assert_copies(context, context.fork, _originals(context, sequences), parse_sequences(numbers))


@then('"{name}" holds copies of the session\'s messages {sequences} at the sequences {numbers}')
def step_named_holds_copies(context: Context, name: str, sequences: str, numbers: str) -> None:
    _assert_copies(
        context, _named(context, name), _originals(context, sequences), parse_sequences(numbers)
    )


@then("the fork holds no message")
def step_fork_empty(context: Context) -> None:
    assert context.service.get_messages(context.fork.id, include_rewound=True) == []
    assert context.service.get(context.fork.id).message_count == 0


@then("the fork records the session as its parent, forked at sequence {point:d}")
def step_fork_parent(context: Context, point: int) -> None:
    stored = context.service.get(context.fork.id)
    assert stored == context.fork, f"stored {stored}, returned {context.fork}"
    assert ULID_PATTERN.match(stored.id) and stored.id != context.session.id, stored.id
    assert (stored.parent_session_id, stored.forked_at_sequence) == (context.session.id, point)
    copies = context.service.get_messages(stored.id, include_rewound=True)
    assert stored.message_count == len(copies), (stored.message_count, len(copies))


@then("none of the fork's messages is marked as rewound")
def step_fork_nothing_rewound(context: Context) -> None:
    copies = context.service.get_messages(context.fork.id, include_rewound=True)
    assert copies == context.service.get_messages(context.fork.id), "a copy is hidden"
    assert context.service.list_rewinds(context.fork.id) == []


@then(
    'the fork belongs to "{actor:Text}", is titled "{title:Text}" and has the metadata {metadata}'
)
def step_fork_names_metadata(context: Context, actor: str, title: str, metadata: str) -> None:
    fork = context.service.get(context.fork.id)
    assert (fork.actor_name, fork.title) == (actor, title), fork
    assert fork.metadata == json.loads(metadata), fork.metadata


@then("the fork's prompt and completion tokens are 0 and its message_count is {count:d}")
def step_fork_counters(context: Context, count: int) -> None:
    fork = context.service.get(context.fork.id)
    counters = (fork.prompt_tokens, fork.completion_tokens, fork.total_tokens, fork.message_count)
    assert counters == (0, 0, 0, count), counters


@then("the fork has no external id")
def step_fork_no_external_id(context: Context) -> None:
    assert context.service.get(context.fork.id).external_id is None


@then(
    'the fork belongs to "{actor:Text}", is titled "{title:Text}" '
    'and has the external id "{external_id:Text}"'
)
def step_fork_names_external(context: Context, actor: str, title: str, external_id: str) -> None:
    fork = context.service.get(context.fork.id)
    assert (fork.actor_name, fork.title, fork.external_id) == (actor, title, external_id), fork


@then('looking up "{external_id:Text}" for "{actor:Text}" finds the fork')
def step_lookup_finds_fork(context: Context, external_id: str, actor: str) -> None:
    found = context.service.get_by_external_id(actor, external_id)
    assert found is not None and found.id == context.fork.id, found


# --- file events ------------------------------------------------------------------------------


@then("the fork's file events are copies of the events recorded in rows {rows}, in that order")
def step_fork_events(context: Context, rows: str) -> None:
    originals: list[FileEvent] = [context.recorded[n - 1] for n in parse_sequences(rows)]
    copies = context.service.list_file_events(context.fork.id)
    assert len(copies) == len(originals), f"the fork has {len(copies)} file events"
    point = context.fork.forked_at_sequence
    source = context.service.get_messages(context.session.id)
    copied_ids = [message.id for message in source if message.sequence <= point]
    copy_ids = [message.id for message in context.service.get_messages(context.fork.id)]
    copy_of = dict(zip(copied_ids, copy_ids, strict=True))
    source_event_ids = {event.id for event in context.recorded}
    for number, (copy, original) in enumerate(zip(copies, originals, strict=True), 1):
        assert ULID_PATTERN.match(copy.id) and copy.id not in source_event_ids, copy.id
        assert copy.session_id == context.fork.id, copy
        assert copy.message_id == copy_of[original.message_id], (
            f"event {number} points at {copy.message_id}, not at the copy of its message"
        )
        kept = ("event_type", "file_path", "diff", "command", "created_at")
        for field in kept:
            assert getattr(copy, field) == getattr(original, field), (
                f"event {number}: {field} is {getattr(copy, field)!r}"
            )


@then('the files the fork touched are "{paths}"')
def step_fork_touched(context: Context, paths: str) -> None:
    touched = [touch.file_path for touch in context.service.files_touched(context.fork.id)]
    assert touched == parse_names(paths), f"the fork touched {touched}"


# --- the source, untouched --------------------------------------------------------------------


def _everything_of(context: Context, session_id: str) -> tuple[object, ...]:
    service = context.service
    return (
        service.get(session_id),
        service.get_messages(session_id, include_rewound=True),
        service.list_file_events(session_id),
        service.list_rewinds(session_id),
        service.list_compactions(session_id),
    )


@given("the session, its messages and its file events are noted")
def step_note_source(context: Context) -> None:
    context.noted_source = _everything_of(context, context.session.id)


@then("the session, its messages and its file events are as noted")
def step_source_unchanged(context: Context) -> None:
    now = _everything_of(context, context.session.id)
    assert now == context.noted_source, f"the source changed:\n{context.noted_source}\n{now}"


# --- the family -------------------------------------------------------------------------------


def _ids_named(context: Context, names: str) -> list[str]:
    """The session ids that ``"B", then the session`` or ``"D", "B"`` name, in order."""
    ids = []
    for part in parse_names(names.replace(", then ", ", ")):
        ids.append(context.session.id if part == "the session" else _named(context, part[1:-1]).id)
    return ids


@then('the lineage of "{name}" is {chain}')
def step_lineage(context: Context, name: str, chain: str) -> None:
    lineage = context.service.lineage(_named(context, name).id)
    expected = [] if chain == "empty" else _ids_named(context, chain)
    assert [session.id for session in lineage] == expected, f"the lineage is {lineage}"
    for parent in lineage:
        assert parent == context.service.get(parent.id), parent


@then("the lineage of the session is empty")
def step_lineage_of_source(context: Context) -> None:
    assert context.service.lineage(context.session.id) == []


def _forked_from(context: Context, session_id: str, names: str) -> None:
    listed = context.service.list(forked_from=session_id, limit=1000)
    expected = [] if names == "none" else _ids_named(context, names)
    assert [session.id for session in listed] == expected, f"listed {listed}"


@then("the sessions forked from the session are {names}")
def step_forked_from_source(context: Context, names: str) -> None:
    _forked_from(context, context.session.id, names)


@then('the sessions forked from "{name}" are {names}')
def step_forked_from_named(context: Context, name: str, names: str) -> None:
    _forked_from(context, _named(context, name).id, names)


@then('"{name}" still holds {count:d} messages and names the deleted session as its parent')
def step_orphaned_fork(context: Context, name: str, count: int) -> None:
    fork = context.service.get(_named(context, name).id)
    assert fork.parent_session_id == context.session.id, fork
    assert fork.message_count == count, fork
    assert len(context.service.get_messages(fork.id)) == count
