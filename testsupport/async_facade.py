"""The async service behind the sync service's interface, to run the sync scenarios on it.

``behave -D service=async`` opens every service of the run as an
:class:`~agent_sessions.AsyncPersistentSessionService` on an event loop of its own thread and
hands the scenarios a :class:`BlockingAsyncService`: each call is awaited on that loop and its
result (or error) returned to the calling thread, so the whole conformance suite checks the
async service as it checks the sync one, threads included.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from agent_sessions import AsyncPersistentSessionService, SessionMessage

__all__ = ["BlockingAsyncService", "EventLoopThread"]

T = TypeVar("T")
_END = object()


class EventLoopThread:
    """An event loop running in a daemon thread; ``run`` awaits a coroutine on it."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and return its result to this thread."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    @property
    def is_current(self) -> bool:
        """Whether the caller runs on the loop's own thread (inside a call of the service)."""
        return threading.current_thread() is self._thread

    def close(self) -> None:
        """Stop the loop and its thread."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class BlockingAsyncService:
    """Calls an :class:`AsyncPersistentSessionService` with the sync service's interface."""

    def __init__(self, service: AsyncPersistentSessionService, loop: EventLoopThread) -> None:
        self.async_service = service
        self._loop = loop
        self._store = service._service._store  # the steps that inject faults reach for it

    @classmethod
    def from_url(cls, loop: EventLoopThread, url: str, **options: Any) -> BlockingAsyncService:
        """Open an async service on ``loop``."""
        return cls(loop.run(AsyncPersistentSessionService.from_url(url, **options)), loop)

    def __getattr__(self, name: str) -> Any:
        member = getattr(self.async_service, name)
        if not callable(member) or name.startswith("_"):
            return member

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._loop.is_current:
                # Called back from inside a call (a file object the export writes to, say):
                # the loop cannot wait on itself, but this code already runs in the service's
                # greenlet, where the sync method's waits are awaited on the loop.
                return getattr(self.async_service._service, name)(*args, **kwargs)
            return self._loop.run(member(*args, **kwargs))

        return call

    def iter_messages(self, session_id: str, *, batch_size: int = 1000) -> Iterator[SessionMessage]:
        """Iterate as the sync service does: a bad call raises here, before the first message."""
        messages = self.async_service.iter_messages(session_id, batch_size=batch_size)
        first = self._loop.run(anext(messages, _END))
        return self._rest(messages, first)

    def _rest(self, messages: Any, first: Any) -> Iterator[SessionMessage]:
        item = first
        while item is not _END:
            yield item
            item = self._loop.run(anext(messages, _END))

    def close(self) -> None:
        """Close the async service."""
        self._loop.run(self.async_service.close())

    def __repr__(self) -> str:
        return repr(self.async_service)

    def __enter__(self) -> BlockingAsyncService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
