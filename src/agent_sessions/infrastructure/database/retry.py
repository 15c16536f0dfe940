"""Retrying whole transactions on transient database errors, and nothing else.

A transient error is one that a fresh transaction may not meet again: a lost, killed or
refused connection, a deadlock, a serialization failure, a server shutting down, a busy or
locked SQLite file. Each dialect has its own classifier (:data:`TRANSIENT_CLASSIFIERS`).
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
    "RetryOutcome",
    "RetryPolicy",
    "database_retry",
    "is_transient_error",
    "run_with_retry",
]

logger = logging.getLogger("agent_sessions.retry")

P = ParamSpec("P")
T = TypeVar("T")

POSTGRESQL_TRANSIENT_STATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03"})
"""Serialization failure, deadlock, lock not available, admin shutdown, crash shutdown,
cannot connect now; and every ``08xxx`` connection exception."""
MYSQL_TRANSIENT_CODES = frozenset({1205, 1213, 1927, 2003, 2006, 2013, 4031})
"""Lock wait timeout, deadlock, connection killed, cannot connect, server gone away, lost
connection during a query, disconnected by the server for inactivity."""
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


def _postgresql_transient(error: BaseException) -> bool | None:
    """psycopg: classify by SQLSTATE; no SQLSTATE means the client lost or never got a link."""
    if type(error).__module__.split(".")[0] not in ("psycopg", "psycopg2", "asyncpg"):
        return None
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(sqlstate, str):
        return sqlstate in POSTGRESQL_TRANSIENT_STATES or sqlstate.startswith("08")
    return type(error).__name__ == "OperationalError"


def _mysql_transient(error: BaseException) -> bool | None:
    """PyMySQL and mysqlclient: classify by the error number, the first argument."""
    if type(error).__module__.split(".")[0] not in ("pymysql", "MySQLdb", "mysql"):
        return None
    args: tuple[object, ...] = getattr(error, "args", ())
    code = args[0] if args else None
    return isinstance(code, int) and code in MYSQL_TRANSIENT_CODES


def _sqlite_transient(error: BaseException) -> bool | None:
    """sqlite3: ``SQLITE_BUSY`` and ``SQLITE_LOCKED``, extended codes included."""
    if type(error).__module__.split(".")[0] != "sqlite3":
        return None
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    message = str(error)
    return "database is locked" in message or "database table is locked" in message


TRANSIENT_CLASSIFIERS: Mapping[str, Callable[[BaseException], bool | None]] = {
    "postgresql": _postgresql_transient,
    "mysql": _mysql_transient,
    "sqlite": _sqlite_transient,
}
"""One classifier per dialect family: True (transient), False (not), None (not its driver)."""


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


def is_transient_error(exc: BaseException) -> bool:
    """Return True when ``exc`` is a database error that a new transaction may not meet."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if orig is None:
        return False
    for classify in TRANSIENT_CLASSIFIERS.values():
        verdict = classify(orig)
        if verdict is not None:
            return verdict
    return False


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
