"""File events and external ids: what coding agents did to files, and the host tool's ids.

Revision ID: 0003_file_events_external_ids
Revises: 0002_token_usage_receipts
Create Date: 2026-11-28

Adds the ``session_file_events`` table (one row per file operation or command of a message,
deleted with its session or message) and, on ``sessions``, a nullable ``external_id`` with a
unique index on ``(actor_name, external_id)``. Safe on a live database: a new table, a
nullable column without a default (no row is rewritten on PostgreSQL, an instant ADD COLUMN
on MariaDB) and an index. Each step checks whether it is already done, because MariaDB commits
DDL implicitly and an interrupted run is resumed by running the revision again. Types are
spelled out here rather than imported from the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from agent_sessions.infrastructure.database.reconcile import (
    add_column_if_missing,
    create_index_if_missing,
    drop_column_if_exists,
    drop_index_if_exists,
)

revision: str = "0003_file_events_external_ids"
down_revision: str | None = "0002_token_usage_receipts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def _mysql_table_options() -> dict[str, Any]:
    """InnoDB, utf8mb4 and the binary NO PAD collation, as in ``0001_session_persistence``."""
    mariadb = getattr(op.get_bind().dialect, "is_mariadb", False)
    return {
        "mysql_engine": "InnoDB",
        "mysql_charset": "utf8mb4",
        "mysql_collate": "utf8mb4_nopad_bin" if mariadb else "utf8mb4_0900_bin",
    }


def upgrade() -> None:
    add_column_if_missing("sessions", sa.Column("external_id", sa.String(255), nullable=True))
    create_index_if_missing(
        op.f("ix_sessions_actor_name_external_id"),
        "sessions",
        ["actor_name", "external_id"],
        unique=True,
    )
    if not sa.inspect(op.get_bind()).has_table("session_file_events"):
        op.create_table(
            "session_file_events",
            sa.Column("id", sa.String(26), nullable=False),
            sa.Column("session_id", sa.String(26), nullable=False),
            sa.Column("message_id", sa.String(26), nullable=False),
            sa.Column("event_type", sa.String(16), nullable=False),
            sa.Column("file_path", sa.String(768), nullable=True),
            sa.Column("diff", LONG_TEXT, nullable=True),
            sa.Column("command", LONG_TEXT, nullable=True),
            sa.Column("created_at", TIMESTAMP, nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_session_file_events")),
            sa.ForeignKeyConstraint(
                ["session_id"],
                ["sessions.id"],
                name=op.f("fk_session_file_events_session_id_sessions"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["message_id"],
                ["session_messages.id"],
                name=op.f("fk_session_file_events_message_id_session_messages"),
                ondelete="CASCADE",
            ),
            sa.CheckConstraint(
                "event_type IN ('read', 'write', 'edit', 'delete', 'rename', 'command')",
                name=op.f("ck_session_file_events_event_type_known"),
            ),
            **_mysql_table_options(),
        )
    create_index_if_missing(
        op.f("ix_session_file_events_session_id_created_at"),
        "session_file_events",
        ["session_id", "created_at"],
    )
    create_index_if_missing(
        op.f("ix_session_file_events_file_path"), "session_file_events", ["file_path"]
    )
    create_index_if_missing(
        op.f("ix_session_file_events_message_id"), "session_file_events", ["message_id"]
    )


def downgrade() -> None:
    # Dropping the table drops its indexes. The column goes by ALTER TABLE ... DROP COLUMN,
    # never by a batch-mode copy of sessions (which would cascade-delete its messages).
    op.drop_table("session_file_events")
    drop_index_if_exists(op.f("ix_sessions_actor_name_external_id"), "sessions")
    drop_column_if_exists("sessions", "external_id")
