"""Repository ports and the transaction boundary that the application layer codes against.

Adapters implement these ABCs (the SQLAlchemy ones live in
``agent_sessions.infrastructure.database``). Their docstrings are the contract: what each method
returns, in which order, and what it does when a row is absent.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from agent_sessions.domain.entities import MessageRole, Session, SessionMessage

__all__ = [
    "Clock",
    "IdFactory",
    "SessionMessageRepository",
    "SessionRepository",
    "SessionStore",
    "UnitOfWork",
]

T = TypeVar("T")


class Clock(Protocol):
    """Supplies the current time as a timezone-aware UTC datetime."""

    def __call__(self) -> datetime:
        """Return now."""
        ...


class IdFactory(Protocol):
    """Supplies a new, unique 26-character ULID string on every call."""

    def __call__(self) -> str:
        """Return a fresh id."""
        ...


class SessionRepository(ABC):
    """Stores and finds :class:`Session` rows. Works inside the caller's transaction."""

    @abstractmethod
    def create(self, session: Session) -> Session:
        """Insert ``session`` as given (id and timestamps included) and return it."""

    @abstractmethod
    def get_by_id(self, session_id: str) -> Session | None:
        """Return the session with this id, or None."""

    @abstractmethod
    def list_all(
        self, *, actor_name: str | None = None, limit: int = 50, offset: int = 0
    ) -> builtins.list[Session]:
        """Return sessions newest first (``created_at`` then ``id``, both descending).

        Only the sessions of ``actor_name`` when it is given; ``limit`` rows after skipping
        ``offset``.
        """

    @abstractmethod
    def delete(self, session_id: str) -> bool:
        """Delete the session and, by cascade, its messages; return False if it was absent."""

    @abstractmethod
    def update(
        self,
        session_id: str,
        *,
        add_prompt_tokens: int = 0,
        add_completion_tokens: int = 0,
        updated_at: datetime,
    ) -> Session | None:
        """Add to the token counters in SQL (never read-modify-write) and return the new row.

        ``updated_at`` becomes the session's ``updated_at`` unless that is already later.
        Returns None when the session does not exist.
        """


class SessionMessageRepository(ABC):
    """Stores and reads :class:`SessionMessage` rows. Works inside the caller's transaction."""

    @abstractmethod
    def append(
        self,
        session_id: str,
        *,
        message_id: str,
        role: MessageRole,
        content: str,
        metadata: dict[str, Any],
        token_count: int | None,
        created_at: datetime,
    ) -> SessionMessage | None:
        """Append a message at the session's next sequence and return it.

        In the same transaction it locks the session row, bumps ``message_count`` and moves
        ``updated_at`` forward, so concurrent appenders (threads or processes) get consecutive,
        unique sequences. The stored ``created_at`` is ``created_at`` or, if the session was
        already updated later, that later time, so times never go backwards along the sequence.
        Returns None when the session does not exist.
        """

    @abstractmethod
    def insert_many(self, messages: Sequence[SessionMessage]) -> None:
        """Insert messages exactly as given (used by import; the caller keeps counters right)."""

    @abstractmethod
    def get_for_session(
        self, session_id: str, *, limit: int | None = None, offset: int = 0
    ) -> builtins.list[SessionMessage]:
        """Return the session's messages in ascending sequence, paginated by limit/offset."""

    @abstractmethod
    def recent_for_session(self, session_id: str, n: int) -> builtins.list[SessionMessage]:
        """Return the last ``n`` messages of the session, in ascending sequence."""

    @abstractmethod
    def count_for_session(self, session_id: str) -> int:
        """Return how many messages the session holds."""


class UnitOfWork(ABC):
    """One database transaction and the repositories that work inside it."""

    sessions: SessionRepository
    messages: SessionMessageRepository


class SessionStore(ABC):
    """The transaction boundary: runs work in one transaction, retrying what is transient.

    Implementations are thread-safe: many threads may call :meth:`transaction` at once.
    """

    @abstractmethod
    def transaction(self, work: Callable[[UnitOfWork], T], *, writes: bool) -> T:
        """Run ``work`` in a new transaction, commit, and return its result.

        Any exception rolls the transaction back. A transient database error (lost connection,
        deadlock, serialization failure, a busy SQLite file) re-runs ``work`` from the start in a
        fresh transaction, a bounded number of times; ``work`` must therefore fix its ids and
        times before it is called. Other database errors surface as
        :class:`~agent_sessions.domain.errors.DatabaseError`. ``writes`` declares that the work
        writes, so that the store can take the write lock up front where that avoids deadlocks.
        """

    @abstractmethod
    def close(self) -> None:
        """Release every connection; the store cannot be used afterwards."""
