"""Steps about the reconcile helpers: each helper on a freshly migrated database, twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from behave import given, then, when
from behave.runner import Context

from agent_sessions.infrastructure.database import (
    add_column_if_missing,
    create_database_engine,
    create_index_if_missing,
    drop_column_if_exists,
    drop_index_if_exists,
    upgrade,
)
from features.session_world import attempt, expected_error, no_error

_TYPES: dict[str, Callable[[], sa.types.TypeEngine[Any]]] = {
    "VARCHAR(16)": lambda: sa.String(16),
    "VARCHAR(64)": lambda: sa.String(64),
    "BIGINT": sa.BigInteger,
}

_ON_MISSING_TABLE: dict[str, Callable[[str, Operations], bool]] = {
    "add_column_if_missing": lambda table, ops: add_column_if_missing(
        table, sa.Column("tags", sa.String(64), nullable=True), operations=ops
    ),
    "drop_column_if_exists": lambda table, ops: drop_column_if_exists(
        table, "tags", operations=ops
    ),
    "create_index_if_missing": lambda table, ops: create_index_if_missing(
        f"ix_{table}_tags", table, ["tags"], operations=ops
    ),
    "drop_index_if_exists": lambda table, ops: drop_index_if_exists(
        f"ix_{table}_tags", table, operations=ops
    ),
}


def _columns(names: str) -> list[str]:
    return [name.strip() for name in names.split(",")]


def _apply(context: Context, helper: Callable[[Operations], bool]) -> None:
    """Run ``helper`` on Alembic operations bound to one transaction; keep result or error."""

    def run() -> bool:
        with context.reconcile_engine.begin() as connection:
            return helper(Operations(MigrationContext.configure(connection)))

    context.changed = attempt(context, run)


def _inspector(context: Context) -> sa.Inspector:
    return sa.inspect(context.reconcile_engine)


def _column(context: Context, table: str, name: str) -> dict[str, Any] | None:
    for column in _inspector(context).get_columns(table):
        if column["name"] == name:
            return dict(column)
    return None


def _stored_value(context: Context, column: str) -> Any:
    with context.reconcile_engine.connect() as connection:
        return connection.execute(
            sa.text(f"SELECT {column} FROM sessions WHERE id = :id"),
            {"id": context.reconciled_session.id},
        ).scalar_one()


@given("a freshly migrated database to reconcile")
def step_fresh_database(context: Context) -> None:
    context.reconcile_url = context.provision_database()
    engine = create_database_engine(context.reconcile_url)
    context.scenario_stack.callback(engine.dispose)
    upgrade(engine)
    context.reconcile_engine = engine


@given('a session of actor "{actor}" stored in it')
def step_stored_session(context: Context, actor: str) -> None:
    context.reconciled_session = context.open_service(context.reconcile_url).create(actor)


@given('the helper added a nullable {type_name} column "{name}" to "{table}"')
@when('the helper adds a nullable {type_name} column "{name}" to "{table}"')
@when('the helper adds a nullable {type_name} column "{name}" to "{table}" again')
def step_add_nullable_column(context: Context, type_name: str, name: str, table: str) -> None:
    column = sa.Column(name, _TYPES[type_name](), nullable=True)
    _apply(context, lambda ops: add_column_if_missing(table, column, operations=ops))


@when('the helper adds a not-null {type_name} column "{name}" to "{table}" without a default')
def step_add_not_null_column(context: Context, type_name: str, name: str, table: str) -> None:
    column = sa.Column(name, _TYPES[type_name](), nullable=False)
    _apply(context, lambda ops: add_column_if_missing(table, column, operations=ops))


@when(
    'the helper adds a not-null {type_name} column "{name}" to "{table}" '
    'with the default "{default}"'
)
def step_add_defaulted_column(
    context: Context, type_name: str, name: str, table: str, default: str
) -> None:
    column = sa.Column(name, _TYPES[type_name](), nullable=False, server_default=default)
    _apply(context, lambda ops: add_column_if_missing(table, column, operations=ops))


@when('the helper drops the column "{name}" of "{table}"')
@when('the helper drops the column "{name}" of "{table}" again')
def step_drop_column(context: Context, name: str, table: str) -> None:
    _apply(context, lambda ops: drop_column_if_exists(table, name, operations=ops))


@given('the helper created the {kind} index "{index}" on "{table}" ({columns})')
@when('the helper creates the {kind} index "{index}" on "{table}" ({columns})')
@when('the helper creates the {kind} index "{index}" on "{table}" ({columns}) again')
def step_create_index(context: Context, kind: str, index: str, table: str, columns: str) -> None:
    unique = kind == "unique"
    _apply(
        context,
        lambda ops: create_index_if_missing(
            index, table, _columns(columns), unique=unique, operations=ops
        ),
    )


@when('the helper drops the index "{index}" of "{table}"')
@when('the helper drops the index "{index}" of "{table}" again')
def step_drop_index(context: Context, index: str, table: str) -> None:
    _apply(context, lambda ops: drop_index_if_exists(index, table, operations=ops))


@when('the helper {helper} is used on the table "{table}"')
def step_helper_on_missing_table(context: Context, helper: str, table: str) -> None:
    call = _ON_MISSING_TABLE[helper]
    _apply(context, lambda ops: call(table, ops))


@then("the helper reports a change")
def step_reports_change(context: Context) -> None:
    no_error(context)
    assert context.changed is True, f"expected a change, the helper returned {context.changed}"


@then("the helper reports no change")
def step_reports_no_change(context: Context) -> None:
    no_error(context)
    assert context.changed is False, f"expected no change, the helper returned {context.changed}"


@then('the helper fails with {error_name:w} mentioning "{text}"')
def step_helper_fails(context: Context, error_name: str, text: str) -> None:
    error = expected_error(context, Exception)
    assert type(error).__name__ == error_name, f"expected {error_name}, got {error!r}"
    assert text in str(error), f"{text!r} not in {str(error)!r}"


@then('"{table}" has a nullable {type_name} column "{name}"')
def step_has_column(context: Context, table: str, type_name: str, name: str) -> None:
    column = _column(context, table, name)
    assert column is not None, f"{table} has no column {name}"
    assert column["nullable"], f"{table}.{name} is NOT NULL"
    expected = _TYPES[type_name]()
    reflected = column["type"]
    assert isinstance(reflected, type(expected)), f"{table}.{name} is {reflected!r}"
    if isinstance(expected, sa.String):
        assert reflected.length == expected.length, f"{table}.{name} is {reflected!r}"


@then('"{table}" has no column "{name}"')
def step_has_no_column(context: Context, table: str, name: str) -> None:
    assert _column(context, table, name) is None, f"{table} still has the column {name}"


@then('the session stored before reads no "{column}"')
def step_stored_reads_null(context: Context, column: str) -> None:
    assert _stored_value(context, column) is None


@then('the session stored before reads "{value}" in "{column}"')
def step_stored_reads_value(context: Context, value: str, column: str) -> None:
    assert _stored_value(context, column) == value


@then('"{table}" has the {kind} index "{index}" on ({columns})')
def step_has_index(context: Context, table: str, kind: str, index: str, columns: str) -> None:
    indexes = {found["name"]: found for found in _inspector(context).get_indexes(table)}
    assert index in indexes, f"{table} has no index {index}: {sorted(map(str, indexes))}"
    assert indexes[index]["column_names"] == _columns(columns), indexes[index]
    assert bool(indexes[index]["unique"]) == (kind == "unique"), indexes[index]


@then('"{table}" has no index "{index}"')
def step_has_no_index(context: Context, table: str, index: str) -> None:
    names = {found["name"] for found in _inspector(context).get_indexes(table)}
    assert index not in names, f"{table} still has the index {index}"


@then('the database has no table "{table}"')
def step_has_no_table(context: Context, table: str) -> None:
    assert not _inspector(context).has_table(table), f"the table {table} exists"
