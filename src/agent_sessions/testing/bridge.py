"""An :class:`AsyncSessionService` behind the blocking :class:`SessionService` interface.

The conformance checks call a service the way a thread does. To check an async service with
the same checks, :class:`BlockingAsyncService` runs an event loop in a thread of its own
(:class:`EventLoopThread`) and awaits each call on it, handing the result (or the error) back
to the calling thread. Several threads may call at once: their coroutines then run as
concurrent tasks of that one loop, which is how an asyncio program shares a service.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

from agent_sessions.domain.async_service import AsyncSessionService
from agent_sessions.domain.entities import SessionMessage
from agent_sessions.domain.service import SessionService

__all__ = ["BlockingAsyncService", "EventLoopThread"]

P = ParamSpec("P")
T = TypeVar("T")
_END: Any = object()


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


class EventLoopThread:
    """An asyncio event loop running in a daemon thread; :meth:`run` awaits on it.

    Usable as a context manager, which closes it on exit.
    """

    def __init__(self) -> None:
        """Start a new event loop in a new daemon thread."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="agent-sessions-event-loop", daemon=True
        )
        self._thread.start()

    def run(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` on the loop and return its result (or raise its error) here.

        Blocks the calling thread, which must not be the loop's own (see :attr:`is_current`).
        """
        return asyncio.run_coroutine_threadsafe(_awaited(awaitable), self._loop).result()

    @property
    def is_current(self) -> bool:
        """Whether the caller runs on the loop's own thread (inside a coroutine of the loop)."""
        return threading.current_thread() is self._thread

    def close(self) -> None:
        """Stop the loop, wait for its thread to end, and close the loop."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> EventLoopThread:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _blocking(
    method: Callable[Concatenate[SessionService, P], T],
) -> Callable[Concatenate[BlockingAsyncService, P], T]:
    """Make the blocking form of ``method``: await the async service's coroutine of its name."""
    name = method.__name__

    def call(self: BlockingAsyncService, /, *args: P.args, **kwargs: P.kwargs) -> T:
        result: T = self._call(name, *args, **kwargs)
        return result

    call.__name__ = name
    call.__qualname__ = f"BlockingAsyncService.{name}"
    call.__doc__ = f"Await the async ``{name}`` on the loop.\n\n{method.__doc__ or ''}"
    return call


class BlockingAsyncService(SessionService):
    """A :class:`SessionService` that awaits an :class:`AsyncSessionService` on a loop thread.

    Every method takes the sync arguments, awaits the async service's coroutine of the same
    name on :attr:`loop` and returns its result or raises its error, so code (and checks)
    written for a :class:`SessionService` runs unchanged against an async one.
    ``iter_messages`` reads its first batch at the call, as the sync method does, and the rest
    as the iteration goes. :meth:`close` awaits the async service's ``close()``, then closes
    the loop if :meth:`from_factory` started it for this service.

    Example:
        >>> service = BlockingAsyncService.from_factory(
        ...     lambda: AsyncPersistentSessionService.from_url("sqlite:///agent_sessions.db")
        ... )
        >>> session = service.create("support-bot")
        >>> service.close()

    """

    def __init__(self, service: AsyncSessionService, loop: EventLoopThread) -> None:
        """Call ``service`` on ``loop``, which stays open when the service is closed.

        ``service`` must be usable from that loop: an asyncio engine's connections belong to
        the loop that opened them, so open it there (:meth:`from_factory` does).
        """
        self.async_service = service
        self.loop = loop
        self._owns_loop = False

    @classmethod
    def from_factory(
        cls,
        factory: Callable[[], Awaitable[AsyncSessionService] | AsyncSessionService],
        loop: EventLoopThread | None = None,
    ) -> BlockingAsyncService:
        """Open an async service with ``factory`` on ``loop`` (a new one when None) and wrap it.

        ``factory`` returns the service or an awaitable of it, such as
        ``lambda: AsyncPersistentSessionService.from_url(url)``; the awaitable is awaited on
        the loop, so the service's connections belong to it.
        """
        used = EventLoopThread() if loop is None else loop
        try:
            made = factory()
            service = used.run(made) if isinstance(made, Awaitable) else made
            if not isinstance(service, AsyncSessionService):
                raise TypeError(
                    f"the factory gave {type(service).__name__}, not an AsyncSessionService"
                )
        except BaseException:
            if loop is None:
                used.close()
            raise
        bridge = cls(service, used)
        bridge._owns_loop = loop is None
        return bridge

    def run(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` on the service's loop and return its result."""
        return self.loop.run(awaitable)

    def _call(self, name: str, /, *args: Any, **kwargs: Any) -> Any:
        """Await the async service's method ``name`` with these arguments on the loop.

        Subclasses may override this to reroute calls, for instance those made from the loop's
        own thread, where waiting on the loop would never end.
        """
        if self.loop.is_current:
            raise RuntimeError(
                f"{name}() was called on the event loop's own thread (from inside another "
                f"call of the service, such as a file object it writes to): it cannot wait "
                f"for the loop it runs on; call the async service directly there"
            )
        return self.loop.run(getattr(self.async_service, name)(*args, **kwargs))

    create = _blocking(SessionService.create)
    get = _blocking(SessionService.get)
    get_by_external_id = _blocking(SessionService.get_by_external_id)
    get_or_create = _blocking(SessionService.get_or_create)
    list = _blocking(SessionService.list)
    delete = _blocking(SessionService.delete)
    append_message = _blocking(SessionService.append_message)
    append_messages = _blocking(SessionService.append_messages)
    pop_message = _blocking(SessionService.pop_message)
    get_messages = _blocking(SessionService.get_messages)
    recent_messages = _blocking(SessionService.recent_messages)
    fork_session = _blocking(SessionService.fork_session)
    lineage = _blocking(SessionService.lineage)
    rewind = _blocking(SessionService.rewind)
    undo_rewind = _blocking(SessionService.undo_rewind)
    list_rewinds = _blocking(SessionService.list_rewinds)
    compact = _blocking(SessionService.compact)
    list_compactions = _blocking(SessionService.list_compactions)
    context_messages = _blocking(SessionService.context_messages)
    set_hold = _blocking(SessionService.set_hold)
    release_hold = _blocking(SessionService.release_hold)
    erase_owner = _blocking(SessionService.erase_owner)
    export_session = _blocking(SessionService.export_session)
    import_session = _blocking(SessionService.import_session)
    export_session_to = _blocking(SessionService.export_session_to)
    import_session_from = _blocking(SessionService.import_session_from)
    update_token_usage = _blocking(SessionService.update_token_usage)
    record_file_event = _blocking(SessionService.record_file_event)
    list_file_events = _blocking(SessionService.list_file_events)
    files_touched = _blocking(SessionService.files_touched)
    sessions_touching = _blocking(SessionService.sessions_touching)
    verify = _blocking(SessionService.verify)

    def iter_messages(self, session_id: str, *, batch_size: int = 1000) -> Iterator[SessionMessage]:
        """Iterate as the sync service does: a bad call raises here, before the first message."""
        messages = self.async_service.iter_messages(session_id, batch_size=batch_size)
        first = self.loop.run(anext(messages, _END))
        return self._rest(messages, first)

    def _rest(
        self, messages: AsyncIterator[SessionMessage], first: SessionMessage
    ) -> Iterator[SessionMessage]:
        item = first
        while item is not _END:
            yield item
            item = self.loop.run(anext(messages, _END))

    def close(self) -> None:
        """Close the async service, then the loop if this object started it."""
        try:
            self.loop.run(self.async_service.close())
        finally:
            if self._owns_loop:
                self.loop.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.async_service!r})"
