"""SQLAlchemy persistence: models, repositories, the session store and the migration runner."""

from __future__ import annotations

from agent_sessions.infrastructure.database.engine import create_database_engine, redact_url
from agent_sessions.infrastructure.database.error_translation import translate_error
from agent_sessions.infrastructure.database.file_event_repository import FileEventRepository
from agent_sessions.infrastructure.database.message_repository import SessionMessageRepository
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
from agent_sessions.infrastructure.database.reconcile import (
    add_column_if_missing,
    create_index_if_missing,
    drop_column_if_exists,
    drop_index_if_exists,
)
from agent_sessions.infrastructure.database.retry import (
    TRANSIENT_CLASSIFIERS,
    Fault,
    RetryPolicy,
    classify_error,
    database_retry,
    is_transient_error,
)
from agent_sessions.infrastructure.database.schema_doctor import (
    DriftFinding,
    DriftReport,
    diagnose,
)
from agent_sessions.infrastructure.database.session_repository import SessionRepository
from agent_sessions.infrastructure.database.session_store import SqlAlchemySessionStore
from agent_sessions.infrastructure.database.store_opening import open_async_store, open_store
from agent_sessions.infrastructure.database.unit_of_work import SqlAlchemyUnitOfWork

__all__ = [
    "TRANSIENT_CLASSIFIERS",
    "Base",
    "DriftFinding",
    "DriftReport",
    "Fault",
    "FileEventRepository",
    "RetryPolicy",
    "SessionMessageModel",
    "SessionMessageRepository",
    "SessionModel",
    "SessionRepository",
    "SqlAlchemySessionStore",
    "SqlAlchemyUnitOfWork",
    "add_column_if_missing",
    "check_schema",
    "classify_error",
    "create_database_engine",
    "create_index_if_missing",
    "current_revision",
    "database_retry",
    "diagnose",
    "downgrade",
    "drop_column_if_exists",
    "drop_index_if_exists",
    "head_revision",
    "is_transient_error",
    "open_async_store",
    "open_store",
    "redact_url",
    "schema_differences",
    "translate_error",
    "upgrade",
]
