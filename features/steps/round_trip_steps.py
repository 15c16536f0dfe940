"""Steps about what the database gives back: text, large content, JSON types, time, restarts."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from behave import given, then, when
from behave.runner import Context

from agent_sessions import MessageRole
from features.session_world import assert_same_json, assert_utc, independent_checksum, remember

_PATTERN = "ASCII text, Ünïcödé, 漢字, emoji 🚀; "


@given('a message whose content and metadata hold "{text:Text}"')
def step_message_with_text(context: Context, text: str) -> None:
    context.service.append_message(context.session.id, "user", text, metadata={text: [text]})


@when("I reopen the store")
def step_reopen(context: Context) -> None:
    context.before_reopening = (
        context.service.get(context.session.id),
        context.service.get_messages(context.session.id),
    )
    context.service = context.open_service(context.database_url)


@then('the actor, title, message content and message metadata read back as "{text:Text}"')
def step_text_back(context: Context, text: str) -> None:
    session = context.service.get(context.session.id)
    (message,) = context.service.get_messages(context.session.id)
    assert session.actor_name == text, f"actor {session.actor_name!r}"
    assert session.title == text, f"title {session.title!r}"
    assert message.content == text, f"content {message.content!r}"
    assert message.metadata == {text: [text]}, f"metadata {message.metadata!r}"
    listed = context.service.list(actor_name=text)
    assert [found.id for found in listed] == [session.id], "listing by the actor name failed"


@when("I append a message of {length:d} characters mixing ASCII and multi-byte text")
def step_append_large(context: Context, length: int) -> None:
    content = (_PATTERN * (length // len(_PATTERN) + 1))[:length]
    assert len(content) == length
    context.large_digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    context.large_length = length
    context.service.append_message(context.session.id, "tool", content)


@then("the message reads back with exactly that content")
def step_large_back(context: Context) -> None:
    (message,) = context.service.recent_messages(context.session.id, 1)
    assert len(message.content) == context.large_length, f"{len(message.content)} characters"
    digest = hashlib.sha256(message.content.encode("utf-8")).hexdigest()
    assert digest == context.large_digest, "the content changed on its way through the database"


@when("I create a session and a message that both have the metadata:")
def step_nested_metadata(context: Context) -> None:
    context.expected_metadata = json.loads(context.text)
    session = context.service.create("alice", metadata=context.expected_metadata)
    context.service.append_message(session.id, "tool", "result", metadata=context.expected_metadata)
    remember(context, session)


@then("the session and the message read back exactly that metadata, with the same types")
def step_nested_back(context: Context) -> None:
    session = context.service.get(context.session.id)
    (message,) = context.service.get_messages(context.session.id)
    assert_same_json(session.metadata, context.expected_metadata, "session.metadata")
    assert_same_json(message.metadata, context.expected_metadata, "message.metadata")


@when('I import a conversation stamped "{stamp}"')
def step_import_stamped(context: Context, stamp: str) -> None:
    document = {
        "format": "agent-sessions/export",
        "schema_version": 1,
        "exported_at": stamp,
        "session": {
            "id": "01HZX3NDEKTSV4RRFFQ69G5FAV",
            "actor_name": "alice",
            "title": None,
            "metadata": {},
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "message_count": 1,
            "created_at": stamp,
            "updated_at": stamp,
        },
        "messages": [
            {
                "id": "01HZX3NDEKTSV4RRFFQ69G5FAW",
                "sequence": 1,
                "role": "user",
                "content": "hello",
                "metadata": {},
                "token_count": None,
                "created_at": stamp,
            }
        ],
    }
    document["checksum"] = independent_checksum(document)
    remember(context, context.service.import_session(document))


@then(
    "the session and its message read back as created at"
    " {year:d}-{month:d}-{day:d} {hour:d}:{minute:d}:{second:d}.{micro:d} UTC"
)
def step_stamped_back(
    context: Context,
    year: int,
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: int,
    micro: int,
) -> None:
    expected = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    session = context.service.get(context.session.id)
    (message,) = context.service.get_messages(context.session.id)
    assert session.created_at == expected, f"session created at {session.created_at}"
    assert session.updated_at == expected, f"session updated at {session.updated_at}"
    assert message.created_at == expected, f"message created at {message.created_at}"
    assert message.created_at.microsecond == micro, "the microseconds were lost"


@then("every timestamp of the session and its message is timezone-aware in UTC")
def step_all_utc(context: Context) -> None:
    session = context.service.get(context.session.id)
    (message,) = context.service.get_messages(context.session.id)
    assert_utc(session.created_at, "session.created_at")
    assert_utc(session.updated_at, "session.updated_at")
    assert_utc(message.created_at, "message.created_at")
    assert message.role is MessageRole.USER


@then("the reopened store returns the same session and the same messages")
def step_same_after_reopen(context: Context) -> None:
    session, messages = context.before_reopening
    assert context.service.get(session.id) == session, "the session differs after reopening"
    assert context.service.get_messages(session.id) == messages, "the messages differ"
    assert context.service.list() == [session], "the listing differs after reopening"
    assert (session.prompt_tokens, session.completion_tokens) == (40, 9)
