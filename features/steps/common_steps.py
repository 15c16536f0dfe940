"""Steps shared by every group: refused and failed calls, missing sessions, what is stored.

A step that expects a call to fail runs it through ``attempt`` (features/session_world.py),
which keeps the error in ``context.error``; the "Then the call fails with ..." and "Then the call
is refused with ..." steps below read it, as do the few steps that check more of an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from behave import then, when
from behave.runner import Context

import agent_sessions
from agent_sessions import SessionService
from features.session_world import attempt, expected_error, unknown_session_id

_ON_A_SESSION_THAT_DOES_NOT_EXIST: dict[str, Callable[[SessionService, str], Any]] = {
    "record a file event": lambda service, sid: service.record_file_event(
        sid, unknown_session_id(), "read", file_path="src/app.py"
    ),
    "list the file events": lambda service, sid: service.list_file_events(sid),
    "ask which files it touched": lambda service, sid: service.files_touched(sid),
    "fork a session": lambda service, sid: service.fork_session(sid),
    "read the lineage": lambda service, sid: service.lineage(sid),
    "rewind to 0": lambda service, sid: service.rewind(sid, 0),
    "undo a rewind": lambda service, sid: service.undo_rewind(sid),
    "list the rewinds": lambda service, sid: service.list_rewinds(sid),
    "compact its messages": lambda service, sid: service.compact(sid, 1, "a summary"),
    "list the compactions": lambda service, sid: service.list_compactions(sid),
    "read the context messages": lambda service, sid: service.context_messages(sid),
    "hold a session": lambda service, sid: service.set_hold(sid, "legal hold"),
    "release a hold": lambda service, sid: service.release_hold(sid),
}
"""What each "I try to ... for a session id that names nothing" step calls."""


@when("I try to {call} for a session id that names nothing")
def step_try_unknown_session(context: Context, call: str) -> None:
    method = _ON_A_SESSION_THAT_DOES_NOT_EXIST[call]
    missing = unknown_session_id()
    attempt(context, lambda: method(context.service, missing))


def _expected_error(context: Context, name: str) -> Exception:
    """The library error named ``name`` (one of the public errors) that the call raised."""
    error = expected_error(context, getattr(agent_sessions, name))
    assert isinstance(error, agent_sessions.AgentSessionsError)
    return error


@then('the call is refused with {name:w} naming "{argument}" saying "{text}"')
def step_refused_naming_saying(context: Context, name: str, argument: str, text: str) -> None:
    step_refused_naming(context, name, argument)
    step_error_mentions(context, text)


@then('the call is refused with {name:w} naming "{argument}"')
def step_refused_naming(context: Context, name: str, argument: str) -> None:
    error = _expected_error(context, name)
    assert isinstance(error, ValueError), f"{name} should also be a ValueError"
    assert getattr(error, "argument", None) == argument, (
        f"the error names {getattr(error, 'argument', None)!r}, not {argument!r}: {error}"
    )
    assert argument in str(error), f"the message does not name {argument!r}: {error}"


@then('the call fails with {name:w} saying "{text}"')
def step_call_fails_saying(context: Context, name: str, text: str) -> None:
    step_call_fails(context, name)
    step_error_mentions(context, text)


@then("the call fails with {name:w}")
def step_call_fails(context: Context, name: str) -> None:
    error = _expected_error(context, name)
    if name == "SessionNotFoundError":
        assert isinstance(error, LookupError), "SessionNotFoundError should be a LookupError"


@then('the error message mentions "{text}"')
def step_error_mentions(context: Context, text: str) -> None:
    error = expected_error(context, Exception)
    assert text in str(error), f"{text!r} not in the message: {error}"


@then("no session is stored")
def step_no_session_stored(context: Context) -> None:
    stored = context.service.list(limit=1000)
    assert stored == [], f"expected no session, found {len(stored)}"


@then("{count:d} session is stored")
@then("{count:d} sessions are stored")
def step_sessions_stored(context: Context, count: int) -> None:
    stored = context.service.list(limit=1000)
    assert len(stored) == count, f"expected {count} sessions, found {len(stored)}"
