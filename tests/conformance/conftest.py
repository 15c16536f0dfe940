"""Fixtures of the conformance tests: one database per module, emptied for every service.

The backend is SQLite unless the ``AGENT_SESSIONS_TEST_BACKEND`` environment variable (or the
``--backend`` option of the property tests, when both suites run together) names
``postgresql`` or ``mariadb``. A backend that cannot be reached skips the module with one
line, or fails the run when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from agent_sessions import AsyncPersistentSessionService, PersistentSessionService
from agent_sessions.infrastructure.database import create_database_engine
from agent_sessions.infrastructure.database.models import Base
from tests.provisioning import provisioned_url

BACKEND_ENVIRONMENT_VARIABLE = "AGENT_SESSIONS_TEST_BACKEND"


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
        with self.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())

    def sync_service(self, cls=PersistentSessionService):
        """Return a new ``cls`` (a PersistentSessionService) on the emptied tables."""
        self.empty()
        return cls.from_url(self.url, on_drift="off")

    async def async_service(self, cls=AsyncPersistentSessionService):
        """Return a new ``cls`` (an AsyncPersistentSessionService) on the emptied tables."""
        self.empty()
        return await cls.from_url(self.url, on_drift="off")


@pytest.fixture(scope="module")
def backend(request: pytest.FixtureRequest) -> str:
    """Return the backend of this run."""
    chosen = request.config.getoption("--backend", default=None)
    return chosen or os.environ.get(BACKEND_ENVIRONMENT_VARIABLE, "sqlite")


@pytest.fixture(scope="module")
def store(backend: str) -> Iterator[Store]:
    """Yield a freshly provisioned, migrated database of the run's backend."""
    with contextlib.ExitStack() as stack:
        url = provisioned_url(stack, backend)
        PersistentSessionService.from_url(url, migrate=True).close()
        opened = Store(url)
        stack.callback(opened.engine.dispose)
        yield opened
