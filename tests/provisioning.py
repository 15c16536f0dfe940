"""One throwaway database per test module, for the pytest suites."""

from __future__ import annotations

import contextlib

import pytest

from testsupport.databases import BackendUnavailable, provision_database, unavailable_is_failure


def provisioned_url(stack: contextlib.ExitStack, backend: str) -> str:
    """Return the URL of a fresh database of ``backend``, dropped when ``stack`` closes.

    A backend that cannot be reached skips the module with one line, or fails the run when
    the ``CI`` environment variable is set.
    """
    try:
        return stack.enter_context(provision_database(backend))
    except BackendUnavailable as exc:
        if unavailable_is_failure():
            raise
        pytest.skip(f"backend {backend} unavailable: {exc}")
