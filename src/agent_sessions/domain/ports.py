"""Repository ports and the transaction boundary that the application layer codes against.

Adapters implement these ABCs (the SQLAlchemy ones live in
``agent_sessions.infrastructure.database``, the in-memory ones in
``agent_sessions.infrastructure.memory``). Their docstrings are the contract: what each method
returns, in which order, and what it does when a row is absent. The rules of a session's times
that every write keeps are functions of :mod:`agent_sessions.domain.timeline`
(:func:`~agent_sessions.domain.timeline.not_before`,
:func:`~agent_sessions.domain.timeline.event_time`), which the adapters call or, in SQL, mirror.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from agent_sessions.domain.entities import (
    FileEvent,
    FileEventType,
    FileTouch,
    MessageRole,
    NewMessage,
    Session,
    SessionMessage,
)
from agent_sessions.domain.verification import VerificationReport

__all__ = [
    "AsyncRunner",
    "Clock",
    "FileEventRepository",
    "IdFactory",
    "SessionMessageRepository",
    "SessionRepository",
    "SessionStore",
    "SessionVerifier",
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
    def get_by_external_id(self, actor_name: str, external_id: str) -> Session | None:
        """Return the actor's session with this external id, or None."""

    @abstractmethod
    def create_or_get_by_external_id(self, session: Session) -> Session:
        """Insert ``session`` (which has an external id) unless its actor already has one.

        Returns ``session`` when it was inserted, or the stored session that already carries
        ``(actor_name, external_id)``; a concurrent insert of the same pair is resolved by the
        unique index, so racing callers all get the one session that won.
        """

    @abstractmethod
    def list_touching(self, file_path: str, *, limit: int) -> builtins.list[Session]:
        """Return the sessions with a file event on ``file_path``, newest first."""

    @abstractmethod
    def list_all(
        self,
        *,
        actor_name: str | None = None,
        limit: int = 50,
        offset: int = 0,
        after: tuple[datetime, str] | None = None,
    ) -> builtins.list[Session]:
        """Return sessions newest first (``created_at`` then ``id``, both descending).

        Only the sessions of ``actor_name`` when it is given; ``limit`` rows after skipping
        ``offset``, and only those after the ``(created_at, id)`` key ``after`` in that order.
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
        usage_key: str | None = None,
    ) -> Session | None:
        """Add to the token counters in SQL (never read-modify-write) and return the new row.

        ``updated_at`` becomes the session's ``updated_at`` unless that is already later
        (:func:`~agent_sessions.domain.timeline.not_before`). With a ``usage_key`` the same
        transaction records the call under that key (see :meth:`recorded_token_usage`).
        Returns None when the session does not exist.
        """

    @abstractmethod
    def recorded_token_usage(self, session_id: str, usage_key: str) -> tuple[int, int] | None:
        """Lock the session row and return the usage recorded under ``usage_key``, if any.

        Returns ``(prompt_tokens, completion_tokens)`` of the earlier call that used the key,
        or None when no call used it (or the session does not exist). The lock serialises
        concurrent calls with the same key, so only one of them adds.
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
        expected_sequence: int | None = None,
    ) -> SessionMessage | None:
        """Append a message at the session's next sequence and return it.

        In the same transaction it locks the session row, bumps ``message_count`` and moves
        ``updated_at`` forward, so concurrent appenders (threads or processes) get consecutive,
        unique sequences. The stored ``created_at`` is ``created_at`` or, if the session was
        already updated later, that later time, so times never go backwards along the sequence
        (both are :func:`~agent_sessions.domain.timeline.not_before`). Returns None when the
        session does not exist.

        With an ``expected_sequence`` (a checked integer, 0 or more) it appends only if the
        session's last sequence (its ``message_count``) is still that number, compared under
        the same row lock that reserves the sequence, so of two racing appenders that expect
        the same number exactly one appends. Otherwise it raises
        :class:`~agent_sessions.domain.errors.SequenceConflictError` (with the last sequence it
        found) and writes nothing. None, the default, appends wherever the session's end is.
        """

    @abstractmethod
    def append_many(
        self,
        session_id: str,
        *,
        message_ids: Sequence[str],
        messages: Sequence[NewMessage],
        created_at: datetime,
        expected_sequence: int | None = None,
    ) -> builtins.list[SessionMessage] | None:
        """Append checked ``messages`` at the session's next sequences, in one statement each.

        Like :meth:`append`, for a batch: one bump of ``message_count`` by ``len(messages)``
        reserves consecutive sequences under the session's row lock, then one insert writes
        them all, with the ids ``message_ids`` and one ``created_at``. Returns None when the
        session does not exist. ``expected_sequence`` guards the whole batch as it guards
        :meth:`append`: all of it is written, or none and ``SequenceConflictError`` is raised.
        """

    @abstractmethod
    def pop_last(self, session_id: str, *, updated_at: datetime) -> SessionMessage | None:
        """Remove the session's newest message, with its file events, and return it.

        In the same transaction it first locks the session row, as :meth:`append` does, by
        stepping ``message_count`` back by one and moving ``updated_at`` to ``updated_at``
        unless that is already later (:func:`~agent_sessions.domain.timeline.not_before`);
        then it deletes the message at the old count and its file events. The next append
        therefore reuses that sequence, and concurrent appenders and poppers queue on the lock.
        Token totals are not touched. Returns None, writing nothing, when the session does not
        exist or holds no messages. Raises
        :class:`~agent_sessions.domain.errors.DatabaseError`, the one
        :func:`~agent_sessions.domain.verification.missing_last_message` builds, when no
        message holds the sequence ``message_count`` names (a damaged store: ``verify``
        reports it), and removes nothing.
        """

    @abstractmethod
    def get_by_id(self, message_id: str) -> SessionMessage | None:
        """Return the message with this id, or None."""

    @abstractmethod
    def ids_for_sequences(self, session_id: str, sequences: Sequence[int]) -> dict[int, str]:
        """Return the ids of the session's messages at ``sequences``, by sequence."""

    @abstractmethod
    def page_after(
        self, session_id: str, after_sequence: int, limit: int
    ) -> builtins.list[SessionMessage]:
        """Return up to ``limit`` messages with a sequence above ``after_sequence``, ascending.

        A keyset page: it reads along the ``(session_id, sequence)`` index, so each page costs
        the same however deep into the session it starts.
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


class FileEventRepository(ABC):
    """Stores and reads :class:`FileEvent` rows. Works inside the caller's transaction."""

    @abstractmethod
    def record(
        self,
        session_id: str,
        *,
        event_id: str,
        message_id: str,
        event_type: FileEventType,
        file_path: str | None,
        diff: str | None,
        command: str | None,
        created_at: datetime,
    ) -> FileEvent | None:
        """Record an event after every earlier event of the session, and return it.

        In the same transaction it locks the session row and moves its ``updated_at`` to the
        event's time, which is ``created_at`` or, if the session was already updated at or
        after it, one microsecond past that (:func:`~agent_sessions.domain.timeline.event_time`),
        so the events' times strictly increase along the order recorded. Returns None when the
        session does not exist; the caller has checked that the message belongs to the session.
        """

    @abstractmethod
    def get_by_id(self, event_id: str) -> FileEvent | None:
        """Return the event with this id, or None."""

    @abstractmethod
    def insert_many(self, events: Sequence[FileEvent]) -> None:
        """Insert events exactly as given (used by import)."""

    @abstractmethod
    def list_for_session(
        self,
        session_id: str,
        *,
        event_type: FileEventType | None = None,
        file_path: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[FileEvent]:
        """Return the session's events in the order recorded (``created_at``, then ``id``)."""

    @abstractmethod
    def page_with_sequences(
        self, session_id: str, *, after: datetime | None, until: datetime, limit: int
    ) -> builtins.list[tuple[FileEvent, int]]:
        """Return up to ``limit`` events recorded after ``after`` and not after ``until``.

        Each comes with the sequence of its message, in the order recorded: a keyset page
        over ``(session_id, created_at)``, whose times strictly increase within a session.
        """

    @abstractmethod
    def files_touched(self, session_id: str) -> builtins.list[FileTouch]:
        """Return the paths of the session's events, ascending, with counts by type."""


class SessionVerifier(ABC):
    """Checks the stored sessions' invariants set-wise. Works inside the caller's transaction."""

    @abstractmethod
    def find_problems(self, session_id: str | None = None) -> VerificationReport | None:
        """Check every session (or only ``session_id``) and report each broken invariant.

        The checks: sequences exactly 1..n without gap or duplicate, ``message_count`` equal to
        the stored messages, no message without its session, ``metadata`` that decodes to a
        JSON object, and token totals not below the sum of the messages' ``token_count``.
        Nothing is written. Returns None when ``session_id`` is given but neither a session
        nor any message has that id.
        """


class UnitOfWork(ABC):
    """One database transaction and the repositories that work inside it.

    ``attempt`` counts the tries of the same work: 1 the first time, 2 and more when the store
    re-runs the work after a transient error. An earlier try may have committed even though
    its caller heard only of a failure (the connection died between the commit and its
    acknowledgement). So a write starts with :meth:`committed_earlier`: on a re-run it looks
    for the rows it would write, by the ids it fixed before the first try, and returns them
    instead of writing twice. An implementation only sets ``attempt``; the look-up rule is
    this class's own and is not overridden.
    """

    sessions: SessionRepository
    messages: SessionMessageRepository
    file_events: FileEventRepository
    verifier: SessionVerifier
    attempt: int = 1

    def committed_earlier(self, look_up: Callable[[], T | None]) -> T | None:
        """Return what an earlier try of this work committed, or None.

        On the first try nothing can have been committed: it returns None without calling
        ``look_up``. On a re-run it returns ``look_up()``, which finds the rows the work writes
        (by their fixed ids) inside this transaction and returns None when they are absent.
        """
        if self.attempt <= 1:
            return None
        return look_up()


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


class AsyncRunner(ABC):
    """Calls the synchronous service from an event loop without blocking the loop.

    The adapter turns each wait of the call on the database into an ``await`` (SQLAlchemy's
    greenlet bridge), so the async service shares every rule of the sync one.
    """

    @abstractmethod
    async def run(self, call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``call(*args, **kwargs)`` to its end, even if the awaiting task is cancelled."""
