"""One conformance check: a named scenario run against a fresh service from a factory.

A factory is what the kit calls to get the service to check: a callable without arguments that
returns a :class:`SessionService` on a fresh, empty store, or an :class:`AsyncSessionService`
(or an awaitable of one, such as ``AsyncPersistentSessionService.from_url(url)``), which the
kit then calls through a :class:`~agent_sessions.testing.bridge.BlockingAsyncService`. Each
check calls the factory once and closes the service when it is done.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

from agent_sessions.domain.async_service import AsyncSessionService
from agent_sessions.domain.service import SessionService
from agent_sessions.testing.bridge import BlockingAsyncService

__all__ = ["ConformanceCheck", "ServiceFactory", "conformance_check", "opened_service"]

ServiceFactory: TypeAlias = Callable[
    [], SessionService | AsyncSessionService | Awaitable[AsyncSessionService]
]
"""Returns a service on a fresh, empty store: sync, async, or an awaitable of an async one."""

CheckBody: TypeAlias = Callable[[SessionService], None]


@contextlib.contextmanager
def opened_service(factory: ServiceFactory) -> Iterator[SessionService]:
    """Call ``factory`` and yield the service it gives, as a :class:`SessionService`; close it.

    An async service (or an awaitable of one) is opened and called on an event loop in a
    thread of its own, through :class:`BlockingAsyncService`. Anything else than the three
    kinds of result raises ``TypeError``.
    """
    made = factory()
    service: SessionService
    if isinstance(made, SessionService):
        service = made
    elif isinstance(made, AsyncSessionService) or inspect.isawaitable(made):
        service = BlockingAsyncService.from_factory(lambda: made)
    else:
        raise TypeError(
            f"the factory returned {type(made).__name__}; a factory returns a SessionService, "
            f"an AsyncSessionService or an awaitable of an AsyncSessionService"
        )
    try:
        yield service
    finally:
        service.close()


@dataclass(frozen=True, slots=True)
class ConformanceCheck:
    """A scenario of the :class:`SessionService` contract, run against a fresh service.

    Attributes:
        name: a short identifier, such as ``"append_message_sequences"`` (also ``str(check)``,
            handy as a pytest id).
        description: one sentence: what the service must do.

    """

    name: str
    description: str
    body: CheckBody = field(repr=False, compare=False)

    def run(self, factory: ServiceFactory) -> None:
        """Run the check on a service from ``factory``, then close the service.

        Raises:
            ConformanceError: the service broke the contract (an ``AssertionError``); the
                message says how.
            Exception: whatever the factory or the service raised that the check did not
                expect (it propagates as it is, with its traceback).

        """
        with opened_service(factory) as service:
            self.body(service)

    def __str__(self) -> str:
        return self.name


def conformance_check(body: CheckBody) -> ConformanceCheck:
    """Make a check of ``body``: its name is the function's, its description its docstring's."""
    description = " ".join((body.__doc__ or "").split())
    return ConformanceCheck(body.__name__, description, body)
