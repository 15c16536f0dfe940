"""The application layer: services that implement the domain ports over repository ports."""

from __future__ import annotations

from agent_sessions.application.services import PersistentSessionService

__all__ = ["PersistentSessionService"]
