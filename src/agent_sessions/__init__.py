"""agent-sessions: persist AI-agent sessions, their ordered messages and token usage in SQL.

This module is the composition root: it wires the SQLAlchemy adapter into the application
service, so that ``PersistentSessionService.from_url(...)`` opens a real database.

Example:
    >>> from agent_sessions import PersistentSessionService
    >>> with PersistentSessionService.from_url("sqlite:///agent_sessions.db", migrate=True) as s:
    ...     session = s.create("support-bot")
    ...     s.append_message(session.id, "user", "Hello!")

"""

from __future__ import annotations

from agent_sessions.application.services import (
    AsyncPersistentSessionService,
    PersistentSessionService,
    register_async_store_opener,
    register_store_opener,
)
from agent_sessions.domain import (
    AgentSessionsError,
    AsyncSessionService,
    DatabaseError,
    ExternalIdConflictError,
    FileEvent,
    FileEventType,
    FileTouch,
    ImportIntegrityError,
    InvalidInputError,
    MessageRole,
    MigrationHistoryError,
    NewMessage,
    SchemaDriftError,
    SchemaMismatchError,
    Session,
    SessionMessage,
    SessionNotFoundError,
    SessionPage,
    SessionService,
    UnsupportedSchemaVersionError,
    VerificationProblem,
    VerificationReport,
)
from agent_sessions.infrastructure.database import RetryPolicy, open_async_store, open_store

register_store_opener(open_store)
register_async_store_opener(open_async_store)

__version__ = "0.3.0"

__all__ = [
    "AgentSessionsError",
    "AsyncPersistentSessionService",
    "AsyncSessionService",
    "DatabaseError",
    "ExternalIdConflictError",
    "FileEvent",
    "FileEventType",
    "FileTouch",
    "ImportIntegrityError",
    "InvalidInputError",
    "MessageRole",
    "MigrationHistoryError",
    "NewMessage",
    "PersistentSessionService",
    "RetryPolicy",
    "SchemaDriftError",
    "SchemaMismatchError",
    "Session",
    "SessionMessage",
    "SessionNotFoundError",
    "SessionPage",
    "SessionService",
    "UnsupportedSchemaVersionError",
    "VerificationProblem",
    "VerificationReport",
    "__version__",
]
