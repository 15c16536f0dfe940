"""Steps about popping a session's newest message: what it removes, returns and leaves."""

from __future__ import annotations

import threading
from datetime import timedelta

from behave import given, then, when
from behave.runner import Context

from agent_sessions import PersistentSessionService, SessionMessage
from agent_sessions.infrastructure.database import open_store
from features.session_world import (
    attempt,
    sample_value,
)

_CLOCK_SIDES = {"after": timedelta(minutes=1), "before": timedelta(minutes=-1)}

# --- the world --------------------------------------------------------------------------------


@given("a service on the same database whose clock reads a minute {side} the session's last update")
def step_service_with_clock(context: Context, side: str) -> None:
    last_update = context.service.get(context.session.id).updated_at
    moment = last_update + _CLOCK_SIDES[side]
    service = PersistentSessionService(
        open_store(context.database_url, on_drift="off"), clock=lambda: moment
    )
    context.scenario_stack.callback(service.close)
    context.clocked_service = service
    context.clock_moment = moment
    context.updated_before = last_update


# --- popping ----------------------------------------------------------------------------------


def _pop(context: Context, service: PersistentSessionService) -> None:
    context.before_pop = context.service.get_messages(context.session.id)
    context.popped = service.pop_message(context.session.id)


@when("I pop a message from the session")
def step_pop(context: Context) -> None:
    _pop(context, context.service)


@when("that service pops a message from the session")
def step_pop_through_clocked(context: Context) -> None:
    _pop(context, context.clocked_service)


@when("I pop a message from the session {times:d} times")
def step_pop_times(context: Context, times: int) -> None:
    context.pops = [context.service.pop_message(context.session.id) for _ in range(times)]


@when("I try to pop a message from the session")
def step_try_pop(context: Context) -> None:
    session_id = context.session.id
    attempt(context, lambda: context.service.pop_message(session_id))


@when("I try to pop a message with session_id set to {value}")
def step_try_pop_with(context: Context, value: str) -> None:
    given_id = sample_value(value)
    attempt(context, lambda: context.service.pop_message(given_id))


@when("I pop a message from it")
def step_pop_breakable(context: Context) -> None:
    context.returned = context.breakable.pop_message(context.stored.id)


@when('I append the message "{content}" to the session')
def step_append_one(context: Context, content: str) -> None:
    context.new_message = context.service.append_message(context.session.id, "user", content)


# --- popping and appending from several threads -----------------------------------------------


@when(
    "{appenders:d} threads each append {appends:d} messages while {poppers:d} threads each pop "
    "{pops:d}, all at once"
)
def step_pop_and_append_concurrently(
    context: Context, appenders: int, appends: int, poppers: int, pops: int
) -> None:
    session_id = context.session.id
    context.before_pop = context.service.get_messages(session_id)
    start = threading.Barrier(appenders + poppers)
    appended: list[SessionMessage] = []
    popped: list[SessionMessage | None] = []
    errors: list[BaseException] = []

    def append_all(thread: int) -> None:
        try:
            start.wait()
            for number in range(appends):
                appended.append(
                    context.service.append_message(session_id, "user", f"{thread}:{number}")
                )
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    def pop_all() -> None:
        try:
            start.wait()
            for _ in range(pops):
                popped.append(context.service.pop_message(session_id))
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    workers = [threading.Thread(target=append_all, args=(t,)) for t in range(appenders)]
    workers += [threading.Thread(target=pop_all) for _ in range(poppers)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors
    assert len(appended) == appenders * appends, len(appended)
    assert len(popped) == poppers * pops, len(popped)
    context.appended_concurrently = appended
    context.popped_concurrently = popped


# --- what the pops returned -------------------------------------------------------------------


@then('the pop returned "{content}", which was at sequence {sequence:d}')
def step_pop_returned(context: Context, content: str, sequence: int) -> None:
    returned = context.returned
    assert returned is not None, "the pop returned None"
    assert (returned.content, returned.sequence) == (content, sequence), returned
    assert returned.session_id == context.stored.id, returned.session_id


@then("every pop returned a different message")
def step_pops_distinct(context: Context) -> None:
    ids = [message.id for message in context.popped_concurrently if message is not None]
    assert len(ids) == len(context.popped_concurrently), "a pop returned None"
    assert len(set(ids)) == len(ids), "a message was popped twice"


# --- what the session holds afterwards --------------------------------------------------------


@then("the session's updated_at is that service's time")
def step_updated_at_clock(context: Context) -> None:
    updated_at = context.service.get(context.session.id).updated_at
    assert updated_at == context.clock_moment, (updated_at, context.clock_moment)


@then("the session's updated_at is unchanged")
def step_updated_at_unchanged(context: Context) -> None:
    updated_at = context.service.get(context.session.id).updated_at
    assert updated_at == context.updated_before, (updated_at, context.updated_before)


@then("the session's token usage is still {prompt:d} prompt and {completion:d} completion")
def step_tokens_still(context: Context, prompt: int, completion: int) -> None:
    session = context.service.get(context.session.id)
    assert (session.prompt_tokens, session.completion_tokens) == (prompt, completion), session


@then("the session is exactly as it was")
def step_session_as_it_was(context: Context) -> None:
    assert context.service.get(context.session.id) == context.session


@then("its messages have the sequences 1 to {last:d} and are those appended, less those popped")
def step_appended_less_popped(context: Context, last: int) -> None:
    stored = context.service.get_messages(context.session.id)
    assert [message.sequence for message in stored] == list(range(1, last + 1)), [
        message.sequence for message in stored
    ]
    written = {m.id: m.content for m in context.before_pop + context.appended_concurrently}
    popped = {message.id for message in context.popped_concurrently if message is not None}
    assert popped <= written.keys(), "a pop returned a message that was never written"
    expected = sorted(content for key, content in written.items() if key not in popped)
    assert sorted(message.content for message in stored) == expected, "the contents differ"
    assert not popped & {message.id for message in stored}, "a popped message is still stored"
    assert context.service.verify(context.session.id).ok
