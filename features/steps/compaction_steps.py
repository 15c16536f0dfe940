"""Steps about compactions: what a model is sent, later compactions, boundaries, and refusals.

The scenario's compactions are kept in ``context.compactions`` (oldest first) and the latest in
``context.compaction``; "the summary" is the latest one's. "The context messages" are what the
last ``When I read the context messages ...`` step read, or else a fresh default read.
"""

from __future__ import annotations

import json

from behave import given, then, when
from behave.runner import Context

from agent_sessions import Compaction, MessageRole, SessionMessage
from features.session_world import assert_utc, attempt, parse_sequences, sample_value

# --- compacting -------------------------------------------------------------------------------


def _compact(context: Context, point: int, summary: str | None = None, **options: object) -> None:
    text = summary if summary is not None else f"what happened up to message {point}"
    compaction = context.service.compact(context.session.id, point, text, **options)
    context.compaction = compaction
    context.compactions = [*getattr(context, "compactions", []), compaction]


@given("the session was compacted through sequence {point:d}")
@when("I compact the session through sequence {point:d}")
def step_compact(context: Context, point: int) -> None:
    _compact(context, point)


@given('the session was compacted through sequence {point:d} with the summary "{summary:Text}"')
@when('I compact the session through sequence {point:d} with the summary "{summary:Text}"')
def step_compact_with_summary(context: Context, point: int, summary: str) -> None:
    _compact(context, point, summary)


@when(
    'I compact the session through sequence {point:d} with the summary "{summary:Text}" '
    "of {tokens:d} tokens and metadata {metadata}"
)
def step_compact_fully(
    context: Context, point: int, summary: str, tokens: int, metadata: str
) -> None:
    _compact(context, point, summary, token_count=tokens, metadata=json.loads(metadata))


@when("I try to compact the session through sequence {value}")
def step_try_compact(context: Context, value: str) -> None:
    session_id = context.session.id
    point = sample_value(value)
    attempt(context, lambda: context.service.compact(session_id, point, "a summary"))


@when("I try to compact the session with {argument:w} set to {value}")
def step_try_compact_with(context: Context, argument: str, value: str) -> None:
    session_id = context.session.id
    arguments = {"summary": "a summary", argument: sample_value(value)}
    summary = arguments.pop("summary")
    attempt(context, lambda: context.service.compact(session_id, 2, summary, **arguments))


# --- reading the context ----------------------------------------------------------------------


@when("I read the context messages with the summary as a {role} message")
def step_read_context_role(context: Context, role: str) -> None:
    context.context_read = context.service.context_messages(context.session.id, summary_role=role)


@when("I read the context messages with a limit of {limit:d}")
def step_read_context_limit(context: Context, limit: int) -> None:
    context.context_read = context.service.context_messages(context.session.id, limit=limit)
    context.read = context.context_read  # the windows' steps read it too


@when("I try to read the context messages with {argument:w} set to {value}")
def step_try_read_context(context: Context, argument: str, value: str) -> None:
    session_id = context.session.id
    arguments = {argument: sample_value(value)}
    attempt(context, lambda: context.service.context_messages(session_id, **arguments))


def _context_read(context: Context) -> list[SessionMessage]:
    read = getattr(context, "context_read", None)
    if read is None:
        read = context.service.context_messages(context.session.id)
    messages: list[SessionMessage] = read
    return messages


def _assert_messages_after(context: Context, window: list[SessionMessage], sequences: str) -> None:
    stored = context.service.get_messages(context.session.id)
    visible = {message.sequence: message for message in stored}
    got = [message.sequence for message in window]
    wanted = parse_sequences(sequences)
    assert got == wanted, f"the context holds the messages at {got}"
    assert window == [visible[sequence] for sequence in wanted], "they differ from the stored ones"


def _assert_summary_then(context: Context, role: str, summary: str, sequences: str) -> None:
    read = _context_read(context)
    assert read, "the context is empty"
    head = read[0]
    compaction: Compaction = context.compaction
    assert (head.id, head.role, head.content) == (compaction.id, MessageRole(role), summary), head
    assert head.sequence == compaction.through_sequence, head
    _assert_messages_after(context, read[1:], sequences)


@then("the context messages are the summary as a {role} message, then the messages {sequences}")
def step_context_summary_then(context: Context, role: str, sequences: str) -> None:
    _assert_summary_then(context, role, context.compaction.summary, sequences)


@then(
    'the context messages are the summary "{summary:Text}" as a {role} message, '
    "then the messages {sequences}"
)
def step_context_named_summary_then(
    context: Context, summary: str, role: str, sequences: str
) -> None:
    _assert_summary_then(context, role, summary, sequences)


@then('the context messages start with the summary "{summary:Text}"')
def step_context_starts_with(context: Context, summary: str) -> None:
    read = context.service.context_messages(context.session.id)
    assert read, "the context is empty"
    assert read[0].content == summary, f"the context starts with {read[0].content!r}"
    assert "compaction_id" in read[0].metadata, "the first message is not a summary"


@then("the context messages are the messages {sequences}")
def step_context_messages_only(context: Context, sequences: str) -> None:
    _assert_messages_after(context, _context_read(context), sequences)


@then("they are the {count:d} most recent messages")
def step_context_is_recent(context: Context, count: int) -> None:
    recent = context.service.recent_messages(context.session.id, count)
    assert context.context_read == recent, f"the recent messages are {recent}"


@then("the summary's message has the compaction's id and created_at and the sequence {point:d}")
def step_summary_message_identity(context: Context, point: int) -> None:
    head = context.service.context_messages(context.session.id)[0]
    compaction: Compaction = context.compaction
    identity = (head.id, head.created_at, head.sequence)
    assert identity == (compaction.id, compaction.created_at, point), head
    assert head.session_id == context.session.id, head
    assert_utc(head.created_at, "the summary's created_at")


@then(
    "the summary's message has the metadata {metadata} with the compaction's id, "
    "and {tokens:d} tokens"
)
def step_summary_message_metadata(context: Context, metadata: str, tokens: int) -> None:
    head = context.service.context_messages(context.session.id)[0]
    expected = {**json.loads(metadata), "compaction_id": context.compaction.id}
    assert head.metadata == expected, head.metadata
    assert head.token_count == tokens, head.token_count
    assert (context.compaction.token_count, context.compaction.metadata) == (
        tokens,
        json.loads(metadata),
    ), context.compaction


# --- the compactions recorded -----------------------------------------------------------------


@then("the session's compactions are that one")
def step_compactions_that_one(context: Context) -> None:
    listed = context.service.list_compactions(context.session.id)
    assert listed == [context.compaction], f"listed {listed}"
    assert context.compaction.rewound_by is None, context.compaction


@then("the session has {count:d} compactions, in the order recorded")
def step_compactions_listed(context: Context, count: int) -> None:
    listed = context.service.list_compactions(context.session.id)
    assert listed == context.compactions, f"listed {listed}"
    assert len(listed) == count, f"{len(listed)} compactions"


@then("the compaction covers the messages up to sequence {point:d}")
def step_compaction_covers(context: Context, point: int) -> None:
    assert context.compaction.through_sequence == point, context.compaction
    listed = context.service.list_compactions(context.session.id)
    assert listed == [context.compaction], f"listed {listed}"


@then("the session's compaction is marked as hidden by the rewind")
def step_compaction_hidden(context: Context) -> None:
    (listed,) = context.service.list_compactions(context.session.id)
    assert listed.rewound_by == context.rewind.id, (listed.rewound_by, context.rewind.id)
