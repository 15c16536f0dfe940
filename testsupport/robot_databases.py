"""The database set-up every Robot keyword library shares.

Each library keeps an ``ExitStack`` of what its suite opened; :func:`provision` enters a fresh
database of the run's backend on it, and :func:`open_migrated_service` a service on a database,
migrated to head. :class:`SuiteStore` holds the two for a library whose suite works on one
such database. Closing the stack closes the services and drops the databases. A backend the
run cannot reach skips the test with one line, or fails it when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
from typing import Any, NoReturn

from robot.api.exceptions import SkipExecution

from agent_sessions import PersistentSessionService
from testsupport.databases import BackendUnavailable, provision_database, unavailable_is_failure

__all__ = ["SuiteStore", "open_migrated_service", "provision", "skip_unavailable"]


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


class SuiteStore:
    """A suite's database of one backend, migrated, and a service on it, for a keyword library.

    :meth:`open` in the suite set-up, :meth:`close` in its teardown (which drops the database
    and every other one :meth:`provision_another` gave).
    """

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self._stack = contextlib.ExitStack()
        self._url: str | None = None
        self._service: PersistentSessionService | None = None

    def open(self) -> str:
        """Provision a fresh database, migrate it, open a service on it; return its URL."""
        self._url = provision(self._stack, self.backend)
        self._service = open_migrated_service(self._stack, self._url)
        return self._url

    def provision_another(self) -> str:
        """Return the URL of another fresh, empty database, dropped with this one."""
        return provision(self._stack, self.backend)

    def close(self) -> None:
        """Close the service and drop the databases."""
        self._stack.close()

    @property
    def url(self) -> str:
        """The URL of the suite's database."""
        if self._url is None:
            raise AssertionError("the suite's store is not open: run its set-up keyword first")
        return self._url

    @property
    def service(self) -> PersistentSessionService:
        """The service on the suite's database."""
        if self._service is None:
            raise AssertionError("the suite's store is not open: run its set-up keyword first")
        return self._service
