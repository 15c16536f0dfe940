"""What the SQL backend tests share: a migrated database of the run's backend, and a service."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from agent_sessions import PersistentSessionService
from agent_sessions.infrastructure.database import SqlAlchemySessionStore, open_store
from tests.provisioning import provisioned_url


@pytest.fixture(scope="module")
def store(backend: str) -> Iterator[SqlAlchemySessionStore]:
    """A migrated database of the backend, shared by the module's tests."""
    with contextlib.ExitStack() as stack:
        opened = open_store(provisioned_url(stack, backend), migrate=True)
        stack.callback(opened.close)
        yield opened


@pytest.fixture
def service(store: SqlAlchemySessionStore) -> PersistentSessionService:
    """The service over the module's store (sessions are fresh per test, the database not)."""
    return PersistentSessionService(store)
