"""A conformance kit: check any :class:`~agent_sessions.SessionService` against the contract.

The kit holds the contract's scenarios as checks that run against a service you supply through
a factory, the same checks the library's own services pass. It needs no test framework (a
failed check raises :class:`ConformanceError`, an ``AssertionError``), and imports only the
domain of agent-sessions, so it checks any implementation: a store of your own, a new backend,
a wrapper, an async service.

Example:
    >>> from agent_sessions.testing import run_conformance
    >>> report = run_conformance(lambda: MySessionService(":memory:"))
    >>> print(report.render())
    >>> report.raise_on_failure()

With pytest, one test per check::

    @pytest.mark.parametrize("check", conformance_checks(), ids=str)
    def test_conformance(check: ConformanceCheck) -> None:
        check.run(make_service)

See ``docs/how-to/check-your-own-service.md``.

"""

from __future__ import annotations

from agent_sessions.testing.bridge import BlockingAsyncService, EventLoopThread
from agent_sessions.testing.check import ConformanceCheck, ServiceFactory, opened_service
from agent_sessions.testing.expectations import ConformanceError
from agent_sessions.testing.suite import (
    CheckFailure,
    ConformanceReport,
    conformance_checks,
    run_conformance,
)

__all__ = [
    "BlockingAsyncService",
    "CheckFailure",
    "ConformanceCheck",
    "ConformanceError",
    "ConformanceReport",
    "EventLoopThread",
    "ServiceFactory",
    "conformance_checks",
    "opened_service",
    "run_conformance",
]
