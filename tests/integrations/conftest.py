"""Fixtures of the framework adapters' tests: one fresh, migrated database per test module.

The backend is SQLite unless the ``AGENT_SESSIONS_TEST_BACKEND`` environment variable names
``postgresql`` or ``mariadb`` (``nox -s integrations`` runs all three). A backend that cannot
be reached skips the module with one line, or fails the run when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from agent_sessions import PersistentSessionService
from tests.provisioning import provisioned_url

BACKEND_ENVIRONMENT_VARIABLE = "AGENT_SESSIONS_TEST_BACKEND"


@pytest.fixture(scope="module")
def backend() -> str:
    """Return the backend of this run."""
    return os.environ.get(BACKEND_ENVIRONMENT_VARIABLE, "sqlite")


@pytest.fixture(scope="module")
def database_url(backend: str) -> Iterator[str]:
    """Yield the sync URL of a fresh database of the run's backend, migrated to the head."""
    with contextlib.ExitStack() as stack:
        url = provisioned_url(stack, backend)
        with PersistentSessionService.from_url(url, migrate=True):
            pass
        yield url
