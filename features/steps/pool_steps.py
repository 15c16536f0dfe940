"""Steps about pinging pooled connections, with a stand-in for psycopg's connection."""

from __future__ import annotations

from typing import Any

import psycopg
from behave import given, then, when
from behave.runner import Context
from sqlalchemy.exc import DBAPIError

from agent_sessions.infrastructure.database import create_database_engine
from agent_sessions.infrastructure.database.retry import is_transient_error
from features.session_world import attempt

_ENDED = "terminating connection due to administrator command"


class _StandInCursor:
    def __init__(self, connection: _StandInConnection) -> None:
        self._connection = connection
        self.closed = False

    def execute(self, statement: str) -> None:
        connection = self._connection
        connection.executed.append((statement, connection.autocommit))
        if connection.ended_by_server:
            # psycopg still sees the statement in progress when the server ends the link.
            connection.active = True
            raise psycopg.OperationalError(_ENDED)

    def close(self) -> None:
        self.closed = True


class _StandInConnection:
    """Behaves as a psycopg connection does for a ping: autocommit cannot change mid-query."""

    def __init__(self, *, ended_by_server: bool, autocommit: bool) -> None:
        self.ended_by_server = ended_by_server
        self.active = False
        self.closed = False  # psycopg has not noticed yet that the server ended it
        self._autocommit = autocommit
        self.autocommit_changes: list[bool] = []
        self.executed: list[tuple[str, bool]] = []
        self.cursors: list[_StandInCursor] = []

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        if self.active:
            raise psycopg.ProgrammingError(
                "can't change 'autocommit' now: connection in transaction status ACTIVE"
            )
        self._autocommit = value
        self.autocommit_changes.append(value)

    def cursor(self) -> _StandInCursor:
        cursor = _StandInCursor(self)
        self.cursors.append(cursor)
        return cursor


@given('an engine for "{url}"')
def step_engine(context: Context, url: str) -> None:
    engine = create_database_engine(url)  # connects to nothing until it is used
    context.scenario_stack.callback(engine.dispose)
    context.ping_engine = engine


@given("a psycopg connection that the server ends during the ping")
def step_ended_connection(context: Context) -> None:
    context.stand_in = _StandInConnection(ended_by_server=True, autocommit=False)


@given("a healthy psycopg connection with autocommit {state}")
def step_healthy_connection(context: Context, state: str) -> None:
    on = {"on": True, "off": False}[state]
    context.stand_in = _StandInConnection(ended_by_server=False, autocommit=on)


@when("the engine pings it")
def step_ping(context: Context) -> None:
    attempt(context, lambda: context.ping_engine.dialect.do_ping(context.stand_in))


@then("the ping fails with the connection's OperationalError, not a ProgrammingError")
def step_ping_fails(context: Context) -> None:
    error = context.error
    assert isinstance(error, psycopg.OperationalError), f"the ping raised {error!r}"
    assert not isinstance(error, psycopg.ProgrammingError)
    assert _ENDED in str(error), str(error)


@then("the retry policy counts that error as transient")
def step_transient(context: Context) -> None:
    wrapped: Any = DBAPIError.instance(";", None, context.error, psycopg.Error)
    assert is_transient_error(wrapped), f"{wrapped!r} is not counted as transient"
    refused = psycopg.ProgrammingError("can't change 'autocommit' now")
    masked: Any = DBAPIError.instance(";", None, refused, psycopg.Error)
    assert not is_transient_error(masked), "the error that used to hide it would be retried too"


@then("the ping's cursor is closed")
def step_cursor_closed(context: Context) -> None:
    cursors = context.stand_in.cursors
    assert len(cursors) == 1 and cursors[0].closed, f"{len(cursors)} cursors, closed: {cursors}"


@then("the ping succeeds after one empty statement run in autocommit")
def step_ping_succeeds(context: Context) -> None:
    assert context.error is None, f"the ping raised {context.error!r}"
    assert context.result is True, f"the ping returned {context.result!r}"
    assert context.stand_in.executed == [(";", True)], context.stand_in.executed


@then("the connection's autocommit is off again")
def step_autocommit_off(context: Context) -> None:
    stand_in = context.stand_in
    assert stand_in.autocommit is False, "autocommit stayed on"
    assert stand_in.autocommit_changes == [True, False], stand_in.autocommit_changes


@then("the connection's autocommit was never changed")
def step_autocommit_untouched(context: Context) -> None:
    stand_in = context.stand_in
    assert stand_in.autocommit is True, "autocommit was turned off"
    assert stand_in.autocommit_changes == [], stand_in.autocommit_changes
