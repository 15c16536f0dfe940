"""The domain: entities, errors, the service port and repository ports. Pure Python, no I/O."""

from __future__ import annotations

from agent_sessions.domain.async_service import AsyncSessionService
from agent_sessions.domain.entities import (
    Compaction,
    ErasureReceipt,
    FileEvent,
    FileEventType,
    FileTouch,
    MessageRole,
    NewMessage,
    Rewind,
    Session,
    SessionMessage,
)
from agent_sessions.domain.errors import (
    AgentSessionsError,
    DatabaseConflictError,
    DatabaseError,
    DatabaseTimeoutError,
    DatabaseUnavailableError,
    ExternalIdConflictError,
    ImportIntegrityError,
    InvalidInputError,
    MigrationHistoryError,
    SchemaDriftError,
    SchemaMismatchError,
    SequenceConflictError,
    SessionNotFoundError,
    UnsupportedSchemaVersionError,
)
from agent_sessions.domain.pagination import SessionPage
from agent_sessions.domain.service import SessionService
from agent_sessions.domain.verification import VerificationProblem, VerificationReport

__all__ = [
    "AgentSessionsError",
    "AsyncSessionService",
    "Compaction",
    "DatabaseConflictError",
    "DatabaseError",
    "DatabaseTimeoutError",
    "DatabaseUnavailableError",
    "ErasureReceipt",
    "ExternalIdConflictError",
    "FileEvent",
    "FileEventType",
    "FileTouch",
    "ImportIntegrityError",
    "InvalidInputError",
    "MessageRole",
    "MigrationHistoryError",
    "NewMessage",
    "Rewind",
    "SchemaDriftError",
    "SchemaMismatchError",
    "SequenceConflictError",
    "Session",
    "SessionMessage",
    "SessionNotFoundError",
    "SessionPage",
    "SessionService",
    "UnsupportedSchemaVersionError",
    "VerificationProblem",
    "VerificationReport",
]
