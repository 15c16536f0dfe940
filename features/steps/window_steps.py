"""Steps about windows of recent messages that never split a tool call from its result."""

from __future__ import annotations

from behave import given, then
from behave.runner import Context

from agent_sessions import MessageRole, NewMessage
from features.session_world import parse_sequences, remember


def _roles(text: str) -> list[MessageRole]:
    return [MessageRole(role.strip()) for role in text.split(",")]


def _conversation(context: Context, roles: list[MessageRole]) -> None:
    session = context.service.create("windowed")
    batch = [NewMessage(role, f"{role} {number}") for number, role in enumerate(roles, start=1)]
    context.service.append_messages(session.id, batch)
    remember(context, context.service.get(session.id))


@given("a conversation whose messages are {roles}")
def step_conversation_of_roles(context: Context, roles: str) -> None:
    _conversation(context, _roles(roles))


@given("a conversation of a user message, an assistant message and {count:d} tool results")
def step_conversation_with_tool_results(context: Context, count: int) -> None:
    _conversation(context, [MessageRole.USER, MessageRole.ASSISTANT] + [MessageRole.TOOL] * count)


def _expect_last(context: Context, count: int) -> None:
    newest = context.service.get_messages(context.session.id)[-count:]
    got = [message.sequence for message in context.read]
    assert context.read == newest, f"got the sequences {got}, not the last {count} messages"


@then("I get the last {count:d} messages: {roles}")
def step_got_last_with_roles(context: Context, count: int, roles: str) -> None:
    _expect_last(context, count)
    got = [message.role for message in context.read]
    assert got == _roles(roles), f"got the roles {got}"


@then("I get the last {count:d} messages, the first of them the assistant message")
def step_got_last_from_assistant(context: Context, count: int) -> None:
    _expect_last(context, count)
    first = context.read[0]
    assert first.role == MessageRole.ASSISTANT, f"the window starts on a {first.role} message"


@then("I get the messages at the sequences {sequences}: {roles}")
def step_got_sequences_with_roles(context: Context, sequences: str, roles: str) -> None:
    got = [(message.sequence, message.role) for message in context.read]
    expected = list(zip(parse_sequences(sequences), _roles(roles), strict=True))
    assert got == expected, f"got {got}"
