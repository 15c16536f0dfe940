"""agent-sessions: persist AI-agent sessions, their ordered messages and token usage in SQL.

This module is the composition root: it wires the SQLAlchemy adapter into the application
service, so that ``PersistentSessionService.from_url(...)`` opens a real database. Importing it
is quick: SQLAlchemy and Alembic are imported when the first store is opened (or when
``RetryPolicy`` is first used), so that ``agent-sessions --help`` and shell completion answer
at once.

Example:
    >>> from agent_sessions import PersistentSessionService
    >>> with PersistentSessionService.from_url("sqlite:///agent_sessions.db", migrate=True) as s:
    ...     session = s.create("support-bot")
    ...     s.append_message(session.id, "user", "Hello!")

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent_sessions.application.services import (
    AsyncPersistentSessionService,
    PersistentSessionService,
    register_async_store_opener,
    register_store_opener,
)
from agent_sessions.domain import (
    AgentSessionsError,
    AsyncSessionService,
    Compaction,
    DatabaseConflictError,
    DatabaseError,
    DatabaseTimeoutError,
    DatabaseUnavailableError,
    ErasureReceipt,
    ExternalIdConflictError,
    FileEvent,
    FileEventType,
    FileTouch,
    ImportIntegrityError,
    InvalidInputError,
    MessageRole,
    MigrationHistoryError,
    NewMessage,
    Rewind,
    SchemaDriftError,
    SchemaMismatchError,
    SequenceConflictError,
    Session,
    SessionMessage,
    SessionNotFoundError,
    SessionPage,
    SessionService,
    UnsupportedSchemaVersionError,
    VerificationProblem,
    VerificationReport,
)

if TYPE_CHECKING:
    from agent_sessions.domain.ports import AsyncRunner, SessionStore
    from agent_sessions.infrastructure.database import RetryPolicy


def _open_store(url: str, *, migrate: bool, **options: Any) -> SessionStore:
    """Open a SQLAlchemy store, importing the database adapter on first use."""
    from agent_sessions.infrastructure.database import open_store

    return open_store(url, migrate=migrate, **options)


async def _open_async_store(
    url: str, *, migrate: bool, **options: Any
) -> tuple[SessionStore, AsyncRunner]:
    """Open a SQLAlchemy store on an asyncio engine, importing the adapter on first use."""
    from agent_sessions.infrastructure.database import open_async_store

    return await open_async_store(url, migrate=migrate, **options)


register_store_opener(_open_store)
register_async_store_opener(_open_async_store)


def __getattr__(name: str) -> Any:
    """Serve ``RetryPolicy`` on first use, so that importing the package stays quick (PEP 562)."""
    if name == "RetryPolicy":
        from agent_sessions.infrastructure.database import RetryPolicy

        return RetryPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """List the public names, ``RetryPolicy`` included before its first use."""
    return sorted({*globals(), *__all__})


__version__ = "0.4.0"

__all__ = [
    "AgentSessionsError",
    "AsyncPersistentSessionService",
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
    "PersistentSessionService",
    "RetryPolicy",
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
    "__version__",
]
