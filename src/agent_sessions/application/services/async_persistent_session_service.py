"""The asyncio form of :class:`PersistentSessionService`: the same service, awaited.

Every coroutine runs the sync service's method of the same name through the store's
:class:`~agent_sessions.domain.ports.AsyncRunner`, which turns each wait on the database into
an ``await`` on the event loop (over SQLAlchemy's asyncio engine, with no thread). So the
models, statements, validation, export format, retry policy and error translation are the
sync service's own, not a copy of them.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

from agent_sessions.application.services.persistent_session_service import (
    PersistentSessionService,
)
from agent_sessions.application.store_openers import async_store_opener
from agent_sessions.domain.async_service import AsyncSessionService, coroutine_of
from agent_sessions.domain.entities import SessionMessage
from agent_sessions.domain.ports import AsyncRunner
from agent_sessions.domain.service import SessionService

__all__ = ["AsyncPersistentSessionService"]

P = ParamSpec("P")
T = TypeVar("T")


def _in_service(
    method: Callable[Concatenate[SessionService, P], T],
) -> Callable[Concatenate[AsyncPersistentSessionService, P], Coroutine[Any, Any, T]]:
    name = method.__name__

    async def call(self: AsyncPersistentSessionService, /, *args: Any, **kwargs: Any) -> Any:
        return await self._runner.run(getattr(self._service, name), *args, **kwargs)

    return coroutine_of(method)(call)


def _next_page(messages: Iterator[SessionMessage], size: int) -> list[SessionMessage]:
    return list(itertools.islice(messages, size))


class AsyncPersistentSessionService(AsyncSessionService):
    """:class:`AsyncSessionService` over SQLAlchemy's asyncio engine.

    Open it with ``await AsyncPersistentSessionService.from_url(url)`` and close it with
    ``await service.close()`` or ``async with``. Many tasks of one event loop may use it at
    once: each call takes a pooled connection for its transaction, as a thread does with the
    sync service.
    """

    def __init__(self, service: PersistentSessionService, runner: AsyncRunner) -> None:
        """Wrap a sync service whose store ``runner`` can call from an event loop."""
        self._service = service
        self._runner = runner

    @classmethod
    async def from_url(
        cls, url: str, *, migrate: bool = False, **options: Any
    ) -> AsyncPersistentSessionService:
        """Open the database at ``url`` on an asyncio engine, checked as ``from_url`` checks.

        A synchronous URL gets its backend's asyncio driver (``sqlite+aiosqlite``,
        ``postgresql+psycopg_async``, ``mysql+aiomysql``); the options are those of
        :meth:`PersistentSessionService.from_url`, and so is the ``RuntimeError`` raised when no
        opener is registered.
        """
        store, runner = await async_store_opener()(url, migrate=migrate, **options)
        return cls(PersistentSessionService(store), runner)

    create = _in_service(SessionService.create)
    get = _in_service(SessionService.get)
    get_by_external_id = _in_service(SessionService.get_by_external_id)
    get_or_create = _in_service(SessionService.get_or_create)
    list = _in_service(SessionService.list)
    delete = _in_service(SessionService.delete)
    append_message = _in_service(SessionService.append_message)
    append_messages = _in_service(SessionService.append_messages)
    pop_message = _in_service(SessionService.pop_message)
    get_messages = _in_service(SessionService.get_messages)
    recent_messages = _in_service(SessionService.recent_messages)
    set_hold = _in_service(SessionService.set_hold)
    release_hold = _in_service(SessionService.release_hold)
    erase_owner = _in_service(SessionService.erase_owner)
    fork_session = _in_service(SessionService.fork_session)
    lineage = _in_service(SessionService.lineage)
    rewind = _in_service(SessionService.rewind)
    undo_rewind = _in_service(SessionService.undo_rewind)
    list_rewinds = _in_service(SessionService.list_rewinds)
    compact = _in_service(SessionService.compact)
    list_compactions = _in_service(SessionService.list_compactions)
    context_messages = _in_service(SessionService.context_messages)
    export_session = _in_service(SessionService.export_session)
    import_session = _in_service(SessionService.import_session)
    export_session_to = _in_service(SessionService.export_session_to)
    import_session_from = _in_service(SessionService.import_session_from)
    update_token_usage = _in_service(SessionService.update_token_usage)
    record_file_event = _in_service(SessionService.record_file_event)
    list_file_events = _in_service(SessionService.list_file_events)
    files_touched = _in_service(SessionService.files_touched)
    sessions_touching = _in_service(SessionService.sessions_touching)
    verify = _in_service(SessionService.verify)

    async def iter_messages(
        self, session_id: str, *, batch_size: int = 1000
    ) -> AsyncIterator[SessionMessage]:
        """Yield the session's messages in ascending sequence, ``batch_size`` read at a time."""
        messages = await self._runner.run(
            self._service.iter_messages, session_id, batch_size=batch_size
        )
        while page := await self._runner.run(_next_page, messages, batch_size):
            for message in page:
                yield message

    async def close(self) -> None:
        """Dispose of the store's connections."""
        await self._runner.run(self._service.close)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._service._store!r})"
