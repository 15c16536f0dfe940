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
    Compaction,
    FileEvent,
    FileEventType,
    FileTouch,
    MessageRole,
    NewMessage,
    Rewind,
    Session,
    SessionMessage,
)
from agent_sessions.domain.history import ForkIds
from agent_sessions.domain.verification import VerificationReport

__all__ = [
    "AsyncRunner",
    "Clock",
    "FileEventRepository",
    "HistoryRepository",
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
        forked_from: str | None = None,
        owner_id: str | None = None,
        external_id: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        updated_after: datetime | None = None,
        updated_before: datetime | None = None,
    ) -> builtins.list[Session]:
        """Return sessions newest first (``created_at`` then ``id``, both descending).

        Only the sessions that pass every filter given: of ``actor_name``, of ``owner_id``,
        carrying ``external_id``, forked from ``forked_from`` (its direct children), created
        strictly after ``created_after`` and strictly before ``created_before``, last updated
        strictly after ``updated_after`` and strictly before ``updated_before``. Then
        ``limit`` rows after skipping ``offset``, and only those after the ``(created_at, id)``
        key ``after`` in that order. With ``owner_id`` the read follows the
        ``(owner_id, created_at, id)`` index, so a deep page costs what the first one does.
        """

    @abstractmethod
    def set_hold(
        self, session_id: str, *, reason: str | None, held_at: datetime | None
    ) -> Session | None:
        """Set (``reason`` given) or release (``reason`` None) the session's hold; return it.

        Writes ``hold_reason`` and ``held_at`` as given (both None to release) and nothing
        else: ``updated_at`` stays, since a hold is not activity of the session (retention by
        inactivity reads ``updated_at``). Returns None when the session does not exist.
        """

    @abstractmethod
    def owner_batch(
        self, owner_id: str, *, limit: int, held: bool = False
    ) -> builtins.list[Session]:
        """Return up to ``limit`` sessions of ``owner_id`` in ``id`` order.

        Held ones included; with ``held`` only the held ones.
        """

    @abstractmethod
    def erase(self, session_ids: Sequence[str]) -> dict[str, int]:
        """Delete these sessions and every row that hangs off them; return the rows by table.

        The counts cover every table holding rows of a session (the names are those of
        :class:`~agent_sessions.domain.entities.ErasureReceipt`), each present even at 0, and
        are counted in the same transaction as the delete. Sessions already gone count 0.
        """

    @abstractmethod
    def fork(
        self, source_id: str, *, ids: ForkIds, fork: Session, at_sequence: int | None
    ) -> Session | None:
        """Copy the source session's visible history up to ``at_sequence`` into a new session.

        Under the source's row lock (taken as an append takes it, so forks queue behind
        appends), it checks ``at_sequence`` with
        :func:`~agent_sessions.domain.history.check_history_point` (argument ``at_sequence``;
        None means the last sequence), then inserts ``fork`` (id ``ids.session_id``, its
        names, metadata and times as given, counters zero) with ``parent_session_id`` the
        source and ``forked_at_sequence`` the point (None resolved to the source's
        ``message_count``), and copies inside the database, with ``INSERT ... SELECT``:

        - the visible messages with a sequence up to the point, renumbered 1..k in order, with
          the ids ``numbered_id(ids.message_prefix, k)`` and everything else as it was
          (``created_at`` included, ``rewound_by`` None);
        - the file events of those messages, in the order recorded, with the ids
          ``numbered_id(ids.event_prefix, k)``, pointing at the copies, times kept;
        - the compactions in force whose ``through_sequence`` is at most the point, with the
          ids ``numbered_id(ids.compaction_prefix, k)`` and ``through_sequence`` renumbered
          to the number of copied messages it covers.

        The new session's ``message_count`` is the number of copied messages. Returns the
        stored fork, or None when the source does not exist.
        """

    @abstractmethod
    def lineage(self, session_id: str) -> builtins.list[Session]:
        """Return the session's parent, its parent's parent, and so on, nearest first.

        Empty for a session that is not a fork. The chain stops at a parent that is no longer
        stored (or, in a damaged store, at a session already in the chain).
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
    def pop_last(
        self, session_id: str, *, updated_at: datetime, rewind_id: str
    ) -> SessionMessage | None:
        """Remove the session's newest visible message and return it.

        In the same transaction it first locks the session row, as :meth:`append` does, and
        moves ``updated_at`` to ``updated_at`` unless that is already later
        (:func:`~agent_sessions.domain.timeline.not_before`). Then, when
        :func:`~agent_sessions.domain.history.pop_hides` says the message may be deleted (it is
        the transcript's last and no compaction in force covers it), it steps
        ``message_count`` back by one and deletes the message and its file events, so the next
        append reuses that sequence. Otherwise it hides the message, as
        :meth:`HistoryRepository.rewind` would to the visible message before it, under a
        rewind with the id ``rewind_id`` and the reason
        :data:`~agent_sessions.domain.history.POP_REWIND_REASON`, and returns the message with
        ``rewound_by`` set. Concurrent appenders and poppers queue on the lock. Token totals
        are not touched. Returns None, writing nothing, when the session does not exist or
        has no visible message. Raises
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
        self,
        session_id: str,
        after_sequence: int,
        limit: int,
        *,
        include_rewound: bool = True,
    ) -> builtins.list[SessionMessage]:
        """Return up to ``limit`` messages with a sequence above ``after_sequence``, ascending.

        A keyset page: it reads along the ``(session_id, sequence)`` index, so each page costs
        the same however deep into the session it starts. The transcript's messages, rewound
        ones included, unless ``include_rewound`` is false (then only visible ones).
        """

    @abstractmethod
    def insert_many(self, messages: Sequence[SessionMessage]) -> None:
        """Insert messages exactly as given (used by import; the caller keeps counters right)."""

    @abstractmethod
    def get_for_session(
        self,
        session_id: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        include_rewound: bool = False,
    ) -> builtins.list[SessionMessage]:
        """Return the session's visible messages (or, with ``include_rewound``, all of them).

        In ascending sequence, paginated by limit/offset over the messages returned.
        """

    @abstractmethod
    def recent_for_session(
        self, session_id: str, n: int, *, after_sequence: int = 0
    ) -> builtins.list[SessionMessage]:
        """Return the last ``n`` visible messages of the session, in ascending sequence.

        Only messages with a sequence above ``after_sequence`` (a compaction's end).
        """

    @abstractmethod
    def at_sequence(self, session_id: str, sequence: int) -> SessionMessage | None:
        """Return the session's message at ``sequence`` (visible or not), or None."""

    @abstractmethod
    def count_for_session(self, session_id: str) -> int:
        """Return how many messages the session's transcript holds, rewound ones included."""


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
        """Return the paths of the events of the session's visible messages, ascending.

        With counts by type; the events of rewound messages are left out.
        """


