"""SQLAlchemy models of the library's tables, on one ``MetaData`` with a naming convention.

The schema itself is created by the Alembic migrations in ``migrations/versions``; these
models describe it for queries, and a test checks that both agree.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agent_sessions.domain.entities import FileEventType, MessageRole
from agent_sessions.infrastructure.database.types import JSON_DOCUMENT, LONG_TEXT, UTCDateTime

__all__ = [
    "MYSQL_TABLE_OPTIONS",
    "NAMING_CONVENTION",
    "Base",
    "SessionCompactionModel",
    "SessionFileEventModel",
    "SessionMessageModel",
    "SessionModel",
    "SessionRewindModel",
    "SessionTokenUsageModel",
    "one_of",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Stable names for every constraint and index, on every dialect."""

MYSQL_TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
"""MariaDB/MySQL: InnoDB and 4-byte UTF-8 whatever the database's default. The migration also
gives the tables a binary NO PAD collation (``utf8mb4_nopad_bin`` on MariaDB,
``utf8mb4_0900_bin`` on MySQL 8), so that comparisons are exact as on the other backends."""


def one_of(column: str, values: type[StrEnum]) -> str:
    """Return the CHECK condition ``column IN ('a', 'b', ...)`` over an enum's values, in order.

    The roles and file event types are checked by the database from the domain's enums, so a
    value cannot be added to one and forgotten in the other. The text is what the released
    migrations created; the drift doctor compares them.
    """
    quoted = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Declarative base whose metadata carries :data:`NAMING_CONVENTION`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SessionModel(Base):
    """A row of ``sessions``."""

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint(
            "prompt_tokens >= 0 AND completion_tokens >= 0 AND message_count >= 0",
            name="counters_non_negative",
        ),
        Index("ix_sessions_actor_name_external_id", "actor_name", "external_id", unique=True),
        CheckConstraint(
            "(parent_session_id IS NULL AND forked_at_sequence IS NULL) OR "
            "(parent_session_id IS NOT NULL AND forked_at_sequence >= 0)",
            name="fork_point_with_parent",
        ),
        # Lists an owner's sessions newest first along the keyset, and batches them for
        # ``erase_owner``.
        Index("ix_sessions_owner_id_created_at_id", "owner_id", "created_at", "id"),
        MYSQL_TABLE_OPTIONS,
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    actor_name: Mapped[str] = mapped_column(String(255), index=True)
    external_id: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(500))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON_DOCUMENT)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger)
    completion_tokens: Mapped[int] = mapped_column(BigInteger)
    message_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A reference, not a foreign key: a fork outlives its deleted parent, and an imported fork
    # may arrive without its parent. Indexed for ``list(forked_from=...)``.
    parent_session_id: Mapped[str | None] = mapped_column(String(26), index=True)
    forked_at_sequence: Mapped[int | None] = mapped_column(Integer)
    owner_id: Mapped[str | None] = mapped_column(String(255))
    hold_reason: Mapped[str | None] = mapped_column(LONG_TEXT)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SessionRewindModel(Base):
    """A row of ``session_rewinds``: a rewind, holding or undone, of one session.

    The messages it hid carry its id in ``session_messages.rewound_by``; deleting the session
    deletes its rewinds (and, first, the messages that point at them).
    """

    __tablename__ = "session_rewinds"
    __table_args__ = (
        Index("ix_session_rewinds_session_id_created_at", "session_id", "created_at"),
        CheckConstraint(
            "to_sequence >= 0 AND through_sequence > to_sequence", name="sequences_ordered"
        ),
        MYSQL_TABLE_OPTIONS,
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        String(26), ForeignKey(SessionModel.id, ondelete="CASCADE")
    )
    to_sequence: Mapped[int] = mapped_column(Integer)
    through_sequence: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(LONG_TEXT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SessionMessageModel(Base):
    """A row of ``session_messages``; ``(session_id, sequence)`` is unique."""

    __tablename__ = "session_messages"
    __table_args__ = (
        Index("ix_session_messages_session_id_sequence", "session_id", "sequence", unique=True),
        CheckConstraint("sequence >= 1", name="sequence_positive"),
        CheckConstraint(one_of("role", MessageRole), name="role_known"),
        MYSQL_TABLE_OPTIONS,
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        String(26), ForeignKey(SessionModel.id, ondelete="CASCADE")
    )
    sequence: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(LONG_TEXT)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON_DOCUMENT)
    token_count: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The rewind that hid the message from the visible history; NULL while it is visible.
    rewound_by: Mapped[str | None] = mapped_column(
        String(26), ForeignKey(SessionRewindModel.id, ondelete="SET NULL"), index=True
    )


class SessionCompactionModel(Base):
    """A row of ``session_compactions``: a summary standing for messages up to a sequence.

    ``(session_id, through_sequence)`` serves the look-up of the compaction in force; the
    covered messages stay in ``session_messages``.
    """

    __tablename__ = "session_compactions"
    __table_args__ = (
        Index(
            "ix_session_compactions_session_id_through_sequence",
            "session_id",
            "through_sequence",
        ),
        CheckConstraint("through_sequence >= 1", name="through_sequence_positive"),
        MYSQL_TABLE_OPTIONS,
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        String(26), ForeignKey(SessionModel.id, ondelete="CASCADE")
    )
    through_sequence: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(LONG_TEXT)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON_DOCUMENT)
    token_count: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rewound_by: Mapped[str | None] = mapped_column(
        String(26), ForeignKey(SessionRewindModel.id, ondelete="SET NULL"), index=True
    )


class SessionTokenUsageModel(Base):
    """A row of ``session_token_usage``: one recorded call of ``update_token_usage``.

    The primary key ``(session_id, usage_key)`` is what makes the call idempotent: a retried
    or repeated call with the same key finds its row and adds nothing.
    """

    __tablename__ = "session_token_usage"
    __table_args__ = (
        CheckConstraint(
            "prompt_tokens >= 0 AND completion_tokens >= 0", name="tokens_non_negative"
        ),
        MYSQL_TABLE_OPTIONS,
    )

    session_id: Mapped[str] = mapped_column(
        String(26), ForeignKey(SessionModel.id, ondelete="CASCADE"), primary_key=True
    )
    usage_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger)
    completion_tokens: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SessionFileEventModel(Base):
    """A row of ``session_file_events``: what a message did to a file, or a command it ran.

    Three indexes serve the questions asked of it: ``(session_id, created_at)`` lists a
    session's events in the order recorded and groups its files; ``(file_path)`` finds the
    sessions that touched a path; ``(message_id)`` serves the cascade from a deleted message.
    Both foreign keys cascade, so deleting a session (or a message) deletes its events.
    """

    __tablename__ = "session_file_events"
    __table_args__ = (
        Index("ix_session_file_events_session_id_created_at", "session_id", "created_at"),
        Index("ix_session_file_events_file_path", "file_path"),
        CheckConstraint(one_of("event_type", FileEventType), name="event_type_known"),
        MYSQL_TABLE_OPTIONS,
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        String(26), ForeignKey(SessionModel.id, ondelete="CASCADE")
    )
    message_id: Mapped[str] = mapped_column(
        String(26), ForeignKey(SessionMessageModel.id, ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(16))
    file_path: Mapped[str | None] = mapped_column(String(768))
    diff: Mapped[str | None] = mapped_column(LONG_TEXT)
    command: Mapped[str | None] = mapped_column(LONG_TEXT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
