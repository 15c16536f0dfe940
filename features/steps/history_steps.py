"""Steps about the migration lock file, the ledger and refusals at open."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

from behave import given, then, when
from sqlalchemy import inspect, text

from agent_sessions import (
    MigrationHistoryError,
    SchemaDriftError,
)
from agent_sessions.infrastructure.database import create_database_engine, upgrade
from agent_sessions.infrastructure.database.migration_history import (
    MigrationLock,
    amend_lock,
    ledger_table,
    lock_problems,
    read_ledger,
    script_states,
    shipped_lock_path,
    source_sha256,
)
from agent_sessions.infrastructure.database.migration_runner import (
    head_revision,
    script_directory,
)
from features.session_world import attempt, expected_error, no_error
from testsupport.migration_fixtures import (
    add_revision,
    copy_packaged_migrations,
    edit_revision,
    lock_copy,
    remove_revision,
    revision_path,
)

SHIPPED_HEAD = head_revision()
"""The newest shipped revision: the copies' test revisions are added after it."""
EXTRA_UPGRADE = 'create_index_if_missing("ix_sessions_title", "sessions", ["title"])'
EXTRA_DOWNGRADE = 'op.drop_index("ix_sessions_title", table_name="sessions")'
RECONCILE_UPGRADE = """
add_column_if_missing("session_messages", sa.Column("token_count", sa.BigInteger(), nullable=True))
create_index_if_missing("ix_session_messages_session_id_sequence", "session_messages",
                        ["session_id", "sequence"], unique=True)
"""
HALF_WAY_UPGRADE = """
add_column_if_missing("sessions", sa.Column("half_way_note", sa.String(50), nullable=True))
op.execute("SELECT * FROM table_that_does_not_exist")
"""
HALF_WAY_DOWNGRADE = 'drop_column_if_exists("sessions", "half_way_note")'


def _engine(context):
    engine = create_database_engine(context.schema_url)
    context.scenario_stack.callback(engine.dispose)
    return engine


def _copy(context):
    folder = context.scenario_stack.enter_context(tempfile.TemporaryDirectory())
    return copy_packaged_migrations(Path(folder))


@then('the ledger records "{revision}" with the hash of its shipped source')
def step_ledger_records(context, revision):
    with _engine(context).connect() as connection:
        ledger = read_ledger(connection)
    assert ledger is not None, "the database has no ledger"
    (row,) = [row for row in ledger if row.revision == revision]
    shipped = _shipped_revision(revision)
    assert row.sha256 == source_sha256(shipped), (row.sha256, source_sha256(shipped))
    assert row.algorithm == "sha256-utf8-lf"
    assert row.applied_at.tzinfo is not None


def _shipped_revision(revision):
    return Path(script_directory().get_revision(revision).path)


@then("every shipped revision matches its lock entry, and the head hash is current")
def step_shipped_lock(context):
    lock = MigrationLock.read(shipped_lock_path())
    states = script_states(script_directory())
    problems = lock_problems(lock, states)
    assert problems == [], "\n".join(problems)
    assert lock.head == states[-1].revision


@given('a copy of the shipped migrations, locked, with a second revision "{revision}"')
def step_copy_with_extra(context, revision):
    context.copy = _copy(context)
    add_revision(context.copy, revision, SHIPPED_HEAD, EXTRA_UPGRADE, EXTRA_DOWNGRADE)
    lock_copy(context.copy, "0.2.0")


@given('a copy of the shipped migrations, locked, with a failing revision "{revision}"')
def step_copy_with_failing(context, revision):
    context.copy = _copy(context)
    add_revision(context.copy, revision, SHIPPED_HEAD, HALF_WAY_UPGRADE, HALF_WAY_DOWNGRADE)
    lock_copy(context.copy, "0.2.0")


@given("its lock file is damaged: {damage}")
def step_damage_lock(context, damage):
    path = context.copy.lock_path
    document = json.loads(path.read_text(encoding="utf-8"))
    if damage == "not JSON":
        path.write_text("{ not json", encoding="utf-8")
    elif damage == "another algorithm":
        document["algorithm"] = "md5"
        path.write_text(json.dumps(document), encoding="utf-8")
    elif damage == "a stale chain hash":
        document["chain_sha256"] = "f" * 64
        path.write_text(json.dumps(document), encoding="utf-8")
    else:
        path.unlink()


