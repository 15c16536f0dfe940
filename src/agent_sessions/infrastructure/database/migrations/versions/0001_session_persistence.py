"""Session persistence: the sessions and session_messages tables.

Revision ID: 0001_session_persistence
Revises:
Create Date: 2026-11-22

Types are spelled out here rather than imported from the models, so that later model changes
never rewrite this released revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision: str = "0001_session_persistence"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _mysql_table_options() -> dict[str, Any]:
    """InnoDB and utf8mb4 whatever the database's default, with a binary NO PAD collation.

    Binary and NO PAD make comparisons exact, as on SQLite and PostgreSQL: case-sensitive,
    accent-sensitive, and ``'a '`` differs from ``'a'``. MariaDB calls that collation
    ``utf8mb4_nopad_bin``, MySQL 8 ``utf8mb4_0900_bin``. Ignored by the other dialects.
    """
    mariadb = getattr(op.get_bind().dialect, "is_mariadb", False)
    return {
        "mysql_engine": "InnoDB",
        "mysql_charset": "utf8mb4",
        "mysql_collate": "utf8mb4_nopad_bin" if mariadb else "utf8mb4_0900_bin",
    }


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("actor_name", sa.String(255), nullable=False),
        sa.Column("title", sa.String(500), nullable=True),
        sa.Column("metadata", JSON_DOCUMENT, nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.CheckConstraint(
            "prompt_tokens >= 0 AND completion_tokens >= 0 AND message_count >= 0",
            name=op.f("ck_sessions_counters_non_negative"),
        ),
        **_mysql_table_options(),
    )
    op.create_index(op.f("ix_sessions_actor_name"), "sessions", ["actor_name"])
    op.create_index(op.f("ix_sessions_created_at"), "sessions", ["created_at"])
    op.create_table(
        "session_messages",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("session_id", sa.String(26), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", LONG_TEXT, nullable=False),
        sa.Column("metadata", JSON_DOCUMENT, nullable=False),
        sa.Column("token_count", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_messages")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_session_messages_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("sequence >= 1", name=op.f("ck_session_messages_sequence_positive")),
        sa.CheckConstraint(
            "role IN ('system', 'user', 'assistant', 'tool')",
            name=op.f("ck_session_messages_role_known"),
        ),
        **_mysql_table_options(),
    )
    op.create_index(
        op.f("ix_session_messages_session_id_sequence"),
        "session_messages",
        ["session_id", "sequence"],
        unique=True,
    )


def downgrade() -> None:
    # Dropping a table drops its indexes; on MariaDB/MySQL the unique index cannot be dropped
    # on its own while the foreign key uses it.
    op.drop_table("session_messages")
    op.drop_table("sessions")
