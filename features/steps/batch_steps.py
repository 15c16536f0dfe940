"""Steps about append_messages (batches) and iter_messages (streaming a session)."""

from __future__ import annotations

import json
from typing import Any

from behave import then, when
from behave.runner import Context

from agent_sessions import MessageRole, NewMessage
from features.session_world import attempt, parse_sequences, unknown_session_id

_BAD_SECOND_MESSAGE: dict[str, Any] = {
    'the role "narrator"': {"role": "narrator", "content": "x"},
    "content that is not a string": {"role": "user", "content": 42},
    "a NUL in its content": {"role": "user", "content": "a\x00b"},
    "metadata that is a list": {"role": "user", "content": "x", "metadata": [1]},
    "a negative token count": {"role": "user", "content": "x", "token_count": -1},
    "no content field": {"role": "user"},
    'an unknown field "colour"': {"role": "user", "content": "x", "colour": "red"},
    "the form of a plain string": "hello",
}

_BAD_BATCHES: dict[str, Any] = {
    "a generator of messages": lambda: ({"role": "user", "content": "x"} for _ in range(2)),
    "a single message mapping": lambda: {"role": "user", "content": "x"},
    "100001 messages": lambda: [{"role": "user", "content": "x"}] * 100_001,
}


# --- appending batches --------------------------------------------------------------------------


@when("I append a batch of {count:d} messages to the session")
def step_append_batch(context: Context, count: int) -> None:
    batch = [NewMessage("user", f"batch message {number}") for number in range(1, count + 1)]
    context.batch = context.service.append_messages(context.session.id, batch)


@when(
    "I append a batch of a NewMessage with metadata {metadata} and {tokens:d} tokens "
    'and a mapping with role "{role}"'
)
def step_append_mixed(context: Context, metadata: str, tokens: int, role: str) -> None:
    batch = [
        NewMessage("assistant", "from a NewMessage", json.loads(metadata), tokens),
        {"role": role, "content": "from a mapping"},
    ]
    context.batch = context.service.append_messages(context.session.id, batch)


@when("I try to append a batch whose second message has {problem}")
def step_try_bad_batch(context: Context, problem: str) -> None:
    batch = [{"role": "user", "content": "fine"}, _BAD_SECOND_MESSAGE[problem]]
    attempt(context, lambda: context.service.append_messages(context.session.id, batch))


@when("I try to append as a batch {value}")
def step_try_bad_batch_value(context: Context, value: str) -> None:
    batch = _BAD_BATCHES[value]()
    attempt(context, lambda: context.service.append_messages(context.session.id, batch))


@then("the batch has the sequences {sequences}")
def step_batch_sequences(context: Context, sequences: str) -> None:
    got = [message.sequence for message in context.batch]
    assert got == parse_sequences(sequences), f"the batch has the sequences {got}"


@then("the batch is stored exactly as returned")
def step_batch_stored(context: Context) -> None:
    first = context.batch[0].sequence
    stored = context.service.get_messages(
        context.session.id, limit=len(context.batch), offset=first - 1
    )
    assert stored == context.batch, (stored, context.batch)


@then("the session's message_count is {count:d}")
def step_message_count(context: Context, count: int) -> None:
    assert context.service.get(context.session.id).message_count == count


@then("the first message of the batch has metadata {metadata} and {tokens:d} tokens")
def step_first_of_batch(context: Context, metadata: str, tokens: int) -> None:
    (stored, _) = context.service.get_messages(context.session.id)
    assert stored.metadata == json.loads(metadata), stored.metadata
    assert stored.token_count == tokens, stored.token_count
    assert stored.role is MessageRole.ASSISTANT


@then("the second message of the batch has the role MessageRole.{member:w} and empty metadata")
def step_second_of_batch(context: Context, member: str) -> None:
    (_, stored) = context.service.get_messages(context.session.id)
    assert stored.role is MessageRole[member], stored.role
    assert stored.metadata == {} and stored.token_count is None, stored


# --- streaming ------------------------------------------------------------------------------------


def _counting_pages(context: Context) -> None:
    """Count the read transactions the service runs from here on."""
    context.pages_read = 0
    store = context.service._store
    original = store.transaction

    def counted(work: Any, *, writes: bool) -> Any:
        if not writes:
            context.pages_read += 1
        return original(work, writes=writes)

    store.transaction = counted
    context.add_cleanup(lambda: delattr(store, "transaction"))


@when("I stream its messages {size:d} at a time")
def step_stream(context: Context, size: int) -> None:
    _counting_pages(context)
    context.streamed = [
        m.sequence for m in context.service.iter_messages(context.session.id, batch_size=size)
    ]


@when("I try to stream {what}")
def step_try_stream(context: Context, what: str) -> None:
    session_id, size = context.session.id, 10
    if what == "a session that does not exist":
        session_id = unknown_session_id()
    elif what.startswith("the session id "):
        session_id = json.loads(what.removeprefix("the session id "))
    else:
        size = json.loads(what.removeprefix("with batch_size set to "))
    attempt(context, lambda: context.service.iter_messages(session_id, batch_size=size))


@then("the stream yielded the sequences 1 to {last:d} in order")
def step_streamed(context: Context, last: int) -> None:
    assert context.streamed == list(range(1, last + 1)), context.streamed


@then("the stream read the database in {pages:d} batches")
def step_stream_pages(context: Context, pages: int) -> None:
    assert context.pages_read == pages, f"{context.pages_read} read transactions"


@then("the stream yielded nothing")
def step_streamed_nothing(context: Context) -> None:
    assert context.streamed == [], context.streamed