@when("a database is opened with the copy")
@when("a database is opened with the copy and {migrate}=True")
def step_open_with_copy(context, migrate=None):
    if not hasattr(context, "schema_url"):
        context.schema_url = context.provision_database()
    attempt(
        context,
        lambda: context.open_service(
            context.schema_url, migration_source=context.copy, migrate=migrate == "migrate"
        ),
    )


@when('I open a service on the run\'s database with on_drift="{policy}"')
def step_open_bad_policy(context, policy):
    attempt(context, lambda: context.open_service(context.database_url, on_drift=policy))


@given('a copy of the shipped migrations, locked, with a reconcile revision "{revision}"')
def step_copy_with_reconcile(context, revision):
    context.copy = _copy(context)
    add_revision(context.copy, revision, SHIPPED_HEAD, RECONCILE_UPGRADE, "pass")
    lock_copy(context.copy, "0.2.0")


@given("the database is upgraded with the copy")
@when("the database is upgraded with the copy")
def step_upgrade_with_copy(context):
    upgrade(_engine(context), source=context.copy)


@when('the database forgets that it applied "{revision}"')
def step_forget(context, revision):
    with _engine(context).begin() as connection:
        connection.execute(ledger_table.delete().where(ledger_table.c.revision == revision))
        connection.execute(
            text("UPDATE agent_sessions_alembic_version SET version_num = :parent"),
            {"parent": SHIPPED_HEAD},
        )


@then("a service opened with the copy reads and writes token counts")
def step_copy_service_works(context):
    service = context.open_service(context.schema_url, migration_source=context.copy)
    session = service.create("replayed")
    service.append_message(session.id, "user", "counted", token_count=7)
    assert service.get_messages(session.id)[0].token_count == 7


@given('revision "{revision}" is edited by one character')
@when('revision "{revision}" is edited by one character')
def step_edit_one_character(context, revision):
    path = revision_path(context.copy, revision)
    path.write_text(path.read_text(encoding="utf-8") + "#", encoding="utf-8")


@when('revision "{revision}" is removed')
def step_remove(context, revision):
    remove_revision(context.copy, revision)


@when('revision "{revision}" is re-parented onto nothing')
def step_reparent(context, revision):
    edit_revision(
        context.copy, revision, f"down_revision = {SHIPPED_HEAD!r}", "down_revision = None"
    )
    # a second base would be refused by Alembic; so 0001 is now the child of the new one
    edit_revision(
        context.copy,
        "0001_session_persistence",
        "down_revision: str | None = None",
        f"down_revision: str | None = {revision!r}",
    )


@when('a revision "{revision}" is added after "{parent}"')
def step_add_unlocked(context, revision, parent):
    add_revision(context.copy, revision, parent, "pass", "pass")


def _problems(context):
    return lock_problems(
        MigrationLock.read(context.copy.lock_path), script_states(script_directory(context.copy))
    )


@then('the lock check fails naming "{file}" and saying "{words}"')
def step_lock_fails(context, file, words):
    problems = _problems(context)
    assert any(file in line and words in line for line in problems), problems


@when('the edit is recorded as an amendment of "{revision}" with the reason "{reason}"')
@when('the edit is recorded as an amendment of "{revision}" with an empty reason')
def step_amend(context, revision, reason=""):

    def amend():
        lock = amend_lock(
            MigrationLock.read(context.copy.lock_path),
            script_states(script_directory(context.copy)),
            revision,
            reason,
            "0.2.1",
        )
        context.copy.lock_path.write_text(lock.to_json(), encoding="utf-8")

    attempt(context, amend)


@then("the lock check passes")
def step_lock_passes(context):
    assert _problems(context) == []


@then('the lock entry of "{revision}" keeps its first hash and the amendment with its reason')
def step_amendment_kept(context, revision):
    entry = MigrationLock.read(context.copy.lock_path).entry(revision)
    assert entry is not None
    assert entry.released_in == "0.2.0"
    (amendment,) = entry.amendments
    assert amendment["reason"] == "typo in a comment"
    assert amendment["amended_in"] == "0.2.1"
    assert amendment["sha256"] != entry.sha256
    assert amendment["sha256"] == source_sha256(revision_path(context.copy, revision))


