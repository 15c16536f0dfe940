"""Reconcile helpers for revision authors: DDL that changes a database only when it needs it.

A *reconcile revision* brings databases that took different paths (a fresh build, a database
migrated by a revision that was later edited in place, an upgrade interrupted on MariaDB, where
DDL commits implicitly) to the same schema. Its steps must be safe to run on a database that
already has the change, so each helper here looks before it acts and says whether it acted::

    from agent_sessions.infrastructure.database.reconcile import add_column_if_missing

    def upgrade() -> None:
        add_column_if_missing("sessions", sa.Column("tags", sa.JSON(), nullable=True))

How each engine is guarded:

- Every engine: the helper reflects the table first (``sqlalchemy.inspect``) to decide, and to
  report, whether there is anything to do; a table that does not exist raises
  :class:`sqlalchemy.exc.NoSuchTableError` naming it.
- PostgreSQL and MariaDB: the DDL itself also carries the native guard (``ADD COLUMN IF NOT
  EXISTS``, ``DROP COLUMN IF EXISTS``, ``CREATE INDEX IF NOT EXISTS``, ``DROP INDEX IF EXISTS``).
- SQLite: native guards for indexes only; its ``ALTER TABLE`` has no ``IF [NOT] EXISTS``, so
  the reflection is the guard. Columns are dropped with ``ALTER TABLE ... DROP COLUMN`` (SQLite
  3.35 or newer), never by batch-mode table copy, which with foreign keys on would cascade-delete
  the rows of child tables.
- MySQL: no native guard for columns or indexes; the reflection is the guard.

Every helper works inside a revision through Alembic's ``op`` proxy (the default), or on an
explicit :class:`alembic.operations.Operations` passed as ``operations=``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from alembic import op
from alembic.operations import Operations
from sqlalchemy import Column, inspect
from sqlalchemy.engine import Dialect, Inspector
from sqlalchemy.exc import NoSuchTableError

__all__ = [
    "add_column_if_missing",
    "create_index_if_missing",
    "drop_column_if_exists",
    "drop_index_if_exists",
]


def _operations(operations: Operations | None) -> Operations:
    """Return ``operations``, else Alembic's ``op`` proxy, which forwards every method."""
    return operations if operations is not None else cast(Operations, op)


def _is_mariadb(dialect: Dialect) -> bool:
    return dialect.name in {"mysql", "mariadb"} and bool(getattr(dialect, "is_mariadb", False))


def _native_column_guard(dialect: Dialect) -> bool | None:
    """Return True where ``ALTER TABLE`` has ``IF [NOT] EXISTS`` for columns, else None."""
    return True if dialect.name == "postgresql" or _is_mariadb(dialect) else None


def _native_index_guard(dialect: Dialect) -> bool | None:
    """Return True where ``CREATE/DROP INDEX`` has ``IF [NOT] EXISTS``, else None (MySQL)."""
    return True if dialect.name in {"postgresql", "sqlite"} or _is_mariadb(dialect) else None


def _inspect_table(operations: Operations, table_name: str, helper: str) -> Inspector:
    """Return a fresh inspector, after checking that ``table_name`` exists.

    Raises:
        NoSuchTableError: The table does not exist.

    """
    inspector = inspect(operations.get_bind())
    if not inspector.has_table(table_name):
        raise NoSuchTableError(
            f"{helper}: table {table_name!r} does not exist in this database; "
            "a reconcile step changes existing tables only (create it with op.create_table)"
        )
    return inspector


def _column_names(inspector: Inspector, table_name: str) -> set[str]:
    return {column["name"] for column in inspector.get_columns(table_name)}


def _index_names(inspector: Inspector, table_name: str, *, with_unique: bool) -> set[str]:
    """Return the names of the table's indexes and, ``with_unique``, of its unique constraints."""
    names = {index["name"] for index in inspector.get_indexes(table_name)}
    if with_unique:
        names |= {unique["name"] for unique in inspector.get_unique_constraints(table_name)}
    return {name for name in names if name is not None}


