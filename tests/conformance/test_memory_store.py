"""The in-memory store passes the whole conformance kit, once (it has no backend).

Each check gets a new ``InMemorySessionStore``: under the sync ``PersistentSessionService``,
and under the ``AsyncPersistentSessionService`` (with the ``DirectRunner``) through the kit's
blocking bridge.
"""

from __future__ import annotations

import pytest

from agent_sessions import AsyncPersistentSessionService, PersistentSessionService
from agent_sessions.infrastructure.memory import DirectRunner, InMemorySessionStore
from agent_sessions.testing import ConformanceCheck, conformance_checks


def sync_service() -> PersistentSessionService:
    return PersistentSessionService(InMemorySessionStore())


async def async_service() -> AsyncPersistentSessionService:
    return AsyncPersistentSessionService(sync_service(), DirectRunner())


@pytest.mark.parametrize("check", conformance_checks(), ids=str)
def test_sync_service_over_memory_conforms(check: ConformanceCheck) -> None:
    check.run(sync_service)


@pytest.mark.parametrize("check", conformance_checks(), ids=str)
def test_async_service_over_memory_conforms(check: ConformanceCheck) -> None:
    check.run(async_service)
