"""Steps about the schema: migrating, checking, refusing and snapshots."""

from __future__ import annotations

import contextlib
import io
import shlex
import tempfile
from pathlib import Path

from alembic.config import main as alembic_main
from behave import given, then, when
from sqlalchemy import create_engine, inspect, text

from agent_sessions import AgentSessionsError, SchemaMismatchError
from agent_sessions.infrastructure.database import (
    current_revision,
    downgrade,
    schema_differences,
    upgrade,
)
from testsupport.snapshots import restore_snapshot

LIBRARY_TABLES = {
    "sessions",
    "session_messages",
    "agent_sessions_alembic_version",
    "agent_sessions_migration_ledger",
}


def _engine(context):
    engine = create_engine(context.schema_url)
    context.scenario_stack.callback(engine.dispose)
    return engine


@given("an empty database")
def step_empty_database(context):
    # The scenario's own database; the doctor and command-line steps act on it too.
    context.schema_url = context.cli_url = context.provision_database()


@given("the database is upgraded to the newest migration")
@when("the database is upgraded to the newest migration")
def step_upgrade(context):
    upgrade(_engine(context))


@when('the database is downgraded to "{revision}"')
def step_downgrade(context, revision):
    downgrade(_engine(context), revision)


@given('the database\'s revision is recorded as "{revision}"')
def step_record_revision(context, revision):
    with _engine(context).begin() as connection:
        connection.execute(
            text("UPDATE agent_sessions_alembic_version SET version_num = :revision"),
            {"revision": revision},
        )


@given('the host application has a table "{table}" and its own alembic_version "{revision}"')
def step_host_tables(context, table, revision):
    with _engine(context).begin() as connection:
        connection.execute(text(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)"))
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        connection.execute(
            text("INSERT INTO alembic_version (version_num) VALUES (:revision)"),
            {"revision": revision},
        )


@then('the database is at revision "{revision}"')
def step_at_revision(context, revision):
    assert current_revision(_engine(context)) == revision


@then("the live schema has no difference from the models")
def step_no_difference(context):
    differences = schema_differences(_engine(context))
    assert differences == [], f"schema differs from the models: {differences}"


@then("the database has none of the library's tables")
def step_no_library_tables(context):
    tables = set(inspect(_engine(context)).get_table_names())
    assert not tables & LIBRARY_TABLES, f"library tables left: {tables & LIBRARY_TABLES}"


@then('the host table "{table}" still exists')
def step_host_table_exists(context, table):
    assert table in inspect(_engine(context)).get_table_names()


@then('the host\'s alembic_version still says "{revision}"')
def step_host_alembic_version(context, revision):
    with _engine(context).connect() as connection:
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert found == [revision], found


@when("I open a service on it without migrating")
def step_open_without_migrating(context):
    context.open_error = None
    try:
        context.open_service(context.schema_url)
    except AgentSessionsError as exc:
        context.open_error = exc


@when("I open a service on it with migrate=True")
def step_open_migrating(context):
    context.new_service = context.open_service(context.schema_url, migrate=True)


@then('opening fails with SchemaMismatchError mentioning "{text_}"')
def step_open_failed(context, text_):
    assert isinstance(context.open_error, SchemaMismatchError), repr(context.open_error)
    assert text_ in str(context.open_error), str(context.open_error)


@then("the error says to upgrade the library, not the database")
def step_upgrade_library(context):
    message = str(context.open_error)
    assert "pip install -U agent-sessions" in message, message
    assert "db upgrade" not in message, message


@then('the error names the expected revision "{revision}"')
def step_error_names_revision(context, revision):
    assert context.open_error.expected == revision
    assert revision in str(context.open_error)


@then("the new service can store and read a session")
def step_new_service_works(context):
    created = context.new_service.create("schema-checker")
    assert context.new_service.get(created.id) == created


@given('a SQLite database restored from the stored snapshot of "{revision}"')
def step_restore_snapshot(context, revision):
    folder = context.scenario_stack.enter_context(
        tempfile.TemporaryDirectory(prefix="agent-sessions-snapshot-")
    )
    database = Path(folder) / "snapshot.db"
    restore_snapshot(revision, database)
    context.snapshot_url = f"sqlite:///{database}"


@when("I open a service on the snapshot with migrate=True")
def step_open_snapshot(context):
    context.snapshot_service = context.open_service(context.snapshot_url, migrate=True)


@then('the snapshot\'s session of "{actor}" still has its {count:d} messages in order')
def step_snapshot_messages(context, actor, count):
    sessions = context.snapshot_service.list(actor_name=actor)
    assert len(sessions) == 1, sessions
    context.snapshot_session = sessions[0]
    messages = context.snapshot_service.get_messages(sessions[0].id)
    assert [message.sequence for message in messages] == list(range(1, count + 1))
    assert messages[1].content == "Grüße aus Köln 👋 — 你好"
    assert all(message.created_at.tzinfo is not None for message in messages)


@then("its token usage is still {prompt:d} prompt and {completion:d} completion tokens")
def step_snapshot_tokens(context, prompt, completion):
    session = context.snapshot_session
    assert (session.prompt_tokens, session.completion_tokens) == (prompt, completion)


@when('a developer runs "{command_line}"')
def step_developer_runs_alembic(context, command_line):
    url = getattr(context, "schema_url", "sqlite://")
    arguments = shlex.split(command_line.replace("{database}", url))
    assert arguments[0] == "alembic", arguments
    context.alembic_error = None
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            alembic_main(argv=arguments[1:])
        except RuntimeError as exc:
            context.alembic_error = exc


@then('Alembic stops with an error saying "{text_}"')
def step_alembic_error(context, text_):
    assert context.alembic_error is not None, "alembic did not stop"
    assert text_ in str(context.alembic_error), str(context.alembic_error)
