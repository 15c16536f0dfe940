"""Steps that look for a database password in everything the library shows.

Everything a scenario sees is recorded: every log record of every logger at DEBUG level (with
its traceback), every error raised (its message, repr, and the formatted chain of the errors it
was raised from), the repr and str of services, and the command line's stdout and stderr.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import traceback

from behave import given, then, when
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from agent_sessions import (
    AgentSessionsError,
    DatabaseError,
    InvalidInputError,
    RetryPolicy,
)
from agent_sessions.infrastructure.cli import main
from features.session_world import attempt, expected_error, no_error
from testsupport.databases import mariadb_server_url, postgres_server_url

PASSWORD_PARTS = ("s3cr3t", "P4ss")
SECRET_USER = "agent_sessions_secret"
_LOGGERS = ("", "sqlalchemy", "alembic", "agent_sessions", "psycopg", "pymysql")


class _Everything(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def _seen(context):
    """Return the list of every text the scenario has seen, recording logs from the first call."""
    if not hasattr(context, "secret_seen"):
        context.secret_seen = []
        handler = _Everything()
        context.secret_log = handler
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            previous = logger.level
            logger.addHandler(handler)
            logger.setLevel(logging.DEBUG)
            context.scenario_stack.callback(logger.setLevel, previous)
            context.scenario_stack.callback(logger.removeHandler, handler)
    return context.secret_seen


def _record_error(context):
    """Add every rendering of the error the last ``attempt`` kept to what the scenario saw."""
    error = expected_error(context, AgentSessionsError)
    _seen(context).extend(
        [str(error), repr(error), "".join(traceback.format_exception(error))]
        + [repr(argument) for argument in error.args]
    )


def _open(context, url, **options):
    _seen(context)
    service = attempt(context, lambda: context.open_service(url, **options))
    if context.error is not None:
        _record_error(context)
        return None
    _seen(context).extend([repr(service), str(service)])
    return service


def _needs_server(context):
    if context.backend == "sqlite":
        context.scenario.skip("a SQLite URL carries no password")
        return True
    return False


def _with_password(url, password):
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def _grant_secret_user(admin_url, password):
    """Create (or reset) a MariaDB user with ``password`` that may use the test databases."""
    engine = create_engine(make_url(admin_url).set(database=None))
    try:
        with engine.begin() as connection:
            for host in ("%", "localhost"):
                account = f"'{SECRET_USER}'@'{host}'"
                connection.execute(text(f"CREATE USER IF NOT EXISTS {account}"))
                connection.execute(text(f"ALTER USER {account} IDENTIFIED BY '{password}'"))
                connection.execute(
                    text(f"GRANT ALL PRIVILEGES ON `agent\\_sessions\\_test\\_%`.* TO {account}")
                )
    finally:
        engine.dispose()


def _secret_database(context, password):
    url = context.provision_database()
    context.secret_admin_url = url
    if context.backend == "mariadb":
        _grant_secret_user(url, password)
        return (
            make_url(url)
            .set(username=SECRET_USER, password=password)
            .render_as_string(hide_password=False)
        )
    return _with_password(url, password)


@given('an empty database reached with the password "{password}"')
def step_empty_secret_database(context, password):
    if _needs_server(context):
        return
    context.secret_url = _secret_database(context, password)
    _seen(context)  # from here on: the test's own set-up above showed the password to the server


@given('a migrated database reached with the password "{password}" and a session in it')
def step_migrated_secret_database(context, password):
    if _needs_server(context):
        return
    context.secret_url = _secret_database(context, password)
    service = _open(context, context.secret_url, migrate=True)
    no_error(context)
    context.secret_session = service.create("secret-keeper")


@given("another connection holds the lock on that session")
def step_hold_session_lock(context):
    engine = create_engine(context.secret_admin_url)
    connection = engine.connect()
    transaction = connection.begin()
    context.scenario_stack.callback(engine.dispose)
    context.scenario_stack.callback(connection.close)
    context.scenario_stack.callback(transaction.rollback)
    connection.execute(
        text("SELECT id FROM sessions WHERE id = :id FOR UPDATE"),
        {"id": context.secret_session.id},
    )


@given("a database server that checks passwords")
def step_server_checks_passwords(context):
    if _needs_server(context):
        return
    admin = postgres_server_url() if context.backend == "postgresql" else mariadb_server_url()
    probe = create_engine(_with_password(admin, "not-the-password"))
    try:
        with probe.connect():
            context.scenario.skip("this server accepts any password (trust authentication)")
    except OperationalError:
        context.secret_admin_url = admin
    finally:
        probe.dispose()


@when('I open a service on "{url}"')
def step_open_on(context, url):
    _open(context, url)


@when("I open a service on it")
def step_open_on_secret(context):
    _open(context, context.secret_url)


@when("I open a service on it with migrate")
def step_open_on_secret_migrating(context):
    context.secret_service = _open(context, context.secret_url, migrate=True)
    no_error(context)


@when('I open a service on it as its admin with the wrong password "{password}"')
def step_open_wrong_password(context, password):
    _open(context, _with_password(context.secret_admin_url, password))


@when("I record a session with {count:d} messages through it")
def step_record_through_secret(context, count):
    service = context.secret_service
    session = service.create("secret-keeper", metadata={"about": "passwords"})
    for number in range(1, count + 1):
        service.append_message(session.id, "user", f"message {number}", token_count=number)
    _seen(context).append(str(service.export_session(session.id)))


@when("I append a message with a lock timeout of 1 second and {attempts:d} attempts")
def step_append_under_lock(context, attempts):
    if context.backend == "postgresql":
        connect_args = {"options": "-c lock_timeout=1000"}
    else:
        connect_args = {"init_command": "SET SESSION innodb_lock_wait_timeout = 1"}
    policy = RetryPolicy(attempts=attempts, initial_wait=0.01, max_wait=0.05)
    service = _open(context, context.secret_url, retry_policy=policy, connect_args=connect_args)
    no_error(context)
    attempt(context, lambda: service.append_message(context.secret_session.id, "user", "blocked"))
    _record_error(context)


def _run_command(context, arguments):
    _seen(context)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = main(arguments)
        except SystemExit as exc:
            status = exc.code
    _seen(context).extend([stdout.getvalue(), stderr.getvalue()])
    return status, stdout.getvalue(), stderr.getvalue()


@when('I run agent-sessions with "{command_line}"')
def step_run_cli(context, command_line):
    context.secret_cli = _run_command(context, command_line.split())


@when("I run agent-sessions on it with each of {commands}")
def step_run_cli_each(context, commands):
    if not hasattr(context, "secret_url"):
        return
    context.secret_outputs = {}
    for command in re.findall(r'"([^"]+)"', commands):
        arguments = ["--url", context.secret_url, *command.split()]
        context.secret_outputs[command] = _run_command(context, arguments)


@then('opening fails with an error that shows the URL with "{mask}"')
def step_open_failed_masked(context, mask):
    error = expected_error(context, AgentSessionsError)
    assert mask in str(error), str(error)


@then("opening fails with an invalid input error about the url")
def step_open_failed_invalid_url(context):
    error = expected_error(context, InvalidInputError)
    assert error.argument == "url", str(error)


@then('the append fails with an error that shows the URL with "{mask}"')
def step_append_failed_masked(context, mask):
    error = expected_error(context, DatabaseError)
    assert mask in str(error), str(error)


@then("a retry was logged")
def step_retry_logged(context):
    retries = [line for line in context.secret_log.lines if line.startswith("agent_sessions.retry")]
    assert retries, "\n".join(context.secret_log.lines[-20:])


@then('the repr and str of the service show the URL with "{mask}"')
def step_service_repr_masked(context, mask):
    service = context.secret_service
    for shown in (repr(service), str(service)):
        assert mask in shown, shown
        assert make_url(context.secret_url).host in shown, shown


@then('the command fails with one line that shows the URL with "{mask}"')
def step_cli_failed_masked(context, mask):
    status, stdout, stderr = context.secret_cli
    assert status == 1, (status, stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert mask in lines[0], stderr


@then('the outputs of {commands} show the URL with "{mask}"')
def step_cli_outputs_masked(context, commands, mask):
    for command in re.findall(r'"([^"]+)"', commands):
        status, stdout, stderr = context.secret_outputs[command]
        assert mask in stdout + stderr, (command, status, stdout, stderr)


@then("no part of the password appears anywhere")
def step_password_nowhere(context):
    texts = [*_seen(context), *context.secret_log.lines]
    assert texts, "nothing was recorded"
    for part in PASSWORD_PARTS:
        leaks = [shown for shown in texts if part in shown]
        assert not leaks, f"{part!r} shown in:\n" + "\n---\n".join(leaks)
