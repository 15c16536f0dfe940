"""Steps shared by every group: refused calls, unknown sessions, what is stored."""

from __future__ import annotations

from behave import then, when
from behave.runner import Context

import agent_sessions
from features.session_world import attempt, unknown_session_id

_ON_UNKNOWN_SESSION = {
    "fetch": lambda service, sid: service.get(sid),
    "delete": lambda service, sid: service.delete(sid),
    "export": lambda service, sid: service.export_session(sid),
    "append a message to": lambda service, sid: service.append_message(sid, "user", "hello"),
    "read the messages of": lambda service, sid: service.get_messages(sid),
    "read the recent messages of": lambda service, sid: service.recent_messages(sid, 5),
    "record token usage of": lambda service, sid: service.update_token_usage(sid, prompt_tokens=1),
}


@when("I try to {action} a session that does not exist")
def step_try_on_unknown_session(context: Context, action: str) -> None:
    call = _ON_UNKNOWN_SESSION[action]
    missing = unknown_session_id()
    attempt(context, lambda: call(context.service, missing))


def _expected_error(context: Context, name: str) -> Exception:
    error_type = getattr(agent_sessions, name)
    assert context.error is not None, f"expected {name}, but the call succeeded"
    assert isinstance(context.error, error_type), (
        f"expected {name}, got {type(context.error).__name__}: {context.error}"
    )
    assert isinstance(context.error, agent_sessions.AgentSessionsError)
    return context.error


@then('the call is refused with {name:w} naming "{argument}"')
def step_refused_naming(context: Context, name: str, argument: str) -> None:
    error = _expected_error(context, name)
    assert isinstance(error, ValueError), f"{name} should also be a ValueError"
    assert getattr(error, "argument", None) == argument, (
        f"the error names {getattr(error, 'argument', None)!r}, not {argument!r}: {error}"
    )
    assert argument in str(error), f"the message does not name {argument!r}: {error}"


@then("the call fails with {name:w}")
def step_call_fails(context: Context, name: str) -> None:
    error = _expected_error(context, name)
    if name == "SessionNotFoundError":
        assert isinstance(error, LookupError), "SessionNotFoundError should be a LookupError"


@then('the error message mentions "{text}"')
def step_error_mentions(context: Context, text: str) -> None:
    assert context.error is not None, "the call succeeded"
    assert text in str(context.error), f"{text!r} not in the message: {context.error}"


@then("no session is stored")
def step_no_session_stored(context: Context) -> None:
    stored = context.service.list(limit=1000)
    assert stored == [], f"expected no session, found {len(stored)}"


@then("{count:d} session is stored")
@then("{count:d} sessions are stored")
def step_sessions_stored(context: Context, count: int) -> None:
    stored = context.service.list(limit=1000)
    assert len(stored) == count, f"expected {count} sessions, found {len(stored)}"
