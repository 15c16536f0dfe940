"""Forks, rewinds and compactions: branches of a session, hidden history, and summaries.

Revision ID: 0004_forks_rewinds_compactions
Revises: 0003_file_events_external_ids
Create Date: 2026-12-04

On ``sessions``, a nullable ``parent_session_id`` (indexed, deliberately without a foreign key:
a fork outlives its deleted parent, and an imported fork may arrive without its parent) and a
nullable ``forked_at_sequence``, tied together by the CHECK ``fork_point_with_parent``. A new
table ``session_rewinds`` (one row per rewind of a session, holding or undone), a nullable
``session_messages.rewound_by`` naming the rewind that hid the message (``ON DELETE SET
NULL``, indexed), and a new table ``session_compactions`` (a summary standing for a session's
messages up to a sequence, itself hidden by a rewind through its own ``rewound_by``).

On PostgreSQL and MariaDB no existing row is rewritten: new tables, nullable columns without a
default, their indexes and constraints. SQLite cannot add a constraint to an existing table:
the CHECK on ``sessions`` is written inline in ``ALTER TABLE ... ADD COLUMN`` (a batch-mode
copy of ``sessions`` would cascade-delete its messages), and ``session_messages`` is rebuilt
for its foreign key, keeping its rows and those of ``session_file_events`` (see
``_rebuild_sqlite_messages``). Each step checks whether it is already done, because MariaDB
commits DDL implicitly and an interrupted run is resumed by running the revision again. Types
are spelled out here rather than imported from the models.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

from agent_sessions.infrastructure.database.reconcile import (
    add_column_if_missing,
    create_index_if_missing,
    drop_column_if_exists,
    drop_index_if_exists,
)

revision: str = "0004_forks_rewinds_compactions"
down_revision: str | None = "0003_file_events_external_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

FORK_POINT_CHECK = (
    "(parent_session_id IS NULL AND forked_at_sequence IS NULL) OR "
    "(parent_session_id IS NOT NULL AND forked_at_sequence >= 0)"
)
"""The CHECK ``ck_sessions_fork_point_with_parent``: a fork point exactly when there is a parent."""


def _mysql_table_options() -> dict[str, Any]:
    """InnoDB, utf8mb4 and the binary NO PAD collation, as in ``0001_session_persistence``."""
    mariadb = getattr(op.get_bind().dialect, "is_mariadb", False)
    return {
        "mysql_engine": "InnoDB",
        "mysql_charset": "utf8mb4",
        "mysql_collate": "utf8mb4_nopad_bin" if mariadb else "utf8mb4_0900_bin",
    }


def _is_sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def _is_mysql() -> bool:
    return op.get_bind().dialect.name in {"mysql", "mariadb"}


def _has_table(table_name: str) -> bool:
    return bool(sa.inspect(op.get_bind()).has_table(table_name))


def _has_column(table_name: str, column_name: str) -> bool:
    columns = sa.inspect(op.get_bind()).get_columns(table_name)
    return any(column["name"] == column_name for column in columns)


def _has_check_constraint(table_name: str, name: str) -> bool:
    found = sa.inspect(op.get_bind()).get_check_constraints(table_name)
    return any(str(item.get("name") or "").lower() == name.lower() for item in found)


def _has_foreign_key(table_name: str, name: str) -> bool:
    found = sa.inspect(op.get_bind()).get_foreign_keys(table_name)
    return any(str(item.get("name") or "").lower() == name.lower() for item in found)


@contextmanager
def _without_foreign_key_checks() -> Iterator[None]:
    """On MariaDB/MySQL, add a foreign key in place instead of copying the whole table.

    InnoDB rebuilds the child table to add a foreign key while ``foreign_key_checks`` is on,
    and builds it in place while it is off. The column was just added and is NULL in every row,
    so there is nothing to check. Other engines: no change.
    """
    if not _is_mysql():
        yield
        return
    op.execute("SET SESSION foreign_key_checks = 0")
    try:
        yield
    finally:
        op.execute("SET SESSION foreign_key_checks = 1")


def _add_sessions_fork_columns() -> None:
    add_column_if_missing("sessions", sa.Column("parent_session_id", sa.String(26), nullable=True))
    name = op.f("ck_sessions_fork_point_with_parent")
    if _is_sqlite():
        # SQLite adds a constraint only with its column: the CHECK is the column's own.
        if not _has_column("sessions", "forked_at_sequence"):
            op.execute(
                "ALTER TABLE sessions ADD COLUMN forked_at_sequence INTEGER "
                f"CONSTRAINT {name} CHECK ({FORK_POINT_CHECK})"
            )
    else:
        add_column_if_missing(
            "sessions", sa.Column("forked_at_sequence", sa.Integer(), nullable=True)
        )
        if not _has_check_constraint("sessions", name):
            op.create_check_constraint(name, "sessions", FORK_POINT_CHECK)
    create_index_if_missing(
        op.f("ix_sessions_parent_session_id"), "sessions", ["parent_session_id"]
    )


def _create_session_rewinds() -> None:
    if not _has_table("session_rewinds"):
        op.create_table(
            "session_rewinds",
            sa.Column("id", sa.String(26), nullable=False),
            sa.Column("session_id", sa.String(26), nullable=False),
            sa.Column("to_sequence", sa.Integer(), nullable=False),
            sa.Column("through_sequence", sa.Integer(), nullable=False),
            sa.Column("reason", LONG_TEXT, nullable=True),
            sa.Column("created_at", TIMESTAMP, nullable=False),
            sa.Column("undone_at", TIMESTAMP, nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_session_rewinds")),
            sa.ForeignKeyConstraint(
                ["session_id"],
                ["sessions.id"],
                name=op.f("fk_session_rewinds_session_id_sessions"),
                ondelete="CASCADE",
            ),
            sa.CheckConstraint(
                "to_sequence >= 0 AND through_sequence > to_sequence",
                name=op.f("ck_session_rewinds_sequences_ordered"),
            ),
            **_mysql_table_options(),
        )
    create_index_if_missing(
        op.f("ix_session_rewinds_session_id_created_at"),
        "session_rewinds",
        ["session_id", "created_at"],
    )


def _add_messages_rewound_by() -> None:
    name = op.f("fk_session_messages_rewound_by_session_rewinds")
    if _is_sqlite():
        if not _has_column("session_messages", "rewound_by"):
            _rebuild_sqlite_messages(with_rewound_by=True)
        return
    add_column_if_missing("session_messages", sa.Column("rewound_by", sa.String(26), nullable=True))
    # The index first, so that MariaDB/MySQL use it for the foreign key instead of adding one.
    create_index_if_missing(
        op.f("ix_session_messages_rewound_by"), "session_messages", ["rewound_by"]
    )
    if not _has_foreign_key("session_messages", name):
        with _without_foreign_key_checks():
            op.create_foreign_key(
                name,
                "session_messages",
                "session_rewinds",
                ["rewound_by"],
                ["id"],
                ondelete="SET NULL",
            )


TABLE = "session_messages"


def _rebuild_sqlite_messages(*, with_rewound_by: bool) -> None:
    """On SQLite, rebuild ``session_messages`` with or without ``rewound_by`` and its key.

    SQLite cannot add a foreign key to a table, and a foreign key added inline with its column
    (``ADD COLUMN ... REFERENCES``) is reflected by SQLAlchemy without its name and its ``ON
    DELETE``, so the drift doctor, the snapshots and any later batch-mode step would lose
    them; nor can it drop a column that a table-level foreign key names. So the table is
    rebuilt: a new table, the rows copied, the old table dropped, the new one renamed. Foreign
    keys stay on (they cannot be switched off inside the migration's transaction), so dropping
    the old table deletes the file events of its messages by cascade: they are kept aside in a
    temporary table and put back. The CHECK constraints are carried over as the database has
    them; the messages' ``rewound_by`` values are dropped with the column on the way down.
    """
    checks = sa.inspect(op.get_bind()).get_check_constraints(TABLE)
    columns: list[sa.Column[Any]] = [
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("session_id", sa.String(26), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", LONG_TEXT, nullable=False),
        sa.Column("metadata", JSON_DOCUMENT, nullable=False),
        sa.Column("token_count", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    ]
    # Keep the columns the table has: a database an edited revision built without one (the
    # incident ADR 0005 describes) keeps that shape, for its own reconcile revision to fix.
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns(TABLE)}
    columns = [column for column in columns if column.name in present]
    listed = ", ".join(column.name for column in columns)  # the columns both tables have
    constraints: list[sa.Constraint] = [
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_messages")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_session_messages_session_id_sessions"),
            ondelete="CASCADE",
        ),
    ]
    if with_rewound_by:
        columns.append(sa.Column("rewound_by", sa.String(26), nullable=True))
        constraints.append(
            sa.ForeignKeyConstraint(
                ["rewound_by"],
                ["session_rewinds.id"],
                name=op.f("fk_session_messages_rewound_by_session_rewinds"),
                ondelete="SET NULL",
            )
        )
    constraints.extend(
        sa.CheckConstraint(sa.text(check["sqltext"]), name=op.f(str(check["name"])))
        for check in checks
        if check.get("name")
    )
    op.execute(
        "CREATE TEMPORARY TABLE agent_sessions_0004_file_events AS "
        "SELECT * FROM session_file_events"
    )
    op.create_table("agent_sessions_0004_messages", *columns, *constraints)
    op.execute(
        f"INSERT INTO agent_sessions_0004_messages ({listed}) SELECT {listed} FROM session_messages"
    )
    op.drop_table("session_messages")
    op.rename_table("agent_sessions_0004_messages", "session_messages")
    op.create_index(
        op.f("ix_session_messages_session_id_sequence"),
        "session_messages",
        ["session_id", "sequence"],
        unique=True,
    )
    if with_rewound_by:
        op.create_index(op.f("ix_session_messages_rewound_by"), "session_messages", ["rewound_by"])
    op.execute("INSERT INTO session_file_events SELECT * FROM agent_sessions_0004_file_events")
    op.execute("DROP TABLE agent_sessions_0004_file_events")


def _create_session_compactions() -> None:
    if not _has_table("session_compactions"):
        op.create_table(
            "session_compactions",
            sa.Column("id", sa.String(26), nullable=False),
            sa.Column("session_id", sa.String(26), nullable=False),
            sa.Column("through_sequence", sa.Integer(), nullable=False),
            sa.Column("summary", LONG_TEXT, nullable=False),
            sa.Column("metadata", JSON_DOCUMENT, nullable=False),
            sa.Column("token_count", sa.BigInteger(), nullable=True),
            sa.Column("created_at", TIMESTAMP, nullable=False),
            sa.Column("rewound_by", sa.String(26), nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_session_compactions")),
            sa.ForeignKeyConstraint(
                ["session_id"],
                ["sessions.id"],
                name=op.f("fk_session_compactions_session_id_sessions"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["rewound_by"],
                ["session_rewinds.id"],
                name=op.f("fk_session_compactions_rewound_by_session_rewinds"),
                ondelete="SET NULL",
            ),
            sa.CheckConstraint(
                "through_sequence >= 1",
                name=op.f("ck_session_compactions_through_sequence_positive"),
            ),
            **_mysql_table_options(),
        )
    create_index_if_missing(
        op.f("ix_session_compactions_session_id_through_sequence"),
        "session_compactions",
        ["session_id", "through_sequence"],
    )
    create_index_if_missing(
        op.f("ix_session_compactions_rewound_by"), "session_compactions", ["rewound_by"]
    )


def upgrade() -> None:
    _add_sessions_fork_columns()
    _create_session_rewinds()
    _add_messages_rewound_by()
    _create_session_compactions()


def downgrade() -> None:
    # Columns go by ALTER TABLE ... DROP COLUMN, never by a batch-mode copy of sessions (which
    # would cascade-delete its messages); SQLite's session_messages is rebuilt as on the way up.
    # A column's foreign key and CHECK go before it (SQLite drops the inline CHECK with its
    # column), its index next.
    if _has_table("session_compactions"):
        op.drop_table("session_compactions")
    fk_name = op.f("fk_session_messages_rewound_by_session_rewinds")
    if _is_sqlite():
        if _has_column("session_messages", "rewound_by"):
            _rebuild_sqlite_messages(with_rewound_by=False)
    else:
        if _has_foreign_key("session_messages", fk_name):
            op.drop_constraint(fk_name, "session_messages", type_="foreignkey")
        drop_index_if_exists(op.f("ix_session_messages_rewound_by"), "session_messages")
        drop_column_if_exists("session_messages", "rewound_by")
    if _has_table("session_rewinds"):
        op.drop_table("session_rewinds")
    ck_name = op.f("ck_sessions_fork_point_with_parent")
    if not _is_sqlite() and _has_check_constraint("sessions", ck_name):
        op.drop_constraint(ck_name, "sessions", type_="check")
    drop_index_if_exists(op.f("ix_sessions_parent_session_id"), "sessions")
    drop_column_if_exists("sessions", "forked_at_sequence")
    drop_column_if_exists("sessions", "parent_session_id")
