"""Steps about a session's messages: appending them, alone or at once, and reading them back."""

from __future__ import annotations

from behave import given, then, when
from behave.runner import Context

from agent_sessions import MessageRole
from features.session_world import attempt, parse_sequences, remember, sample_value

_CONVERSATION_ROLES = (MessageRole.USER, MessageRole.ASSISTANT)


@given('a session of actor "{actor:Text}" with {count:d} message')
@given('a session of actor "{actor:Text}" with {count:d} messages')
def step_session_with_messages(context: Context, actor: str, count: int) -> None:
    session = context.service.create(actor)
    for number in range(1, count + 1):
        role = _CONVERSATION_ROLES[number % 2]
        context.service.append_message(session.id, role, f"message {number} of {actor}")
    remember(context, context.service.get(session.id))


# --- appending --------------------------------------------------------------------------------


@when("I append these messages to the session:")
def step_append_table(context: Context) -> None:
    context.appended = [
        context.service.append_message(context.session.id, row["role"], row["content"])
        for row in context.table
    ]


@when("I try to append a message with {argument:w} set to {value}")
def step_try_append(context: Context, argument: str, value: str) -> None:
    arguments = {"role": "user", "content": "hello", argument: sample_value(value)}
    role = arguments.pop("role")
    content = arguments.pop("content")
    session_id = context.session.id
    attempt(context, lambda: context.service.append_message(session_id, role, content, **arguments))


@then("the appended messages have the sequences {sequences}")
def step_appended_sequences(context: Context, sequences: str) -> None:
    got = [message.sequence for message in context.appended]
    assert got == parse_sequences(sequences), f"sequences are {got}"
    stored = context.service.get_messages(context.session.id)
    assert stored == context.appended, "the stored messages differ from the appended ones"


@then("the session holds {count:d} messages")
def step_session_holds(context: Context, count: int) -> None:
    stored = context.service.get(context.session.id)
    messages = context.service.get_messages(context.session.id)
    assert stored.message_count == count, f"message_count is {stored.message_count}"
    assert len(messages) == count, f"{len(messages)} messages are stored"


@then("the session was last updated when its last message was appended")
def step_updated_by_last_message(context: Context) -> None:
    stored = context.service.get(context.session.id)
    last = context.appended[-1]
    assert stored.updated_at >= last.created_at, (
        f"updated_at {stored.updated_at} is before the last message's {last.created_at}"
    )
    assert stored.updated_at > stored.created_at, "updated_at did not move on append"


# --- appending from several threads -----------------------------------------------------------


# --- reading ----------------------------------------------------------------------------------


@when("I read the messages with limit {limit:d} and offset {offset:d}")
def step_read_page(context: Context, limit: int, offset: int) -> None:
    context.read = context.service.get_messages(context.session.id, limit=limit, offset=offset)


@when("I read the messages from offset {offset:d}")
def step_read_from(context: Context, offset: int) -> None:
    context.read = context.service.get_messages(context.session.id, offset=offset)


@when("I read the {count:d} most recent messages")
def step_read_recent(context: Context, count: int) -> None:
    context.read = context.service.recent_messages(context.session.id, count)


@when("I try to read {reading} with {argument:w} set to {value}")
def step_try_read(context: Context, reading: str, argument: str, value: str) -> None:
    session_id = context.session.id
    given = sample_value(value)
    readers = {
        "a page of messages": lambda: context.service.get_messages(session_id, **{argument: given}),
        "the most recent messages": lambda: context.service.recent_messages(session_id, given),
    }
    attempt(context, readers[reading])


@then("I get the messages with the sequences {sequences}")
def step_got_sequences(context: Context, sequences: str) -> None:
    got = [message.sequence for message in context.read]
    assert got == parse_sequences(sequences), f"got the sequences {got}"
    assert all(message.session_id == context.session.id for message in context.read)
    assert [message.content for message in context.read] == [
        f"message {sequence} of {context.session.actor_name}" for sequence in got
    ], "the contents do not belong to those sequences"


@then('reading the messages of "{actor:Text}" gives no messages')
def step_no_messages(context: Context, actor: str) -> None:
    session_id = context.sessions[actor].id
    assert context.service.get_messages(session_id) == []
    assert context.service.recent_messages(session_id, 5) == []


@then('reading the messages of "{actor:Text}" from offset {offset:d} gives no messages')
def step_no_messages_past_end(context: Context, actor: str, offset: int) -> None:
    session_id = context.sessions[actor].id
    assert context.service.get_messages(session_id, offset=offset) == []
    assert context.service.get_messages(session_id, limit=5, offset=offset) == []
