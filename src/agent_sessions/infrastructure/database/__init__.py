"""SQLAlchemy persistence: models, repositories, the session store and the migration runner."""

from __future__ import annotations

from agent_sessions.infrastructure.database.engine import create_database_engine, redact_url
from agent_sessions.infrastructure.database.migration_runner import (
    check_schema,
    current_revision,
    downgrade,
    head_revision,
    schema_differences,
    upgrade,
)
from agent_sessions.infrastructure.database.models import (
    Base,
    SessionMessageModel,
    SessionModel,
)
from agent_sessions.infrastructure.database.repositories import (
    SessionMessageRepository,
    SessionRepository,
)
from agent_sessions.infrastructure.database.retry import (
    RetryPolicy,
    database_retry,
    is_transient_error,
)
from agent_sessions.infrastructure.database.store import open_store
from agent_sessions.infrastructure.database.unit_of_work import (
    SqlAlchemySessionStore,
    SqlAlchemyUnitOfWork,
)

__all__ = [
    "Base",
    "RetryPolicy",
    "SessionMessageModel",
    "SessionMessageRepository",
    "SessionModel",
    "SessionRepository",
    "SqlAlchemySessionStore",
    "SqlAlchemyUnitOfWork",
    "check_schema",
    "create_database_engine",
    "current_revision",
    "database_retry",
    "downgrade",
    "head_revision",
    "is_transient_error",
    "open_store",
    "redact_url",
    "schema_differences",
    "upgrade",
]
