"""Owners and holds: who a session belongs to, and sessions kept from removal.

Revision ID: 0005_owners_and_holds
Revises: 0004_forks_rewinds_compactions
Create Date: 2026-12-04

On ``sessions``, three nullable columns: ``owner_id`` (the end user or tenant the session
belongs to), ``hold_reason`` and ``held_at`` (a hold: the session is kept until it is
released), and the index ``ix_sessions_owner_id_created_at_id`` on ``(owner_id, created_at,
id)``, which serves listing an owner's sessions newest first with the keyset cursor and
taking an owner's sessions in batches for ``erase_owner``.

No existing row is rewritten on any engine: nullable columns without a default or a foreign
key are added with a plain ``ALTER TABLE ... ADD COLUMN`` (SQLite included, so no batch-mode
copy of ``sessions`` cascades into its messages). Each step checks whether it is already done,
because MariaDB commits DDL implicitly and an interrupted run is resumed by running the
revision again. Types are spelled out here rather than imported from the models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from agent_sessions.infrastructure.database.reconcile import (
    add_column_if_missing,
    create_index_if_missing,
    drop_column_if_exists,
    drop_index_if_exists,
)

revision: str = "0005_owners_and_holds"
down_revision: str | None = "0004_forks_rewinds_compactions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

OWNER_INDEX = "ix_sessions_owner_id_created_at_id"


def upgrade() -> None:
    add_column_if_missing("sessions", sa.Column("owner_id", sa.String(255), nullable=True))
    add_column_if_missing("sessions", sa.Column("hold_reason", LONG_TEXT, nullable=True))
    add_column_if_missing("sessions", sa.Column("held_at", TIMESTAMP, nullable=True))
    create_index_if_missing(op.f(OWNER_INDEX), "sessions", ["owner_id", "created_at", "id"])


def downgrade() -> None:
    # The index before its column; columns go by ALTER TABLE ... DROP COLUMN, never by a
    # batch-mode copy of sessions (which would cascade-delete its messages).
    drop_index_if_exists(op.f(OWNER_INDEX), "sessions")
    drop_column_if_exists("sessions", "held_at")
    drop_column_if_exists("sessions", "hold_reason")
    drop_column_if_exists("sessions", "owner_id")
