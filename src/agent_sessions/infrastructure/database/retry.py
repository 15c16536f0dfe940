"""Retrying whole transactions on transient database errors, and nothing else.

A transient error is one that a fresh transaction may not meet again: a lost or killed
connection, a deadlock, a serialization failure, a busy or locked SQLite file. Integrity errors,
programming errors and domain errors are never retried. Each retry is logged with its attempt
number and the error class.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from agent_sessions.domain.errors import InvalidInputError

__all__ = ["RetryPolicy", "database_retry", "is_transient_error", "run_with_retry"]

logger = logging.getLogger("agent_sessions.retry")

P = ParamSpec("P")
T = TypeVar("T")

_POSTGRES_TRANSIENT_STATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03"})
_MYSQL_TRANSIENT_CODES = frozenset({1205, 1213, 1927, 2006, 2013, 4031})
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long a transaction is retried after a transient error.

    Attributes:
        attempts: the most attempts in all (the first included).
        total_seconds: no new attempt starts after this much time since the first.
        initial_wait: the scale of the first back-off, in seconds.
        max_wait: the longest single back-off, in seconds (random, exponential, jittered).

    """

    attempts: int = 6
    total_seconds: float = 30.0
    initial_wait: float = 0.02
    max_wait: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise InvalidInputError("attempts", f"must be an integer, got {self.attempts!r}")
        if self.attempts < 1:
            raise InvalidInputError("attempts", f"must be at least 1, got {self.attempts}")
        for name in ("total_seconds", "initial_wait", "max_wait"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise InvalidInputError(name, f"must be a number of seconds >= 0, got {value!r}")


DEFAULT_POLICY = RetryPolicy()


def is_transient_error(exc: BaseException) -> bool:
    """Return True when ``exc`` is a database error that a new transaction may not meet."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate in _POSTGRES_TRANSIENT_STATES or sqlstate.startswith("08")
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in _MYSQL_TRANSIENT_CODES
    return False


def _log_retry(state: RetryCallState) -> None:
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    logger.warning(
        "transient database error on attempt %d (%s); retrying the whole transaction in %.3fs",
        state.attempt_number,
        type(getattr(error, "orig", None) or error).__name__,
        state.upcoming_sleep,
    )


def _retrying(policy: RetryPolicy) -> Retrying:
    return Retrying(
        retry=retry_if_exception(is_transient_error),
        stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.total_seconds),
        wait=wait_random_exponential(multiplier=policy.initial_wait, max=policy.max_wait),
        before_sleep=_log_retry,
        reraise=True,
    )


def run_with_retry(attempt: Callable[[], T], policy: RetryPolicy = DEFAULT_POLICY) -> T:
    """Call ``attempt`` until it returns, retrying transient errors under ``policy``.

    ``attempt`` must open and close its own transaction, so that every retry re-runs the
    whole transaction rather than a statement inside a broken one. After the last attempt the
    last error is raised as it was.
    """
    return _retrying(policy)(attempt)


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
