"""Retrying whole transactions on transient database errors, and nothing else.

A transient error is one that a fresh transaction may not meet again: a lost, killed or
refused connection, a deadlock, a serialization failure, a server shutting down, a busy or
locked SQLite file. :func:`classify_error` is the one rule: it sorts an error into a
:class:`Fault` by its dialect's classifier (:data:`TRANSIENT_CLASSIFIERS`); the retry loop
retries the transient faults, and the error translation picks the library error by the same
fault.
Integrity errors, programming errors and domain errors are never retried. Each retry is
logged on ``agent_sessions.retry`` with its attempt number, the error class and the wait.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import await_only
from sqlalchemy.util.concurrency import in_greenlet
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
)

from agent_sessions.domain.errors import InvalidInputError

__all__ = [
    "TRANSIENT_CLASSIFIERS",
    "Fault",
    "RetryOutcome",
    "RetryPolicy",
    "classify_error",
    "database_retry",
    "is_transient_error",
    "run_with_retry",
]

logger = logging.getLogger("agent_sessions.retry")

P = ParamSpec("P")
T = TypeVar("T")


class Fault(Enum):
    """What kind of database error a classifier found; the first three are transient."""

    CONNECTION = "connection"
    """The connection was refused, lost, killed, or the server is shutting down."""
    LOCK_TIMEOUT = "lock timeout"
    """Another transaction held a lock longer than the database waits (SQLite: busy)."""
    CONFLICT = "conflict"
    """The database aborted the transaction as a deadlock or a serialization failure."""
    PERMANENT = "permanent"
    """Anything else: integrity, programming and schema errors; a new attempt meets it again."""

    @property
    def transient(self) -> bool:
        """Whether a fresh transaction may not meet this error again (so it is retried)."""
        return self is not Fault.PERMANENT


POSTGRESQL_FAULTS: Mapping[str, Fault] = {
    "40001": Fault.CONFLICT,
    "40P01": Fault.CONFLICT,
    "55P03": Fault.LOCK_TIMEOUT,
    "57P01": Fault.CONNECTION,
    "57P02": Fault.CONNECTION,
    "57P03": Fault.CONNECTION,
}
"""Serialization failure, deadlock, lock not available, admin shutdown, crash shutdown,
cannot connect now; and every ``08xxx`` connection exception is a connection fault."""
MYSQL_FAULTS: Mapping[int, Fault] = {
    1205: Fault.LOCK_TIMEOUT,
    1213: Fault.CONFLICT,
    1927: Fault.CONNECTION,
    2003: Fault.CONNECTION,
    2006: Fault.CONNECTION,
    2013: Fault.CONNECTION,
    4031: Fault.CONNECTION,
}
"""Lock wait timeout, deadlock, connection killed, cannot connect, server gone away, lost
connection during a query, disconnected by the server for inactivity."""
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


def _postgresql_fault(error: BaseException) -> Fault | None:
    """psycopg: classify by SQLSTATE; no SQLSTATE means the client lost or never got a link."""
    if type(error).__module__.split(".")[0] not in ("psycopg", "psycopg2", "asyncpg"):
        return None
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(sqlstate, str):
        if sqlstate.startswith("08"):
            return Fault.CONNECTION
        return POSTGRESQL_FAULTS.get(sqlstate, Fault.PERMANENT)
    return Fault.CONNECTION if type(error).__name__ == "OperationalError" else Fault.PERMANENT


def _mysql_fault(error: BaseException) -> Fault | None:
    """PyMySQL and mysqlclient: classify by the error number, the first argument."""
    if type(error).__module__.split(".")[0] not in ("pymysql", "MySQLdb", "mysql"):
        return None
    args: tuple[object, ...] = getattr(error, "args", ())
    code = args[0] if args else None
    return MYSQL_FAULTS.get(code, Fault.PERMANENT) if isinstance(code, int) else Fault.PERMANENT


def _sqlite_fault(error: BaseException) -> Fault | None:
    """sqlite3: ``SQLITE_BUSY`` and ``SQLITE_LOCKED``, extended codes included."""
    if type(error).__module__.split(".")[0] != "sqlite3":
        return None
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        locked = code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    else:
        message = str(error)
        locked = "database is locked" in message or "database table is locked" in message
    return Fault.LOCK_TIMEOUT if locked else Fault.PERMANENT


TRANSIENT_CLASSIFIERS: Mapping[str, Callable[[BaseException], Fault | None]] = {
    "postgresql": _postgresql_fault,
    "mysql": _mysql_fault,
    "sqlite": _sqlite_fault,
}
"""One classifier per dialect family: the :class:`Fault` of a driver error, None if not its
driver. A fault other than ``Fault.PERMANENT`` is transient."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long a transaction is retried after a transient error.

    The wait before retry ``n`` (``n`` = 1 after the first failure) is
    ``min(max_wait, initial_wait * 2 ** (n - 1))`` scaled by a random factor between 0.5 and 1
    (exponential back-off with "equal" jitter), so that contenders spread out while the
    total stays predictable. The defaults wait between about 4.6 and 9.2 seconds in all over
    their 10 attempts: enough to ride out a PostgreSQL restart or a failover.

    Attributes:
        attempts: the most attempts in all (the first included).
        total_seconds: no new attempt starts after this much time since the first.
        initial_wait: the scale of the first back-off, in seconds.
        max_wait: the longest single back-off, in seconds.

    """

    attempts: int = 10
    total_seconds: float = 30.0
    initial_wait: float = 0.05
    max_wait: float = 2.0

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise InvalidInputError("attempts", f"must be an integer, got {self.attempts!r}")
        if self.attempts < 1:
            raise InvalidInputError("attempts", f"must be at least 1, got {self.attempts}")
        for name in ("total_seconds", "initial_wait", "max_wait"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise InvalidInputError(name, f"must be a number of seconds >= 0, got {value!r}")

    def wait_before(self, retry_number: int) -> float:
        """Return a back-off before retry ``retry_number`` (1 for the first retry)."""
        ceiling = min(float(self.max_wait), float(self.initial_wait) * 2.0 ** (retry_number - 1))
        return ceiling * random.uniform(0.5, 1.0)


DEFAULT_POLICY = RetryPolicy()


def classify_error(exc: BaseException) -> Fault:
    """Return the :class:`Fault` of ``exc``: the one rule for what is retried and how it fails.

    A connection that SQLAlchemy invalidated is a connection fault whatever the driver said;
    otherwise the driver's error goes to its dialect's classifier. Anything that is not a
    driver error is permanent.
    """
    if not isinstance(exc, DBAPIError):
        return Fault.PERMANENT
    if exc.connection_invalidated:
        return Fault.CONNECTION
    orig = exc.orig
    if orig is None:
        return Fault.PERMANENT
    for classify in TRANSIENT_CLASSIFIERS.values():
        fault = classify(orig)
        if fault is not None:
            return fault
    return Fault.PERMANENT


def is_transient_error(exc: BaseException) -> bool:
    """Return True when ``exc`` is a database error that a new transaction may not meet."""
    return classify_error(exc).transient


def error_class(exc: BaseException) -> str:
    """Return the driver error's class name (``OperationalError``), else the exception's."""
    return type(getattr(exc, "orig", None) or exc).__name__


@dataclass(slots=True)
class RetryOutcome:
    """How a retried call went: filled in as it runs, readable after it fails."""

    attempts: int = 0
    elapsed_seconds: float = 0.0


def _log_retry(state: RetryCallState) -> None:
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    logger.warning(
        "transient database error on attempt %d (%s); retrying the whole transaction in %.3fs",
        state.attempt_number,
        error_class(error) if error is not None else "unknown",
        state.upcoming_sleep,
    )


_HAS_GREENLET = importlib.util.find_spec("greenlet") is not None
"""Whether the async service can run at all (greenlet comes with the asyncio extra)."""


def _sleep(seconds: float) -> None:
    """Wait before a retry; called from the async service, let the event loop run meanwhile."""
    if _HAS_GREENLET and in_greenlet():
        await_only(asyncio.sleep(seconds))
    else:
        time.sleep(seconds)


def run_with_retry(
    attempt: Callable[[], T],
    policy: RetryPolicy = DEFAULT_POLICY,
    outcome: RetryOutcome | None = None,
) -> T:
    """Call ``attempt`` until it returns, retrying transient errors under ``policy``.

    ``attempt`` must open and close its own transaction, so that every retry re-runs the
    whole transaction rather than a statement inside a broken one. After the last attempt the
    last error is raised as it was; ``outcome``, when given, then says how many attempts ran
    and for how long.

    The first attempt runs as a plain call: most transactions never fail, and tenacity's
    per-call bookkeeping cost a fifth of a small read. Only when it fails with a transient
    error does tenacity take over, starting from that failure, so the back-off, the logging
    and the bounds (attempts, and seconds since the first attempt began) are as if it had run
    every attempt.
    """
    record = outcome if outcome is not None else RetryOutcome()
    started = time.monotonic()

    def counted() -> T:
        record.attempts += 1
        try:
            return attempt()
        finally:
            record.elapsed_seconds = time.monotonic() - started

    try:
        return counted()
    except Exception as exc:
        if policy.attempts == 1 or not is_transient_error(exc):
            raise
        first_failure = exc
    replayed = False

    def replay_then_retry() -> T:
        nonlocal replayed
        if not replayed:
            replayed = True
            raise first_failure
        return counted()

    def out_of_bounds(state: RetryCallState) -> bool:
        spent = time.monotonic() - started
        return state.attempt_number >= policy.attempts or spent >= policy.total_seconds

    retrying = Retrying(
        retry=retry_if_exception(is_transient_error),
        sleep=_sleep,
        stop=out_of_bounds,
        wait=lambda state: policy.wait_before(state.attempt_number),
        before_sleep=_log_retry,
        reraise=True,
    )
    return retrying(replay_then_retry)


class TransactionalRepository(Protocol):
    """What :func:`database_retry` needs from a repository."""

    @property
    def bind(self) -> Engine | Connection:
        """The engine (standalone use) or the connection of an enclosing transaction."""
        ...

    @property
    def retry_policy(self) -> RetryPolicy:
        """The policy for standalone calls."""
        ...

    def bound_to(self, connection: Connection) -> TransactionalRepository:
        """Return a copy of this repository that works inside ``connection``'s transaction."""
        ...


R = TypeVar("R", bound=TransactionalRepository)


def database_retry(
    method: Callable[Concatenate[R, P], T],
) -> Callable[Concatenate[R, P], T]:
    """Make a repository method its own retried transaction when it is the outermost one.

    Inside an enclosing transaction (the repository is bound to a connection) the method runs
    as it is: the enclosing boundary owns the transaction and retries it whole. Bound to an
    engine, each call opens a transaction, commits it, and re-runs it whole on a transient
    error.
    """

    @functools.wraps(method)
    def wrapper(self: R, *args: P.args, **kwargs: P.kwargs) -> T:
        bind = self.bind
        if isinstance(bind, Connection):
            return method(self, *args, **kwargs)

        def attempt() -> T:
            with bind.begin() as connection:
                bound = self.bound_to(connection)
                return method(bound, *args, **kwargs)  # type: ignore[arg-type]

        return run_with_retry(attempt, self.retry_policy)

    return wrapper  # type: ignore[return-value]
