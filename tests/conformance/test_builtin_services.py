"""The library's own services pass the whole conformance kit, on the run's backend.

Each check gets a new service on emptied tables (see ``conftest.py``): the sync
``PersistentSessionService``, and the ``AsyncPersistentSessionService`` through the kit's
blocking bridge, its coroutines awaited on an event loop of the kit's own thread.
"""

from __future__ import annotations

import pytest

from agent_sessions.testing import ConformanceCheck, conformance_checks
from tests.conformance.conftest import Store


@pytest.mark.parametrize("check", conformance_checks(), ids=str)
def test_sync_service_conforms(check: ConformanceCheck, store: Store) -> None:
    check.run(store.sync_service)


@pytest.mark.parametrize("check", conformance_checks(), ids=str)
def test_async_service_conforms(check: ConformanceCheck, store: Store) -> None:
    check.run(store.async_service)
