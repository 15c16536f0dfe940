"""Steps about retries, database failures and URLs."""

from __future__ import annotations

import ast
import logging
import sqlite3
import threading
from datetime import UTC, datetime

from behave import given, then, when
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import agent_sessions
from agent_sessions import DatabaseError, InvalidInputError, RetryPolicy, Session
from agent_sessions.domain.entities import MessageRole
from agent_sessions.infrastructure.database import (
    SessionMessageRepository,
    SessionRepository,
    SqlAlchemySessionStore,
    create_database_engine,
)
from features.session_world import attempt, expected_error
from testsupport.databases import provision_database


class _RetryLog(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _capture_retry_log(context):
    handler = _RetryLog()
    logger = logging.getLogger("agent_sessions.retry")
    logger.addHandler(handler)
    context.scenario_stack.callback(logger.removeHandler, handler)
    context.retry_log = handler


@given("a SQLite store that does not wait on locks by itself and retries up to {attempts:d} times")
def step_sqlite_store(context, attempts):
    url = context.scenario_stack.enter_context(provision_database("sqlite"))
    context.sqlite_file = make_url(url).database
    policy = RetryPolicy(attempts=attempts, total_seconds=20, initial_wait=0.01, max_wait=0.05)
    context.sqlite_service = context.open_service(
        url, migrate=True, retry_policy=policy, sqlite_busy_timeout_ms=0
    )
    context.sqlite_session = context.sqlite_service.create("lock-tester")
    _capture_retry_log(context)


def _hold_write_lock(context):
    blocker = sqlite3.connect(context.sqlite_file, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release():
        if not released.is_set():
            released.set()
            blocker.execute("COMMIT")
            blocker.close()

    context.scenario_stack.callback(release)
    return release


@given("another process holds the SQLite write lock and releases it shortly")
def step_lock_briefly(context):
    release = _hold_write_lock(context)
    timer = threading.Timer(0.3, release)
    timer.start()
    context.scenario_stack.callback(timer.join)


@given("another process holds the SQLite write lock until the scenario ends")
def step_lock_held(context):
    context.release_lock = _hold_write_lock(context)


@when("I append a message to the SQLite store's session")
def step_append_sqlite(context):
    context.sqlite_message = context.sqlite_service.append_message(
        context.sqlite_session.id, "user", "written despite the lock"
    )


@when("I try to append a message to the SQLite store's session")
def step_try_append_sqlite(context):
    attempt(
        context,
        lambda: context.sqlite_service.append_message(context.sqlite_session.id, "user", "blocked"),
    )


@then("the message is stored at sequence 1")
def step_stored_at_one(context):
    assert context.sqlite_message.sequence == 1
    messages = context.sqlite_service.get_messages(context.sqlite_session.id)
    assert [m.content for m in messages] == ["written despite the lock"]


@then("the log shows that the whole transaction was retried")
def step_log_retried(context):
    retries = [m for m in context.retry_log.messages if "retrying the whole transaction" in m]
    assert retries, context.retry_log.messages
    assert "on attempt 1" in retries[0], retries[0]


@then("the log shows no retry")
def step_log_no_retry(context):
    assert context.retry_log.messages == [], context.retry_log.messages


@then("after the lock is released the session still has no messages")
def step_no_messages_after_release(context):
    context.release_lock()
    assert context.sqlite_service.get_messages(context.sqlite_session.id) == []
    assert context.sqlite_service.get(context.sqlite_session.id).message_count == 0


@given("a separate migrated database whose session_messages table was dropped behind its back")
def step_damaged_database(context):
    context.damaged_url = context.provision_database()
    context.damaged_service = context.open_service(context.damaged_url, migrate=True)
    context.damaged_session = context.damaged_service.create("damaged")
    engine = create_engine(context.damaged_url)
    try:
        with engine.begin() as connection:
            # The file events table refers to the messages table, so it goes first.
            connection.execute(text("DROP TABLE session_file_events"))
            connection.execute(text("DROP TABLE session_messages"))
    finally:
        engine.dispose()
    _capture_retry_log(context)


@when("I try to append a message to a session in that database")
def step_append_damaged(context):
    attempt(
        context,
        lambda: context.damaged_service.append_message(context.damaged_session.id, "user", "lost?"),
    )


@then("it fails with a DatabaseError that names the database")
def step_error_names_database(context):
    error = expected_error(context, DatabaseError)
    database = make_url(context.damaged_url).database
    assert database in str(error), str(error)
    assert isinstance(error.__cause__, Exception)


@when('I open a service on the URL "{url}"')
def step_open_url(context, url):
    attempt(context, lambda: context.open_service(url))


@when('I open a service with the misspelt option "{name}" set to {value:d}')
def step_open_with_option(context, name, value):
    attempt(context, lambda: context.open_service(context.database_url, **{name: value}))


@when("I open a service on a URL given as the number {number:d}")
def step_open_number(context, number):
    attempt(context, lambda: context.open_service(number))


@when("I make a retry policy with {setting} set to {value}")
def step_make_policy(context, setting, value):
    attempt(context, lambda: RetryPolicy(**{setting: ast.literal_eval(value)}))


@then('opening fails with a {error_name:w} that hides the password "{password}"')
def step_hides_password(context, error_name, password):
    error = expected_error(context, getattr(agent_sessions, error_name))
    assert password not in str(error), str(error)
    assert "operator:***@127.0.0.1:1" in str(error), str(error)


@given("the session and message repositories bound to an engine of the database")
def step_repositories(context):
    engine = create_database_engine(context.database_url)
    context.scenario_stack.callback(engine.dispose)
    context.session_repository = SessionRepository(engine)
    context.message_repository = SessionMessageRepository(engine)


@when("I store a session and append two messages through them")
def step_store_through_repositories(context):
    now = datetime.now(UTC)
    context.repository_session = context.session_repository.create(
        Session(
            id="01JBX8Y5D2W7Q3M4N5P6R7S8T9",
            actor_name="repository-user",
            title=None,
            metadata={},
            prompt_tokens=0,
            completion_tokens=0,
            message_count=0,
            created_at=now,
            updated_at=now,
        )
    )
    message_ids = ("01JBX8Y5D2W7Q3M4N5P6R7S8V0", "01JBX8Y5D2W7Q3M4N5P6R7S8V1")
    for index, message_id in enumerate(message_ids):
        context.message_repository.append(
            context.repository_session.id,
            message_id=message_id,
            role=MessageRole.USER,
            content=f"through the repository {index + 1}",
            metadata={},
            token_count=None,
            created_at=now,
        )


@then("the session repository finds the session with message_count 2")
def step_repository_finds(context):
    found = context.session_repository.get_by_id(context.repository_session.id)
    assert found is not None and found.message_count == 2, found


@then("the message repository counts 2 messages and returns them in order")
def step_repository_counts(context):
    session_id = context.repository_session.id
    assert context.message_repository.count_for_session(session_id) == 2
    messages = context.message_repository.get_for_session(session_id)
    assert [m.sequence for m in messages] == [1, 2]
    assert messages[1].content == "through the repository 2"


@then("the session repository lists the session and deletes it")
def step_repository_lists_and_deletes(context):
    listed = context.session_repository.list_all(actor_name="repository-user")
    assert [s.id for s in listed] == [context.repository_session.id]
    assert context.session_repository.delete(context.repository_session.id) is True
    assert context.session_repository.get_by_id(context.repository_session.id) is None
    assert context.message_repository.count_for_session(context.repository_session.id) == 0


def _driver_error(driver, error):
    import re

    import psycopg
    import pymysql
    from psycopg import errors as pg_errors

    if driver == "psycopg":
        state = re.match(r"SQLSTATE (\w+)", error)
        if state is None:
            return psycopg.OperationalError("connection failed: Connection refused")
        return pg_errors.lookup(state.group(1))(error)
    if driver == "pymysql":
        number = int(re.match(r"error (\d+)", error).group(1))
        return pymysql.err.OperationalError(number, error)
    if driver == "sqlite3":
        exc = sqlite3.OperationalError(error.split("(")[-1].rstrip(")"))
        code = re.match(r"code (\d+)", error)
        if code is not None:
            exc.sqlite_errorcode = int(code.group(1))
        else:
            exc = sqlite3.OperationalError("database is locked")
        return exc
    if error == "InvalidInputError":
        return InvalidInputError("content", "is wrong")
    return TypeError("unsupported operand")


@when("the {driver} driver raises {error}")
def step_driver_raises(context, driver, error):
    from sqlalchemy.exc import DBAPIError

    from agent_sessions.infrastructure.database.retry import is_transient_error

    raised = _driver_error(driver, error)
    if driver != "python":
        raised = DBAPIError.instance("SELECT 1", {}, raised, type(raised))
    context.transient = is_transient_error(raised)
    context.driver_error = raised


@then("the library {verdict} the whole transaction")
def step_verdict(context, verdict):
    assert context.transient is (verdict == "retries"), (verdict, context.transient)


@then("past the retry bound the store raises {error_name}")
def step_store_raises(context, error_name):
    _capture_retry_log(context)
    policy = RetryPolicy(attempts=2, initial_wait=0, max_wait=0)
    engine = create_database_engine(context.database_url)
    store = SqlAlchemySessionStore(engine, retry_policy=policy)
    attempts = []

    def work(_unit_of_work):
        attempts.append(len(attempts) + 1)
        raise context.driver_error

    try:
        attempt(context, lambda: store.transaction(work, writes=False))
    finally:
        store.close()
    caught = expected_error(context, Exception)
    assert type(caught).__name__ == error_name, repr(caught)
    assert len(attempts) == (2 if context.transient else 1), attempts
