"""The one boundary where SQLAlchemy and driver errors become the library's errors.

:func:`translate_error` is called wherever a SQLAlchemy error leaves the library: a store's
transaction, store opening, and the command line's database commands. It picks the
:class:`~agent_sessions.domain.errors.DatabaseError` subclass by the retry classifier's
:class:`~agent_sessions.infrastructure.database.retry.Fault`, so that what is retried and
what a caller is told come from one rule, and it keeps passwords out of the message.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import URL

from agent_sessions.domain.errors import (
    DatabaseConflictError,
    DatabaseError,
    DatabaseTimeoutError,
    DatabaseUnavailableError,
)
from agent_sessions.infrastructure.database.engine import redact_url, scrub_secrets
from agent_sessions.infrastructure.database.retry import Fault, RetryOutcome, classify_error

__all__ = ["describe_error", "translate_error"]

_ERROR_FOR_FAULT: Mapping[Fault, type[DatabaseError]] = {
    Fault.CONNECTION: DatabaseUnavailableError,
    Fault.LOCK_TIMEOUT: DatabaseTimeoutError,
    Fault.CONFLICT: DatabaseConflictError,
    Fault.PERMANENT: DatabaseError,
}


def describe_error(exc: BaseException) -> str:
    """Return the driver error's class and first line, without SQL or parameters."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip()
    first_line = text.splitlines()[0] if text else repr(cause)
    return f"{type(cause).__name__}: {first_line}"


def translate_error(
    exc: BaseException,
    url: str | URL,
    *,
    doing: str | None = None,
    outcome: RetryOutcome | None = None,
) -> DatabaseError:
    """Return the library error for a SQLAlchemy or driver error met on the database at ``url``.

    The class follows the error's fault: a connection fault gives
    :class:`DatabaseUnavailableError`, a lock wait :class:`DatabaseTimeoutError`, a deadlock
    or serialization failure :class:`DatabaseConflictError`, anything else a plain
    :class:`DatabaseError`. The message names the database with its password hidden, and
    gives the driver error's class and first line with every secret of ``url`` scrubbed.
    The caller raises the result ``from exc``.

    Args:
        exc: the error, as SQLAlchemy raised it.
        url: the database's URL (the password is never shown).
        doing: what failed, as a verb phrase before the URL (``"open"`` gives
            ``cannot open <url>: ...``); without it the message says ``database error on``.
        outcome: how the retry loop went, when one ran: a transient error then reports the
            attempts and the seconds the policy allowed.

    """
    where = redact_url(url)
    detail = scrub_secrets(describe_error(exc), url)
    fault = classify_error(exc)
    error = _ERROR_FOR_FAULT[fault]
    if outcome is not None and fault.transient:
        return error(
            f"database on {where} still failing after {outcome.attempts} attempt(s) over "
            f"{outcome.elapsed_seconds:.1f}s (the retry policy's bound): {detail}"
        )
    if doing is not None:
        return error(f"cannot {doing} {where}: {detail}")
    return error(f"database error on {where}: {detail}")
