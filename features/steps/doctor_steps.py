"""Steps of the schema drift doctor: break a database's schema behind the library's back."""

from __future__ import annotations

import json

from alembic.migration import MigrationContext
from alembic.operations import Operations
from behave import given, then, when
from behave.runner import Context
from sqlalchemy import text

from agent_sessions import PersistentSessionService
from agent_sessions.domain.errors import SchemaDriftError
from agent_sessions.infrastructure.database import (
    DriftFinding,
    create_database_engine,
    diagnose,
    upgrade,
)
from agent_sessions.infrastructure.database.schema_doctor import raise_for_drift


def _doctor_url(context: Context) -> str:
    return str(getattr(context, "cli_url", context.database_url))


def _execute(context: Context, *statements: str) -> None:
    engine = create_database_engine(_doctor_url(context))
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def _split(target: str) -> tuple[str, str | None]:
    table, _, name = target.partition(".")
    return table, name or None


def _finding(context: Context, severity: str, kind: str, target: str) -> DriftFinding:
    table, name = _split(target)
    matches = [
        finding
        for finding in context.drift_report.findings
        if (finding.severity, finding.kind, finding.table, finding.name)
        == (severity, kind, table, name)
    ]
    assert matches, context.drift_report.render()
    finding: DriftFinding = matches[0]
    return finding


@given("a freshly migrated database")
def step_freshly_migrated(context: Context) -> None:
    # The scenario's own database, so that breaking it leaves the run's database intact;
    # the command-line steps and the index step of cli_steps.py act on it too.
    context.cli_url = context.provision_database()
    engine = create_database_engine(context.cli_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@given('the column "{target}" was dropped behind the library\'s back')
def step_drop_column(context: Context, target: str) -> None:
    table, column = _split(target)
    _execute(context, f"ALTER TABLE {table} DROP COLUMN {column}")


@given('someone added the nullable column "{target}"')
def step_add_nullable_column(context: Context, target: str) -> None:
    table, column = _split(target)
    _execute(context, f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR(50)")


@given('someone added the NOT NULL column "{target}" without a default')
def step_add_not_null_column(context: Context, target: str) -> None:
    table, column = _split(target)
    _execute(context, f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR(50) NOT NULL")


@given('the host application created its own table "{table}" in it')
def step_host_table(context: Context, table: str) -> None:
    _execute(
        context,
        f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, note VARCHAR(20) NOT NULL)",
        f"CREATE INDEX ix_{table}_note ON {table} (note)",
    )


@given('the column "{target}" was replaced by one of type "{column_type}"')
def step_replace_column(context: Context, target: str, column_type: str) -> None:
    table, column = _split(target)
    _execute(
        context,
        f"ALTER TABLE {table} DROP COLUMN {column}",
        f"ALTER TABLE {table} ADD COLUMN {column} {column_type}",
    )


@given('the table "{table}" was dropped behind the library\'s back')
def step_drop_table(context: Context, table: str) -> None:
    if table == "session_messages":
        # The file events table refers to the messages table, so it goes first.
        _execute(context, "DROP TABLE session_file_events")
    _execute(context, f"DROP TABLE {table}")


@given('the CHECK constraint "{name}" of "{table}" was dropped')
def step_drop_check(context: Context, name: str, table: str) -> None:
    _drop_constraint(context, name, table, "check")


@given('the foreign key "{name}" of "{table}" was dropped')
def step_drop_foreign_key(context: Context, name: str, table: str) -> None:
    _drop_constraint(context, name, table, "foreignkey")


def _drop_constraint(context: Context, name: str, table: str, kind: str) -> None:
    engine = create_database_engine(_doctor_url(context))
    try:
        with engine.begin() as connection:
            operations = Operations(MigrationContext.configure(connection))
            if connection.dialect.name == "sqlite":  # SQLite rebuilds the table to do it
                with operations.batch_alter_table(table) as batch:
                    batch.drop_constraint(name, type_=kind)
            else:
                operations.drop_constraint(name, table, type_=kind)
    finally:
        engine.dispose()


@given('the column "{target}" was made plain JSON where the backend has JSONB')
def step_plain_json(context: Context, target: str) -> None:
    table, column = _split(target)
    if context.backend == "postgresql":
        _execute(context, f"ALTER TABLE {table} ALTER COLUMN {column} TYPE JSON")


@when("the doctor examines it")
def step_examine(context: Context) -> None:
    engine = create_database_engine(_doctor_url(context))
    try:
        context.drift_report = diagnose(engine)
    finally:
        engine.dispose()


@then("the doctor reports no drift at all")
def step_no_drift(context: Context) -> None:
    report = context.drift_report
    assert report.is_clean and not report.has_fatal, report.render()
    assert report.render() == "schema OK: no drift between the models and the database"
    assert report.to_dict() == {"clean": True, "fatal": [], "warnings": []}


@then('the doctor reports a {severity:w} "{kind}" for "{target}"')
def step_reports(context: Context, severity: str, kind: str, target: str) -> None:
    finding = _finding(context, severity, kind, target)
    assert f"{severity.upper()}: {target} ({kind})" in context.drift_report.render()
    assert finding.detail.endswith("."), finding.detail


@then('on PostgreSQL only the doctor warns "{kind}" for "{target}"')
def step_postgresql_only(context: Context, kind: str, target: str) -> None:
    if context.backend == "postgresql":
        finding = _finding(context, "warning", kind, target)
        assert context.drift_report.findings == (finding,), context.drift_report.render()
    else:
        assert context.drift_report.is_clean, context.drift_report.render()


@then("the doctor reports nothing fatal")
def step_nothing_fatal(context: Context) -> None:
    report = context.drift_report
    assert not report.has_fatal and report.warnings and not report.is_clean, report.render()
    assert json.loads(json.dumps(report.to_dict()))["fatal"] == []


@then('raising for the drift fails with SchemaDriftError naming "{target}"')
def step_raise_for_drift(context: Context, target: str) -> None:
    try:
        raise_for_drift(context.drift_report, _doctor_url(context))
    except SchemaDriftError as exc:
        message = str(exc)
        assert target in message and "agent-sessions db doctor" in message, message
        assert "agent-sessions db upgrade" in message, message
        assert len(exc.problems) == len(context.drift_report.fatal), exc.problems
        assert any(target in problem for problem in exc.problems), exc.problems
    else:
        raise AssertionError("raise_for_drift did not raise")


@then("the store opens on it")
def step_store_opens(context: Context) -> None:
    with PersistentSessionService.from_url(_doctor_url(context)) as service:
        assert service.list(limit=1) == [], "the freshly migrated database holds no session"


@then('the printed report shows "{text_}"')
def step_printed_report(context: Context, text_: str) -> None:
    assert text_ in context.cli_stdout, context.cli_stdout


@then("the command exits with status {status:d} and a JSON report")
def step_status_and_json(context: Context, status: int) -> None:
    assert context.cli_status == status, (context.cli_status, context.cli_stderr)
    context.json_report = json.loads(context.cli_stdout)


@then("the JSON report is clean with no fatal finding and no warning")
def step_json_clean(context: Context) -> None:
    assert json.loads(context.cli_stdout) == {"clean": True, "fatal": [], "warnings": []}


@then('the JSON report lists the fatal "{kind}" for "{target}"')
def step_json_fatal(context: Context, kind: str, target: str) -> None:
    table, name = _split(target)
    report = json.loads(context.cli_stdout)
    assert report["clean"] is False, report
    assert any(
        (item["severity"], item["kind"], item["table"], item["name"])
        == ("fatal", kind, table, name)
        for item in report["fatal"]
    ), report
