"""Steps about the schema: migrating, checking, refusing and snapshots."""

from __future__ import annotations

import contextlib
import io
import shlex

from alembic.config import main as alembic_main
from behave import given, then, when
from sqlalchemy import create_engine, inspect, text

from agent_sessions import SchemaMismatchError
from agent_sessions.infrastructure.database import (
    create_database_engine,
    current_revision,
    diagnose,
    downgrade,
    head_revision,
    schema_differences,
    upgrade,
)
from agent_sessions.infrastructure.database.migration_history import script_states
from agent_sessions.infrastructure.database.migration_runner import script_directory
from features.session_world import attempt, expected_error
from testsupport.snapshots import (
    SAMPLE_CONTENTS,
    SAMPLE_SESSION_ID,
    insert_sample_rows,
    released_revisions,
    restore_snapshot,
)

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
    attempt(context, lambda: context.open_service(context.schema_url))


@when("I open a service on it with migrate=True")
def step_open_migrating(context):
    context.new_service = context.open_service(context.schema_url, migrate=True)


@then("the error says to upgrade the library, not the database")
def step_upgrade_library(context):
    message = str(expected_error(context, SchemaMismatchError))
    assert "pip install -U agent-sessions" in message, message
    assert "db upgrade" not in message, message


@then('the error names the expected revision "{revision}"')
def step_error_names_revision(context, revision):
    error = expected_error(context, SchemaMismatchError)
    assert error.expected == revision
    assert revision in str(error)


@then("the new service can store and read a session")
def step_new_service_works(context):
    created = context.new_service.create("schema-checker")
    assert context.new_service.get(created.id) == created


@given("every released schema snapshot of this backend, rebuilt with sample rows")
def step_rebuild_snapshots(context):
    revisions = released_revisions(context.backend)
    assert revisions, f"no stored snapshot for {context.backend}"
    context.snapshots = {}
    for revision in revisions:
        url = context.provision_database()
        restore_snapshot(revision, context.backend, url)
        insert_sample_rows(url)
        context.snapshots[revision] = url


@when("each is opened with migrate=True")
def step_open_snapshots(context):
    context.snapshot_services = {
        revision: context.open_service(url, migrate=True)
        for revision, url in context.snapshots.items()
    }


@then("each one's sample session still has its 3 messages, metadata and token usage")
def step_snapshot_rows(context):
    for revision, service in context.snapshot_services.items():
        session = service.get(SAMPLE_SESSION_ID)
        assert (session.prompt_tokens, session.completion_tokens) == (11, 2), revision
        assert session.metadata == {"release": "snapshot", "n": [1, 2.5, None]}, revision
        assert session.created_at.isoformat() == "2025-01-02T03:04:05.678901+00:00"
        messages = service.get_messages(SAMPLE_SESSION_ID)
        assert [m.content for m in messages] == list(SAMPLE_CONTENTS), revision
        assert [m.sequence for m in messages] == [1, 2, 3]
        appended = service.append_message(SAMPLE_SESSION_ID, "user", "after the upgrade")
        assert appended.sequence == 4, revision


@then("each one's drift report is clean and its schema equals a fresh build")
def step_snapshot_clean(context):
    fresh = _shape(context.database_url)
    for revision, url in context.snapshots.items():
        engine = create_database_engine(url)
        try:
            report = diagnose(engine)
        finally:
            engine.dispose()
        assert report.is_clean, f"{revision}: {report.render()}"
        assert _shape(url) == fresh, f"{revision}: {_shape(url)} != {fresh}"


def _shape(url):
    engine = create_database_engine(url)
    try:
        inspector = inspect(engine)
        return {
            table: sorted(
                (column["name"], str(column["type"]), bool(column["nullable"]))
                for column in inspector.get_columns(table)
            )
            for table in ("sessions", "session_messages")
        }
    finally:
        engine.dispose()


@when("every revision is applied, reverted and applied again, one at a time")
def step_stairway(context):
    engine = _engine(context)
    revisions = [state.revision for state in script_states(script_directory())]
    for revision in revisions:
        upgrade(engine, revision)
        downgrade(engine, "-1")
        upgrade(engine, revision)
        assert current_revision(engine) == revision


@then("the database is at the newest revision")
def step_newest(context):
    assert current_revision(_engine(context)) == head_revision()


@when('a developer runs "{command_line}"')
def step_developer_runs_alembic(context, command_line):
    url = getattr(context, "schema_url", "sqlite://")
    arguments = shlex.split(command_line.replace("{database}", url))
    assert arguments[0] == "alembic", arguments
    with contextlib.redirect_stdout(io.StringIO()):
        attempt(context, lambda: alembic_main(argv=arguments[1:]))


@then('Alembic stops with an error saying "{text_}"')
def step_alembic_error(context, text_):
    error = expected_error(context, RuntimeError)
    assert text_ in str(error), str(error)
