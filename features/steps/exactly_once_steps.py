"""Steps about exactly-once writes, idempotency keys and counted attempts."""

from __future__ import annotations

import io
import logging

from behave import given, then, when
from sqlalchemy import event, func, select, text

from agent_sessions import (
    DatabaseError,
    InvalidInputError,
    PersistentSessionService,
    RetryPolicy,
)
from agent_sessions.infrastructure.database import open_store
from agent_sessions.infrastructure.database.models import SessionMessageModel, SessionModel
from features.session_world import attempt, expected_error
from testsupport.lost_ack import lose_commit_acknowledgements

FAST_RETRIES = {"initial_wait": 0.001, "max_wait": 0.01}


class _RetryLog(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _breakable_service(context, attempts):
    store = open_store(
        context.database_url, retry_policy=RetryPolicy(attempts=attempts, **FAST_RETRIES)
    )
    context.breakable_store = store
    context.breakable = PersistentSessionService(store)
    context.scenario_stack.callback(context.breakable.close)
    log = _RetryLog()
    logger = logging.getLogger("agent_sessions.retry")
    logger.addHandler(log)
    context.scenario_stack.callback(logger.removeHandler, log)
    context.retry_log = log
    context.transactions = 0

    def count(connection):
        context.transactions += 1

    event.listen(store.engine, "begin", count)


@given("a service whose engine I can break")
def step_breakable(context):
    _breakable_service(context, attempts=5)


@given("a service whose engine I can break, retrying at most {attempts:d} times")
def step_breakable_bounded(context, attempts):
    _breakable_service(context, attempts=attempts)


def _break_commits(context, times, land, skip=0):
    breaker = lose_commit_acknowledgements(
        context.breakable_store.engine, times, land=land, skip=skip
    )
    context.breaker = context.scenario_stack.enter_context(breaker)
    context.retry_log.messages.clear()


@when("the next commit lands but its acknowledgement is lost")
def step_lose_ack(context):
    _break_commits(context, 1, land=True)


@when("the commit after the next one lands but its acknowledgement is lost")
def step_lose_second_ack(context):
    _break_commits(context, 1, land=True, skip=1)


@when("the next commit fails before it lands")
def step_fail_commit(context):
    _break_commits(context, 1, land=False)


@when("every commit fails before it lands")
def step_fail_every_commit(context):
    _break_commits(context, 1000, land=False)


def _store_session(context, actor, messages=0):
    session = context.breakable.create(actor)
    for index in range(messages):
        context.breakable.append_message(session.id, "user", f"message {index + 1}")
    return context.breakable.get(session.id)


@given('a stored session for "{actor}"')
def step_stored_session(context, actor):
    context.stored = _store_session(context, actor)


@given('a stored session for "{actor}" with {count:d} messages')
def step_stored_session_with_messages(context, actor, count):
    context.stored = _store_session(context, actor, count)


@given('a second stored session for "{actor}"')
def step_second_session(context, actor):
    context.second = _store_session(context, actor)


@given("its export document")
def step_its_export(context):
    context.document = context.breakable.export_session(context.stored.id)


@when('I create a session for "{actor}"')
def step_create(context, actor):
    context.returned = context.breakable.create(actor)


@when('I append a message "{content}" to it')
def step_append(context, content):
    context.returned = context.breakable.append_message(context.stored.id, "user", content)


@when('I append the batch "{contents}" to it')
def step_append_batch(context, contents):
    batch = [{"role": "user", "content": content} for content in contents.split(", ")]
    context.returned = context.breakable.append_messages(context.stored.id, batch)


@when('I try to append a message "{content}" to it')
def step_try_append(context, content):
    context.transactions = 0
    attempt(context, lambda: context.breakable.append_message(context.stored.id, "user", content))


@given("its JSON Lines export")
def step_its_jsonl_export(context):
    stream = io.BytesIO()
    context.breakable.export_session_to(context.stored.id, stream)
    context.jsonl = stream.getvalue()


@when("I import the JSON Lines export")
def step_import_jsonl(context):
    context.returned = context.breakable.import_session_from(io.BytesIO(context.jsonl))


@when('I create a session with the external id "{external_id}" for "{actor}"')
def step_create_external(context, external_id, actor):
    context.returned = context.breakable.create(actor, external_id=external_id)


@given("its first message")
def step_first_message(context):
    context.first_message = context.breakable.get_messages(context.stored.id, limit=1)[0]


@when('I record that its message edited "{path}"')
def step_record_edit(context, path):
    context.returned = context.breakable.record_file_event(
        context.stored.id, context.first_message.id, "edit", file_path=path, diff="-a\n+b\n"
    )


@then("the session holds exactly 1 file event, the one returned")
def step_one_event(context):
    assert context.breakable.list_file_events(context.stored.id) == [context.returned]


@when('I get or create the session of "{actor}" with external id "{external_id}"')
def step_get_or_create(context, actor, external_id):
    context.returned = context.breakable.get_or_create(actor, external_id)


@then("getting or creating it again returns the same session")
def step_get_or_create_again(context):
    again = context.breakable.get_or_create(
        context.returned.actor_name, context.returned.external_id
    )
    assert again == context.returned, (again, context.returned)


@when("I import the export document")
def step_import(context):
    context.returned = context.breakable.import_session(context.document)


@when("I delete that session")
def step_delete(context):
    context.returned = context.breakable.delete(context.stored.id)


@when("I add {prompt:d} prompt and {completion:d} completion tokens to it")
def step_add_tokens(context, prompt, completion):
    context.breakable.update_token_usage(
        context.stored.id, prompt_tokens=prompt, completion_tokens=completion
    )


@when('I add {prompt:d} prompt and {completion:d} completion tokens to it with the key "{key}"')
def step_add_tokens_keyed(context, prompt, completion, key):
    context.breakable.update_token_usage(
        context.stored.id, prompt_tokens=prompt, completion_tokens=completion, idempotency_key=key
    )


@when(
    "I add {prompt:d} prompt and {completion:d} completion tokens to each session "
    'with the key "{key}"'
)
def step_add_tokens_each(context, prompt, completion, key):
    for session in (context.stored, context.second):
        context.breakable.update_token_usage(
            session.id, prompt_tokens=prompt, completion_tokens=completion, idempotency_key=key
        )


def _try_tokens(context, prompt, completion, key):
    attempt(
        context,
        lambda: context.breakable.update_token_usage(
            context.stored.id,
            prompt_tokens=prompt,
            completion_tokens=completion,
            idempotency_key=key,
        ),
    )


@then("the session's export imports back with the same token usage")
def step_export_reimports(context):
    copy = context.breakable.import_session(context.breakable.export_session(context.stored.id))
    original = context.breakable.get(context.stored.id)
    assert (copy.prompt_tokens, copy.completion_tokens) == (
        original.prompt_tokens,
        original.completion_tokens,
    )


@when(
    'I try to add {prompt:d} prompt and {completion:d} completion tokens to it with the key "{key}"'
)
def step_try_tokens_keyed(context, prompt, completion, key):
    _try_tokens(context, prompt, completion, key)


@when(
    "I try to add {prompt:d} prompt and {completion:d} completion tokens to it "
    "with the key written {key}"
)
def step_try_tokens_literal(context, prompt, completion, key):
    _try_tokens(context, prompt, completion, eval(key, {}))  # a Python literal or expression


@then("the call returned normally after {retries:d} retry")
def step_returned_after(context, retries):
    assert context.breaker.broken == 1, context.breaker
    logged = [m for m in context.retry_log.messages if "retrying the whole transaction" in m]
    assert len(logged) == retries, context.retry_log.messages


def _count(context, model):
    with context.breakable_store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model.__table__)).scalar_one()