class HistoryRepository(ABC):
    """Rewinds and compactions of a session. Works inside the caller's transaction.

    Every write locks the session row first, as an append does, and moves ``updated_at`` to
    the write's time unless it is already later; the rules are those of
    :mod:`agent_sessions.domain.history`. A write on a session that does not exist raises
    :class:`~agent_sessions.domain.errors.SessionNotFoundError` and writes nothing.
    """

    @abstractmethod
    def rewind(
        self,
        session_id: str,
        *,
        rewind_id: str,
        to_sequence: int,
        reason: str | None,
        created_at: datetime,
    ) -> Rewind | None:
        """Hide the visible messages after ``to_sequence``; return the rewind, or None.

        Checks ``to_sequence`` with :func:`~agent_sessions.domain.history.check_history_point`
        (argument ``to_sequence``). None, writing nothing, when no visible message follows it
        (a rewind to the current end). Otherwise it stores the rewind (``through_sequence`` the
        session's ``message_count``) and sets ``rewound_by`` to its id on the visible messages
        after ``to_sequence`` and on the compactions in force whose ``through_sequence`` is
        above it.
        """

    @abstractmethod
    def undo_rewind(self, session_id: str, *, undone_at: datetime) -> Rewind:
        """Undo the session's latest rewind that is not undone, and return it, undone.

        The latest by :func:`~agent_sessions.domain.history.undo_order` (the order the rewinds
        took the session's lock), not by the clock.

        Checked with :func:`~agent_sessions.domain.history.check_undo`. Clears ``rewound_by``
        on the messages and compactions that carry the rewind's id and sets its
        ``undone_at``.
        """

    @abstractmethod
    def compact(
        self,
        session_id: str,
        *,
        compaction_id: str,
        through_sequence: int,
        summary: str,
        metadata: dict[str, Any],
        token_count: int | None,
        created_at: datetime,
    ) -> Compaction:
        """Store a compaction of the visible messages up to ``through_sequence``; return it.

        Checks ``through_sequence`` with
        :func:`~agent_sessions.domain.history.check_history_point`, moves it with
        :func:`~agent_sessions.domain.history.compaction_boundary` (reading visible messages)
        and checks the result with
        :func:`~agent_sessions.domain.history.check_compaction_floor` against the compaction
        in force. The stored ``through_sequence`` is the moved one.
        """

    @abstractmethod
    def latest_compaction(self, session_id: str) -> Compaction | None:
        """Return the session's compaction in force created last, or None.

        In force: not hidden by a rewind. The last by
        :func:`~agent_sessions.domain.history.compaction_order` (the furthest end, then
        ``created_at``, then ``id``).
        """

    @abstractmethod
    def rewinds(self, session_id: str) -> builtins.list[Rewind]:
        """Return the session's rewinds, undone ones included, in the order recorded."""

    @abstractmethod
    def compactions(self, session_id: str) -> builtins.list[Compaction]:
        """Return the session's compactions, hidden ones included, in the order recorded."""

    @abstractmethod
    def get_rewind(self, rewind_id: str) -> Rewind | None:
        """Return the rewind with this id, or None."""

    @abstractmethod
    def get_compaction(self, compaction_id: str) -> Compaction | None:
        """Return the compaction with this id, or None."""

    @abstractmethod
    def insert_many(self, rewinds: Sequence[Rewind], compactions: Sequence[Compaction]) -> None:
        """Insert rewinds and compactions exactly as given (used by import)."""


class SessionVerifier(ABC):
    """Checks the stored sessions' invariants set-wise. Works inside the caller's transaction."""

    @abstractmethod
    def find_problems(self, session_id: str | None = None) -> VerificationReport | None:
        """Check every session (or only ``session_id``) and report each broken invariant.

        The checks: sequences exactly 1..n without gap or duplicate, ``message_count`` equal to
        the stored messages, no message without its session, ``metadata`` that decodes to a
        JSON object, token totals not below the sum of the messages' ``token_count``, and the
        history consistent (see :mod:`agent_sessions.domain.verification`): every rewound
        message hidden by a rewind of its session that holds and spans it, no visible message
        inside a rewind that holds, every compaction in force ending on a stored sequence, and
        a fork's point within its stored parent.
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
    history: HistoryRepository
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
