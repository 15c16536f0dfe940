"""The async service behind the sync service's interface, to run the sync scenarios on it.

``behave -D service=async`` opens every service of the run as an
:class:`~agent_sessions.AsyncPersistentSessionService` on an event loop of its own thread and
hands the scenarios a :class:`BlockingAsyncService`: each call is awaited on that loop and its
result (or error) returned to the calling thread, so the whole conformance suite checks the
async service as it checks the sync one, threads included.

The bridge itself is the conformance kit's
(:class:`agent_sessions.testing.BlockingAsyncService`); this subclass adds what the Behave
steps need of the library's own async service: its store, for the steps that inject faults,
and calls made from inside another call.
"""

from __future__ import annotations

from typing import Any

from agent_sessions import AsyncPersistentSessionService
from agent_sessions.testing import BlockingAsyncService as KitBlockingAsyncService
from agent_sessions.testing import EventLoopThread

__all__ = ["BlockingAsyncService", "EventLoopThread"]


class BlockingAsyncService(KitBlockingAsyncService):
    """Calls an :class:`AsyncPersistentSessionService` with the sync service's interface."""

    def __init__(self, service: AsyncPersistentSessionService, loop: EventLoopThread) -> None:
        super().__init__(service, loop)
        self._sync_service = service._service
        self._store = service._service._store  # the steps that inject faults reach for it

    @classmethod
    def from_url(cls, loop: EventLoopThread, url: str, **options: Any) -> BlockingAsyncService:
        """Open an async service on ``loop``."""
        return cls(loop.run(AsyncPersistentSessionService.from_url(url, **options)), loop)

    def _call(self, name: str, /, *args: Any, **kwargs: Any) -> Any:
        if self.loop.is_current:
            # Called back from inside a call (a file object the export writes to, say):
            # the loop cannot wait on itself, but this code already runs in the service's
            # greenlet, where the sync method's waits are awaited on the loop.
            return getattr(self._sync_service, name)(*args, **kwargs)
        return super()._call(name, *args, **kwargs)