@then("the database holds {sessions:d} session and {messages:d} messages")
@then("the database holds {sessions:d} sessions and {messages:d} messages")
def step_database_holds(context, sessions, messages):
    assert _count(context, SessionModel) == sessions, _count(context, SessionModel)
    assert _count(context, SessionMessageModel) == messages, _count(context, SessionMessageModel)


@then("the returned session is the stored one")
def step_returned_session(context):
    assert context.breakable.get(context.returned.id) == context.returned


@then("the returned message is the stored one")
def step_returned_message(context):
    (stored,) = context.breakable.get_messages(context.stored.id)
    assert stored == context.returned, (stored, context.returned)


@then('the session holds exactly the messages "{contents}" at sequences {sequences}')
def step_holds_exactly(context, contents, sequences):
    messages = context.breakable.get_messages(context.stored.id)
    assert [m.content for m in messages] == contents.split(", "), messages
    assert [m.sequence for m in messages] == [int(s) for s in sequences.split(", ")], messages
    assert context.breakable.get(context.stored.id).message_count == len(messages)


@then("the returned batch is the stored one")
def step_returned_batch(context):
    stored = context.breakable.get_messages(context.stored.id)
    assert stored[-len(context.returned) :] == context.returned, (stored, context.returned)


@then("the session holds no messages")
def step_holds_none(context):
    context.breaker.remaining = 0
    assert context.breakable.get_messages(context.stored.id) == []
    assert context.breakable.get(context.stored.id).message_count == 0


