"""Application services."""

from __future__ import annotations

from agent_sessions.application.services.persistent_session_service import (
    PersistentSessionService,
    StoreOpener,
    register_store_opener,
)

__all__ = ["PersistentSessionService", "StoreOpener", "register_store_opener"]
