"""An in-memory :class:`~agent_sessions.domain.ports.SessionStore`, for tests of your own.

``PersistentSessionService(InMemorySessionStore())`` is the library's service over Python
objects instead of a database: the same use cases, validation, export format and retry
look-ups, with every rule of the ports (gapless sequences, times that never move back, unique
external ids, cascades, idempotent token usage) kept by the store. It imports only the domain
and the standard library. ``AsyncPersistentSessionService(service, DirectRunner())`` gives
the asyncio form of the same service. See ``docs/how-to/test-with-the-in-memory-store.md``.
"""

from __future__ import annotations

from agent_sessions.infrastructure.memory.async_runner import DirectRunner
from agent_sessions.infrastructure.memory.store import (
    DEFAULT_ATTEMPTS,
    InMemorySessionStore,
    InMemoryUnitOfWork,
)
from agent_sessions.infrastructure.memory.tables import MemoryTables

__all__ = [
    "DEFAULT_ATTEMPTS",
    "DirectRunner",
    "InMemorySessionStore",
    "InMemoryUnitOfWork",
    "MemoryTables",
]
