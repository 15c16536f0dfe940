"""The database set-up every Robot keyword library shares.

Each library keeps an ``ExitStack`` of what its suite opened; :func:`provision` enters a fresh
database of the run's backend on it, and :func:`open_migrated_service` a service on a database,
migrated to head. Closing the stack closes the services and drops the databases. A backend the
run cannot reach skips the test with one line, or fails it when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
from typing import Any, NoReturn

from robot.api.exceptions import SkipExecution

from agent_sessions import PersistentSessionService
from testsupport.databases import BackendUnavailable, provision_database, unavailable_is_failure

__all__ = ["open_migrated_service", "provision", "skip_unavailable"]


def skip_unavailable(backend: str, error: BackendUnavailable) -> NoReturn:
    """Skip the Robot test because ``backend`` cannot be reached (re-raise ``error`` in CI)."""
    if unavailable_is_failure():
        raise error
    raise SkipExecution(f"{backend} is not available: {error}") from error


def provision(stack: contextlib.ExitStack, backend: str) -> str:
    """Return the URL of a fresh, empty database of ``backend``, dropped when ``stack`` closes."""
    try:
        return stack.enter_context(provision_database(backend))
    except BackendUnavailable as error:
        skip_unavailable(backend, error)


def open_migrated_service(
    stack: contextlib.ExitStack, url: str, **options: Any
) -> PersistentSessionService:
    """Migrate the database at ``url`` to head and open a service on it, closed with ``stack``."""
    service = PersistentSessionService.from_url(url, migrate=True, **options)
    stack.callback(service.close)
    return service
