"""Steps about sessions themselves: creating, fetching, listing and deleting them."""

from __future__ import annotations

import json

from behave import given, then, when
from behave.runner import Context

from agent_sessions import SessionNotFoundError
from features.session_world import (
    ULID_PATTERN,
    assert_utc,
    attempt,
    expected_error,
    parse_names,
    remember,
    sample_value,
    session_of,
)

# --- creating ---------------------------------------------------------------------------------


@given('a session of actor "{actor:Text}"')
@when('I create a session for actor "{actor:Text}"')
def step_create_session(context: Context, actor: str) -> None:
    remember(context, context.service.create(actor))


@given('a session of actor "{actor:Text}" titled "{title:Text}"')
def step_create_titled_session(context: Context, actor: str, title: str) -> None:
    remember(context, context.service.create(actor, title=title))


@when('I create a session for actor "{actor:Text}" titled "{title:Text}" with metadata:')
def step_create_session_with_metadata_text(context: Context, actor: str, title: str) -> None:
    context.expected_metadata = json.loads(context.text)
    remember(
        context,
        context.service.create(actor, title=title, metadata=context.expected_metadata),
    )


@when(
    "I create a session whose actor name has {actor_length:d} characters"
    " and whose title has {title_length:d}"
)
def step_create_longest(context: Context, actor_length: int, title_length: int) -> None:
    remember(context, context.service.create("a" * actor_length, title="t" * title_length))


@when("I try to create a session with {argument:w} set to {value}")
def step_try_create(context: Context, argument: str, value: str) -> None:
    arguments = {"actor_name": "alice", argument: sample_value(value)}
    actor_name = arguments.pop("actor_name")
    attempt(context, lambda: context.service.create(actor_name, **arguments))


@given("these sessions were created in this order:")
def step_create_sessions_in_order(context: Context) -> None:
    for row in context.table:
        remember(context, context.service.create(row["actor"], title=row["title"]))


# --- what a new session looks like ------------------------------------------------------------


@then("the session has a 26-character ULID id")
def step_ulid_id(context: Context) -> None:
    session_id = context.session.id
    assert len(session_id) == 26, f"{session_id!r} is not 26 characters long"
    assert ULID_PATTERN.match(session_id), f"{session_id!r} is not a ULID"


@then("its prompt, completion, total and message counters are all 0")
def step_counters_zero(context: Context) -> None:
    session = context.session
    counters = (
        session.prompt_tokens,
        session.completion_tokens,
        session.total_tokens,
        session.message_count,
    )
    assert counters == (0, 0, 0, 0), f"counters are {counters}"


@then("it has no title and empty metadata")
def step_no_title(context: Context) -> None:
    assert context.session.title is None, f"title is {context.session.title!r}"
    assert context.session.metadata == {}, f"metadata is {context.session.metadata!r}"


@then("its created_at equals its updated_at, timezone-aware in UTC")
def step_equal_timestamps(context: Context) -> None:
    session = context.session
    assert session.created_at == session.updated_at, (
        f"created_at {session.created_at} != updated_at {session.updated_at}"
    )
    assert_utc(session.created_at, "created_at")
    assert_utc(session.updated_at, "updated_at")


@then("fetching the session by its id returns the same session")
def step_fetch_same(context: Context) -> None:
    fetched = context.service.get(context.session.id)
    assert fetched == context.session, f"fetched {fetched!r}, created {context.session!r}"
    assert_utc(fetched.created_at, "the fetched created_at")


@then('the stored session has the title "{title:Text}" and exactly that metadata')
def step_stored_title_metadata(context: Context, title: str) -> None:
    stored = context.service.get(context.session.id)
    assert stored.title == title, f"title is {stored.title!r}"
    assert stored.metadata == context.expected_metadata, f"metadata is {stored.metadata!r}"


@then(
    "the stored session has an actor name of {actor_length:d} characters"
    " and a title of {title_length:d}"
)
def step_stored_lengths(context: Context, actor_length: int, title_length: int) -> None:
    stored = context.service.get(context.session.id)
    assert stored.actor_name == "a" * actor_length, f"actor name of {len(stored.actor_name)}"
    assert stored.title == "t" * title_length, f"title of {len(stored.title or '')}"


# --- listing ----------------------------------------------------------------------------------


@when('I list the sessions of actor "{actor:Text}"')
def step_list_actor(context: Context, actor: str) -> None:
    context.listed = context.service.list(actor_name=actor)


@when("I list the sessions with limit {limit:d} and offset {offset:d}")
def step_list_page(context: Context, limit: int, offset: int) -> None:
    context.listed = context.service.list(limit=limit, offset=offset)


@when("I try to list sessions with {argument:w} set to {value}")
def step_try_list(context: Context, argument: str, value: str) -> None:
    arguments = {argument: sample_value(value)}
    attempt(context, lambda: context.service.list(**arguments))


@then('the listed titles are "{titles}"')
def step_listed_titles(context: Context, titles: str) -> None:
    listed = [session.title for session in context.listed]
    assert listed == parse_names(titles), f"listed {listed}"


@then("no session is listed")
def step_nothing_listed(context: Context) -> None:
    assert context.listed == [], f"listed {context.listed}"


# --- deleting ---------------------------------------------------------------------------------


@when('I delete the session of "{actor:Text}"')
def step_delete(context: Context, actor: str) -> None:
    assert context.service.delete(session_of(context, actor).id) is None


@when("I try to delete the session with the id set to {value}")
def step_try_delete_malformed(context: Context, value: str) -> None:
    session_id = sample_value(value)
    attempt(context, lambda: context.service.delete(session_id))


@then('the session of "{actor:Text}" can no longer be found')
def step_session_gone(context: Context, actor: str) -> None:
    session_id = session_of(context, actor).id
    attempt(context, lambda: context.service.get(session_id))
    expected_error(context, SessionNotFoundError)
    listed = [session.id for session in context.service.list(limit=1000)]
    assert session_id not in listed, "the deleted session is still listed"


@then('the messages of the session of "{actor:Text}" can no longer be read')
def step_messages_gone(context: Context, actor: str) -> None:
    session_id = session_of(context, actor).id
    for read in (
        lambda: context.service.get_messages(session_id),
        lambda: context.service.recent_messages(session_id, 10),
        lambda: context.service.export_session(session_id),
    ):
        attempt(context, read)
        expected_error(context, SessionNotFoundError)


@then('the session of "{actor:Text}" still holds {count:d} message')
@then('the session of "{actor:Text}" still holds {count:d} messages')
def step_session_still_holds(context: Context, actor: str, count: int) -> None:
    session_id = session_of(context, actor).id
    stored = context.service.get(session_id)
    messages = context.service.get_messages(session_id)
    assert stored.message_count == count, f"message_count is {stored.message_count}"
    assert [message.sequence for message in messages] == list(range(1, count + 1)), (
        f"sequences are {[message.sequence for message in messages]}"
    )
