"""``InMemorySessionStore``: a :class:`SessionStore` that keeps everything in Python objects.

Give it to :class:`~agent_sessions.PersistentSessionService` in your own tests: the service then
behaves as over a SQL database, for every rule the ports state, with no database, no file and
no migration. Transactions run one at a time under one re-entrant lock, and an exception rolls
back everything the transaction wrote (the tables log what each change replaced). A test can
make the next transactions fail with a transient error (:meth:`InMemorySessionStore.fail_next`)
to see the service retry them, as a SQL store retries a lost connection.

See ``docs/how-to/test-with-the-in-memory-store.md``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from agent_sessions.domain import ports
from agent_sessions.domain.errors import DatabaseError
from agent_sessions.domain.validation import validate_limit
from agent_sessions.infrastructure.memory.history_repository import InMemoryHistoryRepository
from agent_sessions.infrastructure.memory.repositories import (
    InMemoryFileEventRepository,
    InMemorySessionMessageRepository,
    InMemorySessionRepository,
)
from agent_sessions.infrastructure.memory.tables import MemoryTables
from agent_sessions.infrastructure.memory.verifier import InMemorySessionVerifier

__all__ = ["DEFAULT_ATTEMPTS", "InMemorySessionStore", "InMemoryUnitOfWork"]

T = TypeVar("T")

DEFAULT_ATTEMPTS = 10
"""The most tries of one transaction, the first included: the SQL stores' default bound."""
_MOST_ATTEMPTS = 1000


class InMemoryUnitOfWork(ports.UnitOfWork):
    """The repositories of one transaction, all over the same tables."""

    def __init__(self, tables: MemoryTables, *, attempt: int = 1) -> None:
        self.sessions = InMemorySessionRepository(tables)
        self.messages = InMemorySessionMessageRepository(tables)
        self.file_events = InMemoryFileEventRepository(tables)
        self.history = InMemoryHistoryRepository(tables)
        self.verifier = InMemorySessionVerifier(tables)
        self.attempt = attempt


@dataclass(frozen=True, slots=True)
class _Fault:
    """A transient failure waiting for the next transaction that it strikes."""

    committed: bool
    reads: bool


class InMemorySessionStore(ports.SessionStore):
    """Sessions, messages, file events, receipts, rewinds and compactions in memory, for tests.

    Thread-safe: many threads may call :meth:`transaction` at once; they run one after another.
    Each store is empty when made and forgets everything when it is dropped.

    Example:
        >>> from agent_sessions import PersistentSessionService
        >>> from agent_sessions.infrastructure.memory import InMemorySessionStore
        >>> with PersistentSessionService(InMemorySessionStore()) as service:
        ...     session = service.create("support-bot")
        ...     service.append_message(session.id, "user", "Hello!").sequence
        1

    """

    def __init__(self, *, attempts: int = DEFAULT_ATTEMPTS) -> None:
        """Make an empty store.

        Args:
            attempts: the most tries of one transaction when tries fail with a transient error
                (only :meth:`fail_next` makes them fail), the first included: 1 to 1000.

        Raises:
            InvalidInputError: ``attempts`` is not an integer from 1 to 1000.

        """
        self._attempts = validate_limit(attempts, maximum=_MOST_ATTEMPTS, argument="attempts")
        self._tables = MemoryTables()
        self._lock = threading.RLock()
        self._faults: deque[_Fault] = deque()
        self._closed = False

    @property
    def tables(self) -> MemoryTables:
        """The stored rows; a test may damage them on purpose through their methods."""
        return self._tables

    @property
    def pending_faults(self) -> int:
        """How many failures set by :meth:`fail_next` have not struck yet."""
        with self._lock:
            return len(self._faults)

    def fail_next(self, times: int = 1, *, committed: bool = True, reads: bool = False) -> None:
        """Make the next ``times`` tries of write transactions fail with a transient error.

        Each failure strikes one try, at its end, and the store then runs the work again in a
        new transaction whose unit of work has ``attempt`` one higher, up to the store's
        ``attempts``; after the last it raises ``DatabaseError``.

        Args:
            times: how many tries fail (the failures queue up: ``times=2`` fails the first
                two tries of the next transaction, or the first try of each of the next two).
            committed: True (the default) commits the try before it fails, as when the
                connection dies between a commit and its acknowledgement: the retry must find
                what the try wrote and not write it twice. False rolls the try back, as when
                the connection dies before the commit: the retry must write it all.
            reads: also strike transactions that only read (``writes=False``); by default
                they pass untouched and the failures wait for the next write.

        Raises:
            InvalidInputError: ``times`` is not an integer from 1 to 1000.

        """
        count = validate_limit(times, maximum=_MOST_ATTEMPTS, argument="times")
        with self._lock:
            self._faults.extend(_Fault(committed=committed, reads=reads) for _ in range(count))

    def transaction(self, work: Callable[[ports.UnitOfWork], T], *, writes: bool) -> T:
        """Run ``work`` under the store's lock, commit, and return its result.

        Any exception rolls back every change ``work`` made. A failure set by
        :meth:`fail_next` re-runs ``work`` whole with ``attempt`` one higher.

        Raises:
            DatabaseError: the store is closed; ``work`` was called from inside another
                transaction of this store; or the tries ran out.

        """
        for attempt in range(1, self._attempts + 1):
            with self._lock:
                if self._closed:
                    raise DatabaseError("the in-memory store is closed")
                if self._tables.in_transaction:
                    raise DatabaseError(
                        "a transaction of the in-memory store was opened inside another one "
                        "(the store runs one transaction at a time)"
                    )
                fault = self._faults.popleft() if self._strikes(writes) else None
                self._tables.begin()
                try:
                    result = work(InMemoryUnitOfWork(self._tables, attempt=attempt))
                except BaseException:
                    self._tables.rollback()
                    raise
                if fault is None or fault.committed:
                    self._tables.commit()
                else:
                    self._tables.rollback()
                if fault is None:
                    return result
        raise DatabaseError(
            f"the in-memory store is still failing after {self._attempts} attempt(s), the "
            f"store's bound: transient failures set by fail_next()"
        )

    def _strikes(self, writes: bool) -> bool:
        return bool(self._faults) and (writes or self._faults[0].reads)

    def close(self) -> None:
        """Forget every row; the store cannot be used afterwards."""
        with self._lock:
            self._closed = True
            self._tables = MemoryTables()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
