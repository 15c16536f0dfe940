"""Fixtures of the framework adapters' tests: one fresh, migrated database per test module.

The backends are those of the run (``AGENT_SESSIONS_TEST_BACKEND``, see ``tests/conftest.py``;
``nox -s integrations`` names all three). A backend that cannot be reached skips the module
with one line, or fails the run when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from agent_sessions import PersistentSessionService
from tests.provisioning import provisioned_url


@pytest.fixture(scope="module")
def database_url(backend: str) -> Iterator[str]:
    """Yield the sync URL of a fresh database of the test's backend, migrated to the head."""
    with contextlib.ExitStack() as stack:
        url = provisioned_url(stack, backend)
        with PersistentSessionService.from_url(url, migrate=True):
            pass
        yield url