def add_column_if_missing(
    table_name: str, column: Column[Any], *, operations: Operations | None = None
) -> bool:
    """Add ``column`` to ``table_name`` unless the table already has a column of that name.

    Only the name is compared: an existing column of another type is left alone (the drift
    doctor reports it). The column must be nullable or have a server default, so that the
    step works on a table that already holds rows, on every engine.

    Args:
        table_name: The existing table to change.
        column: The column to add, with its type spelled out, e.g.
            ``sa.Column("tags", sa.JSON(), nullable=True)``.
        operations: Alembic operations to run on; default: the ``op`` proxy of the revision.

    Returns:
        True when the column was added, False when it was already there.

    Raises:
        ValueError: The column is NOT NULL without a server default.
        NoSuchTableError: The table does not exist.

    """
    if not column.nullable and column.server_default is None:
        raise ValueError(
            f"add_column_if_missing: column {column.name!r} is NOT NULL without a server "
            "default; make it nullable or give it a server_default"
        )
    ops = _operations(operations)
    inspector = _inspect_table(ops, table_name, "add_column_if_missing")
    if column.name in _column_names(inspector, table_name):
        return False
    guard = _native_column_guard(inspector.dialect)
    ops.add_column(table_name, column, if_not_exists=guard)
    return True


def drop_column_if_exists(
    table_name: str, column_name: str, *, operations: Operations | None = None
) -> bool:
    """Drop the column ``column_name`` of ``table_name`` if the table has it.

    Drop the column's indexes first (:func:`drop_index_if_exists`): SQLite and MySQL refuse to
    drop a column that an index still names.

    Args:
        table_name: The existing table to change.
        column_name: The column to drop.
        operations: Alembic operations to run on; default: the ``op`` proxy of the revision.

    Returns:
        True when the column was dropped, False when it was not there.

    Raises:
        NoSuchTableError: The table does not exist.

    """
    ops = _operations(operations)
    inspector = _inspect_table(ops, table_name, "drop_column_if_exists")
    if column_name not in _column_names(inspector, table_name):
        return False
    guard = _native_column_guard(inspector.dialect)
    ops.drop_column(table_name, column_name, if_exists=guard)
    return True


def create_index_if_missing(
    index_name: str,
    table_name: str,
    columns: Sequence[str],
    *,
    unique: bool = False,
    operations: Operations | None = None,
) -> bool:
    """Create the index ``index_name`` on ``table_name`` unless the table has one of that name.

    Only the name is compared, so name it after the naming convention (``op.f("ix_...")``).

    Args:
        index_name: The index name, e.g. ``op.f("ix_sessions_title")``.
        table_name: The existing table to index.
        columns: The indexed columns, in order.
        unique: Whether the index is unique.
        operations: Alembic operations to run on; default: the ``op`` proxy of the revision.

    Returns:
        True when the index was created, False when it was already there.

    Raises:
        NoSuchTableError: The table does not exist.

    """
    ops = _operations(operations)
    inspector = _inspect_table(ops, table_name, "create_index_if_missing")
    if index_name in _index_names(inspector, table_name, with_unique=True):
        return False
    guard = _native_index_guard(inspector.dialect)
    ops.create_index(index_name, table_name, list(columns), unique=unique, if_not_exists=guard)
    return True


def drop_index_if_exists(
    index_name: str, table_name: str, *, operations: Operations | None = None
) -> bool:
    """Drop the index ``index_name`` of ``table_name`` if the table has it.

    Args:
        index_name: The index to drop.
        table_name: The table the index belongs to (MariaDB/MySQL need it).
        operations: Alembic operations to run on; default: the ``op`` proxy of the revision.

    Returns:
        True when the index was dropped, False when it was not there.

    Raises:
        NoSuchTableError: The table does not exist.

    """
    ops = _operations(operations)
    inspector = _inspect_table(ops, table_name, "drop_index_if_exists")
    if index_name not in _index_names(inspector, table_name, with_unique=False):
        return False
    guard = _native_index_guard(inspector.dialect)
    ops.drop_index(index_name, table_name=table_name, if_exists=guard)
    return True
