"""Application services."""

from __future__ import annotations

from agent_sessions.application.services.async_persistent_session_service import (
    AsyncPersistentSessionService,
    AsyncStoreOpener,
    register_async_store_opener,
)
from agent_sessions.application.services.persistent_session_service import (
    PersistentSessionService,
    StoreOpener,
    register_store_opener,
)

__all__ = [
    "AsyncPersistentSessionService",
    "AsyncStoreOpener",
    "PersistentSessionService",
    "StoreOpener",
    "register_async_store_opener",
    "register_store_opener",
]
