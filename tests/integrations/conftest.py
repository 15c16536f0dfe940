"""Fixtures of the framework adapters' tests: one fresh, migrated database per test module.

The backends are those the ``AGENT_SESSIONS_TEST_BACKEND`` environment variable names, comma
separated (``sqlite``, ``postgresql``, ``mariadb``), SQLite without it: each test runs once per
backend, in one process (``nox -s integrations`` names all three). A backend that cannot
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


BACKENDS_OF_THE_RUN = os.environ.get(BACKEND_ENVIRONMENT_VARIABLE, "sqlite").split(",")


@pytest.fixture(scope="module", params=BACKENDS_OF_THE_RUN)
def backend(request: pytest.FixtureRequest) -> str:
    """Return the backend of this test (the test runs once per backend of the run)."""
    return str(request.param)


@pytest.fixture(scope="module")
def database_url(backend: str) -> Iterator[str]:
    """Yield the sync URL of a fresh database of the run's backend, migrated to the head."""
    with contextlib.ExitStack() as stack:
        url = provisioned_url(stack, backend)
        with PersistentSessionService.from_url(url, migrate=True):
            pass
        yield url