@given('its ledger says "{revision}" was applied from another source')
def step_ledger_other_source(context, revision):
    with _engine(context).begin() as connection:
        connection.execute(
            ledger_table.update().where(ledger_table.c.revision == revision).values(sha256="0" * 64)
        )


@given('its ledger also records a revision "{revision}"')
def step_ledger_extra(context, revision):
    with _engine(context).connect() as connection:
        row = read_ledger(connection)[-1]
    with _engine(context).begin() as connection:
        connection.execute(
            ledger_table.insert().values(
                revision=revision,
                sha256="1" * 64,
                algorithm=row.algorithm,
                applied_at=row.applied_at,
                library_version="9.9.9",
            )
        )


@given("its ledger table was dropped")
def step_drop_ledger(context):
    with _engine(context).begin() as connection:
        ledger_table.drop(connection)


@then('opening fails with MigrationHistoryError for "{revision}" with both hashes')
def step_history_error(context, revision):
    error = expected_error(context, MigrationHistoryError)
    assert error.revision == revision
    shipped = source_sha256(_shipped_revision(revision))
    assert "0" * 64 in str(error) and shipped in str(error), str(error)


@then("the error tells how to fix it forward")
def step_fix_forward(context):
    message = str(expected_error(context, MigrationHistoryError))
    assert "new (reconcile) revision" in message, message
    assert "docs/how-to/write-a-migration.md" in message, message


def _shipped_revisions():
    return [entry.revision for entry in MigrationLock.read(shipped_lock_path()).entries]


@then(
    "the service opened, and the ledger holds the shipped revisions as adopted "
    'and "{applied}" as applied'
)
def step_adopted_and_applied(context, applied):
    no_error(context)
    with _engine(context).connect() as connection:
        versions = {row.revision: row.library_version for row in read_ledger(connection)}
    assert all(versions[revision] == "adopted" for revision in _shipped_revisions()), versions
    assert versions[applied] not in ("adopted", None), versions
    assert set(versions) == {*_shipped_revisions(), applied}, versions


@then("the ledger records every shipped revision as adopted")
def step_adopted(context):
    no_error(context)
    with _engine(context).connect() as connection:
        ledger = read_ledger(connection)
    assert ledger is not None
    recorded = [(row.revision, row.library_version) for row in ledger]
    assert recorded == [(revision, "adopted") for revision in _shipped_revisions()], recorded


@then('opening fails with SchemaDriftError naming "{target}"')
def step_drift_error(context, target):
    error = expected_error(context, SchemaDriftError)
    assert target in str(error), str(error)
    assert any(target in problem for problem in error.problems)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@when('I open a service on it with on_drift="{policy}"')
def step_open_with_policy(context, policy):
    records = _Records()
    logger = logging.getLogger("agent_sessions.schema")
    logger.addHandler(records)
    context.scenario_stack.callback(logger.removeHandler, records)
    context.drift_log = records
    context.policy_service = context.open_service(context.schema_url, on_drift=policy)


@then("the service opens, and the log {logged} the drift report")
def step_policy_opened(context, logged):
    assert context.policy_service.list() == []
    mentioned = any("session_messages.token_count" in m for m in context.drift_log.messages)
    assert mentioned == (logged == "holds"), context.drift_log.messages


@when("the database is upgraded with the copy, which fails")
def step_upgrade_copy_fails(context):
    attempt(context, lambda: upgrade(_engine(context), source=context.copy))
    expected_error(context, Exception)  # the driver's error for the missing table


@then("the failed revision's first step is rolled back where the engine's DDL is transactional")
def step_first_step(context):
    with _engine(context).connect() as connection:
        columns = {column["name"] for column in inspect(connection).get_columns("sessions")}
    if context.backend in ("sqlite", "postgresql"):
        assert "half_way_note" not in columns, "the half-applied revision left its column"
    else:  # MariaDB/MySQL commit DDL implicitly: the step stays, and is re-runnable
        assert "half_way_note" in columns


@when('the failing step is removed from "{revision}" and the copy is upgraded again')
def step_fix_and_rerun(context, revision):
    edit_revision(
        context.copy, revision, 'op.execute("SELECT * FROM table_that_does_not_exist")', ""
    )
    upgrade(_engine(context), source=context.copy)
