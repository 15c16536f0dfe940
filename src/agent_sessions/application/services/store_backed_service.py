"""What the parts of the persistent service share: the store, the clock, the id factory.

:class:`PersistentSessionService` is put together from one class per job, all built on
:class:`StoreBackedService`: the session use cases (its own module), the message log
(``session_messages``), file events (``session_file_events``) and export and import
(``session_transfer``).
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable
from typing import TypeVar

from agent_sessions.domain.entities import SessionMessage
from agent_sessions.domain.errors import SessionNotFoundError
from agent_sessions.domain.ports import Clock, IdFactory, SessionStore, UnitOfWork
from agent_sessions.domain.service import SessionService

__all__ = ["StoreBackedService"]

_T = TypeVar("_T")


def _page_after(
    session_id: str, after_sequence: int, size: int, uow: UnitOfWork
) -> builtins.list[SessionMessage]:
    return uow.messages.page_after(session_id, after_sequence, size)


class StoreBackedService(SessionService):
    """A :class:`SessionService` over a :class:`SessionStore`, with the reads its parts share.

    The concrete service sets ``_store``, ``_clock`` and ``_new_id`` when it is built. Every
    write fixes its ids and times before the first try of its transaction and starts with
    :meth:`~agent_sessions.domain.ports.UnitOfWork.committed_earlier`, so that a retry after a
    lost acknowledgement returns what was committed instead of writing it twice.
    """

    _store: SessionStore
    _clock: Clock
    _new_id: IdFactory

    def _messages_after(
        self, session_id: str, after_sequence: int, size: int
    ) -> builtins.list[SessionMessage]:
        """Read, in a transaction of its own, up to ``size`` messages after a sequence."""
        return self._store.transaction(
            functools.partial(_page_after, session_id, after_sequence, size), writes=False
        )

    def _on_session(
        self, session_id: str, work: Callable[[UnitOfWork], _T | None], *, writes: bool
    ) -> _T:
        """Run ``work`` in one transaction; its None means the session does not exist.

        The one place where a unit of work's "no such session" becomes
        ``SessionNotFoundError``, for the reads and writes of one session.
        """
        found = self._store.transaction(work, writes=writes)
        if found is None:
            raise SessionNotFoundError(session_id)
        return found

    def _read_for_session(
        self,
        session_id: str,
        read: Callable[[UnitOfWork], builtins.list[_T]],
    ) -> builtins.list[_T]:
        """Run ``read``; an empty answer for a session that does not exist raises instead."""

        def read_checked(uow: UnitOfWork) -> builtins.list[_T] | None:
            messages = read(uow)
            if not messages and uow.sessions.get_by_id(session_id) is None:
                return None
            return messages

        return self._on_session(session_id, read_checked, writes=False)
