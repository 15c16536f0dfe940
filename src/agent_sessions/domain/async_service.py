"""The :class:`AsyncSessionService` port: every method of :class:`SessionService` as a coroutine.

The signatures and the rules are those of :class:`SessionService`; each coroutine here is made
from the sync method it mirrors (its parameters, its return type, its documentation), so that
the two ports cannot drift apart. Three members differ in kind: :meth:`iter_messages` is an
async iterator, :meth:`close` a coroutine, and the service is an async context manager.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

from agent_sessions.domain.entities import SessionMessage
from agent_sessions.domain.service import SessionService

__all__ = ["AsyncSessionService", "coroutine_of"]

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S")


def coroutine_of(
    method: Callable[Concatenate[SessionService, P], T],
) -> Callable[[Callable[..., Any]], Callable[Concatenate[S, P], Coroutine[Any, Any, T]]]:
    """Type and document a coroutine as the async form of ``method`` of :class:`SessionService`.

    Used as a decorator on the coroutine that implements it: the coroutine takes the sync
    method's parameters and returns what it returns, and its documentation says which method
    it mirrors, with that method's own.
    """

    def decorate(
        coroutine: Callable[..., Any],
    ) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
        coroutine.__name__ = method.__name__
        coroutine.__doc__ = (
            f"The coroutine form of :meth:`SessionService.{method.__name__}`.\n\n"
            f"{method.__doc__ or ''}"
        )
        return coroutine

    return decorate


def _abstract(
    method: Callable[Concatenate[SessionService, P], T],
) -> Callable[Concatenate[AsyncSessionService, P], Coroutine[Any, Any, T]]:
    async def mirrored(self: AsyncSessionService, /, *args: Any, **kwargs: Any) -> None:
        """Stand in for the mirrored method, whose documentation replaces this."""

    return coroutine_of(method)(abstractmethod(mirrored))


class AsyncSessionService(ABC):
    """Create, read, extend, export and delete agent sessions from asyncio code.

    The coroutine form of :class:`SessionService`: the same methods, arguments, results,
    validation and errors, each awaited. A write that has begun finishes even if the task
    awaiting it is cancelled (the cancellation then reaches the caller), so a cancelled task
    never leaves a half-written session.
    """

    create = _abstract(SessionService.create)
    get = _abstract(SessionService.get)
    get_by_external_id = _abstract(SessionService.get_by_external_id)
    get_or_create = _abstract(SessionService.get_or_create)
    list = _abstract(SessionService.list)
    delete = _abstract(SessionService.delete)
    append_message = _abstract(SessionService.append_message)
    append_messages = _abstract(SessionService.append_messages)
    pop_message = _abstract(SessionService.pop_message)
    get_messages = _abstract(SessionService.get_messages)
    recent_messages = _abstract(SessionService.recent_messages)
    set_hold = _abstract(SessionService.set_hold)
    release_hold = _abstract(SessionService.release_hold)
    erase_owner = _abstract(SessionService.erase_owner)
    fork_session = _abstract(SessionService.fork_session)
    lineage = _abstract(SessionService.lineage)
    rewind = _abstract(SessionService.rewind)
    undo_rewind = _abstract(SessionService.undo_rewind)
    list_rewinds = _abstract(SessionService.list_rewinds)
    compact = _abstract(SessionService.compact)
    list_compactions = _abstract(SessionService.list_compactions)
    context_messages = _abstract(SessionService.context_messages)
    export_session = _abstract(SessionService.export_session)
    import_session = _abstract(SessionService.import_session)
    export_session_to = _abstract(SessionService.export_session_to)
    import_session_from = _abstract(SessionService.import_session_from)
    update_token_usage = _abstract(SessionService.update_token_usage)
    record_file_event = _abstract(SessionService.record_file_event)
    list_file_events = _abstract(SessionService.list_file_events)
    files_touched = _abstract(SessionService.files_touched)
    sessions_touching = _abstract(SessionService.sessions_touching)
    verify = _abstract(SessionService.verify)

    @abstractmethod
    def iter_messages(
        self, session_id: str, *, batch_size: int = 1000
    ) -> AsyncIterator[SessionMessage]:
        """Yield the session's messages in ascending sequence, ``batch_size`` read at a time.

        An async iterator (``async for message in service.iter_messages(id)``), with the rules
        of :meth:`SessionService.iter_messages`; a bad argument or an unknown session raises
        at the first step of the iteration rather than at the call.
        """

    @abstractmethod
    async def close(self) -> None:
        """Dispose of the store's connections."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: builtins.type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
