"""Fixtures of the conformance tests: one database per module, emptied for every service.

The backends are those of the run (``AGENT_SESSIONS_TEST_BACKEND``, see ``tests/conftest.py``).
A backend that cannot be reached skips the module with one line, or fails the run when ``CI``
is set.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from agent_sessions import AsyncPersistentSessionService, PersistentSessionService
from agent_sessions.infrastructure.database import create_database_engine
from tests.provisioning import provisioned_url
from testsupport.databases import empty_tables


class Store:
    """A migrated database of the run's backend that opens services on empty tables.

    Creating a database per check is slow on a server, so every factory call empties the
    library's tables instead and opens a new service on them. The drift doctor ran when the
    database was migrated; the services skip it (``on_drift="off"``) to open faster.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_database_engine(url)

    def empty(self) -> None:
        """Delete every row of the library's tables."""
        empty_tables(self.engine)

    def sync_service(self, cls=PersistentSessionService):
        """Return a new ``cls`` (a PersistentSessionService) on the emptied tables."""
        self.empty()
        return cls.from_url(self.url, on_drift="off")

    async def async_service(self, cls=AsyncPersistentSessionService):
        """Return a new ``cls`` (an AsyncPersistentSessionService) on the emptied tables."""
        self.empty()
        return await cls.from_url(self.url, on_drift="off")


@pytest.fixture(scope="module")
def store(backend: str) -> Iterator[Store]:
    """Yield a freshly provisioned, migrated database of the run's backend."""
    with contextlib.ExitStack() as stack:
        url = provisioned_url(stack, backend)
        PersistentSessionService.from_url(url, migrate=True).close()
        opened = Store(url)
        stack.callback(opened.engine.dispose)
        yield opened


@pytest.fixture
def sqlite_run(backend: str) -> None:
    """Skip a test of the kit itself (or of its how-to's SQLite examples) outside the SQLite run.

    What the kit does with a broken service, and its bridge, do not depend on the backend;
    checking them once keeps the server runs to what does: the built-in services.
    """
    if backend != "sqlite":
        pytest.skip("a test of the kit itself, the same on every backend: run in the SQLite run")
