"""Fixtures of the application-layer tests: the service over a fresh in-memory store.

These tests need no database, so they run once, whatever backends the run names.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent_sessions import PersistentSessionService
from agent_sessions.infrastructure.memory import InMemorySessionStore


@pytest.fixture
def store() -> InMemorySessionStore:
    """Return an empty in-memory store."""
    return InMemorySessionStore()


@pytest.fixture
def service(store: InMemorySessionStore) -> Iterator[PersistentSessionService]:
    """Yield the service over ``store``, closed afterwards."""
    with PersistentSessionService(store) as opened:
        yield opened
