"""Fixtures of the property tests: one real database per module, emptied between examples.

The backends are those of the run (``AGENT_SESSIONS_TEST_BACKEND``, see ``tests/conftest.py``).
A backend that cannot be reached skips the database properties with one line, or fails the run
when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, func, select

from agent_sessions import PersistentSessionService
from agent_sessions.infrastructure.database import create_database_engine
from agent_sessions.infrastructure.database.models import Base
from tests.provisioning import provisioned_url
from testsupport.databases import empty_tables

settings.register_profile(
    "default",
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


class Database:
    """A migrated database of the chosen backend, a service on it, and table helpers."""

    def __init__(self, service: PersistentSessionService, engine: Engine) -> None:
        self.service = service
        self._engine = engine

    def empty(self) -> None:
        """Delete every row of the library's tables."""
        empty_tables(self._engine)

    def row_counts(self) -> dict[str, int]:
        """Return the number of rows of each of the library's tables."""
        with self._engine.connect() as connection:
            return {
                table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in Base.metadata.sorted_tables
            }


@pytest.fixture(scope="module")
def database(backend: str) -> Iterator[Database]:
    """Yield a freshly provisioned, migrated database of the test's backend."""
    with contextlib.ExitStack() as stack:
        url = provisioned_url(stack, backend)
        engine = create_database_engine(url)
        stack.callback(engine.dispose)
        service = stack.enter_context(PersistentSessionService.from_url(url, migrate=True))
        yield Database(service, engine)