@then("the session's token usage is {prompt:d} prompt and {completion:d} completion")
def step_token_usage(context, prompt, completion):
    session = context.breakable.get(context.stored.id)
    assert (session.prompt_tokens, session.completion_tokens) == (prompt, completion), session


@then("each session's token usage is {prompt:d} prompt and {completion:d} completion")
def step_each_token_usage(context, prompt, completion):
    for stored in (context.stored, context.second):
        session = context.breakable.get(stored.id)
        assert (session.prompt_tokens, session.completion_tokens) == (prompt, completion)


def _reuse_id(context):
    reused = context.stored.id
    service = PersistentSessionService(context.breakable_store, id_factory=lambda: reused)
    service.create("the same id again")


def _new_amounts(context):
    service = context.breakable
    service.update_token_usage(context.stored.id, prompt_tokens=1, idempotency_key="k")
    context.transactions = 0
    service.update_token_usage(context.stored.id, prompt_tokens=2, idempotency_key="k")


def _dropped_table(context):
    store = open_store(context.provision_database(), migrate=True)
    service = PersistentSessionService(store)
    context.scenario_stack.callback(service.close)
    session = service.create("damaged")
    with store.engine.begin() as connection:
        connection.execute(text("DROP TABLE session_file_events"))  # it refers to session_messages
        connection.execute(text("DROP TABLE session_messages"))

    def count(connection):
        context.transactions += 1

    event.listen(store.engine, "begin", count)
    context.transactions = 0
    service.append_message(session.id, "user", "nowhere to go")


def _unknown_role(context):
    context.breakable.append_message(context.stored.id, "narrator", "refused before I/O")


CALLS = {
    "creating a session with a reused id": _reuse_id,
    "repeating a token key with new amounts": _new_amounts,
    "appending to a dropped messages table": _dropped_table,
    "appending with a role that is unknown": _unknown_role,
}
ERRORS = {
    "an integrity error": DatabaseError,
    "a programming error": DatabaseError,
    "InvalidInputError": InvalidInputError,
}


@when("I count the transactions while {call} fails with {error}")
def step_count_failing(context, call, error):
    context.retry_log.messages.clear()
    context.transactions = 0
    attempt(context, lambda: CALLS[call](context))
    expected_error(context, ERRORS[error])
    assert context.retry_log.messages == [], context.retry_log.messages


@then("exactly {attempts:d} transaction(s) ran")
def step_transactions_ran(context, attempts):
    assert context.transactions == attempts, context.transactions


@then("the log shows retries on attempts {numbers}")
def step_retries_on(context, numbers):
    expected = [int(n) for n in numbers.split(", ")]
    logged = [m for m in context.retry_log.messages if "retrying the whole transaction" in m]
    assert [f"on attempt {n} " in m for n, m in zip(expected, logged, strict=True)], logged
    assert all(f"on attempt {n} " in m for n, m in zip(expected, logged, strict=True)), logged
