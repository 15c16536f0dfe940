"""Token-usage receipts: the session_token_usage table behind idempotent update_token_usage.

Revision ID: 0002_token_usage_receipts
Revises: 0001_session_persistence
Create Date: 2026-11-22

One row per recorded ``update_token_usage`` call, keyed by ``(session_id, usage_key)``: a
retry after a lost commit acknowledgement, or a caller repeating a call with the same
idempotency key, finds its row and adds nothing. A new table only, so the revision is safe on
a live database: no existing row is rewritten. Types are spelled out here rather than imported
from the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0002_token_usage_receipts"
down_revision: str | None = "0001_session_persistence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _mysql_table_options() -> dict[str, Any]:
    """InnoDB, utf8mb4 and the binary NO PAD collation, as in ``0001_session_persistence``."""
    mariadb = getattr(op.get_bind().dialect, "is_mariadb", False)
    return {
        "mysql_engine": "InnoDB",
        "mysql_charset": "utf8mb4",
        "mysql_collate": "utf8mb4_nopad_bin" if mariadb else "utf8mb4_0900_bin",
    }


def upgrade() -> None:
    # MariaDB commits DDL implicitly: a run interrupted after this statement is resumed by
    # running the revision again, so the table is created only when it is missing.
    if sa.inspect(op.get_bind()).has_table("session_token_usage"):
        return
    op.create_table(
        "session_token_usage",
        sa.Column("session_id", sa.String(26), nullable=False),
        sa.Column("usage_key", sa.String(255), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("session_id", "usage_key", name=op.f("pk_session_token_usage")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_session_token_usage_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "prompt_tokens >= 0 AND completion_tokens >= 0",
            name=op.f("ck_session_token_usage_tokens_non_negative"),
        ),
        **_mysql_table_options(),
    )


def downgrade() -> None:
    op.drop_table("session_token_usage")
