"""The SQLAlchemy unit of work: the repositories of one open transaction, on one connection."""

from __future__ import annotations

import functools

from sqlalchemy import Connection

from agent_sessions.domain import ports
from agent_sessions.infrastructure.database.file_event_repository import FileEventRepository
from agent_sessions.infrastructure.database.history_repository import HistoryRepository
from agent_sessions.infrastructure.database.message_repository import SessionMessageRepository
from agent_sessions.infrastructure.database.session_repository import SessionRepository
from agent_sessions.infrastructure.database.verification import SqlAlchemySessionVerifier

__all__ = ["SqlAlchemyUnitOfWork"]


class SqlAlchemyUnitOfWork(ports.UnitOfWork):
    """The repositories of one open transaction, all on the same connection."""

    def __init__(self, connection: Connection, *, attempt: int = 1) -> None:
        self.connection = connection
        self.attempt = attempt

    # Each repository is built when first used: most transactions touch one of them.

    @functools.cached_property
    def sessions(self) -> SessionRepository:  # type: ignore[override]
        """Sessions, in this transaction."""
        return SessionRepository(self.connection)

    @functools.cached_property
    def messages(self) -> SessionMessageRepository:  # type: ignore[override]
        """Messages, in this transaction."""
        return SessionMessageRepository(self.connection)

    @functools.cached_property
    def file_events(self) -> FileEventRepository:  # type: ignore[override]
        """File events, in this transaction."""
        return FileEventRepository(self.connection)

    @functools.cached_property
    def history(self) -> HistoryRepository:  # type: ignore[override]
        """Rewinds and compactions, in this transaction."""
        return HistoryRepository(self.connection)

    @functools.cached_property
    def verifier(self) -> SqlAlchemySessionVerifier:  # type: ignore[override]
        """The integrity checks, in this transaction."""
        return SqlAlchemySessionVerifier(self.connection)
