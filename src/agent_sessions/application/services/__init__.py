"""Application services, and the store-opener registry that their ``from_url`` uses."""

from __future__ import annotations

from agent_sessions.application.services.async_persistent_session_service import (
    AsyncPersistentSessionService,
)
from agent_sessions.application.services.persistent_session_service import (
    PersistentSessionService,
)
from agent_sessions.application.store_openers import (
    AsyncStoreOpener,
    StoreOpener,
    register_async_store_opener,
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
