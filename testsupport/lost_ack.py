"""Inject the failure that exactly-once writes guard against: a commit whose answer is lost.

:func:`lose_commit_acknowledgements` makes an engine's next commits land in the database and
then break the connection before the client hears of it, as when a server or network drops
the link between the commit and its acknowledgement. With ``land=False`` the connection breaks
just before the commit instead, so that the transaction is rolled back by the server.

The error raised is the one the driver raises for a lost connection, on a connection that is
really closed, so SQLAlchemy and the library classify it exactly as they would the real thing.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

__all__ = ["LostAcknowledgements", "lose_commit_acknowledgements"]


@dataclass
class LostAcknowledgements:
    """What the injector did: how many commits it broke, and how many it let through."""

    remaining: int
    broken: int = 0
    passed: int = 0


def _lost_connection_error(dialect_name: str) -> Exception:
    if dialect_name == "postgresql":
        import psycopg

        return psycopg.OperationalError(
            "consuming input failed: server closed the connection unexpectedly"
        )
    if dialect_name in ("mysql", "mariadb"):
        import pymysql  # type: ignore[import-untyped]

        lost: Exception = pymysql.err.OperationalError(
            2013, "Lost connection to MySQL server during query"
        )
        return lost
    return sqlite3.ProgrammingError("Cannot operate on a closed database.")


@contextlib.contextmanager
def lose_commit_acknowledgements(
    engine: Engine, times: int = 1, *, land: bool = True, skip: int = 0
) -> Iterator[LostAcknowledgements]:
    """Break the next ``times`` commits on ``engine``: after they land, or before them.

    The first ``skip`` commits pass untouched (a call that reads in one transaction and then
    writes in another commits twice).
    """
    dialect = engine.dialect
    original = dialect.do_commit
    shadowed = vars(dialect).get("do_commit")
    state = LostAcknowledgements(remaining=times)
    skipped = [skip]

    def do_commit(dbapi_connection: Any) -> None:
        if skipped[0] > 0:
            skipped[0] -= 1
            state.passed += 1
            original(dbapi_connection)
            return
        if state.remaining <= 0:
            state.passed += 1
            original(dbapi_connection)
            return
        state.remaining -= 1
        state.broken += 1
        if land:
            original(dbapi_connection)
        dbapi_connection.dbapi_connection.close()
        raise _lost_connection_error(dialect.name)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    try:
        yield state
    finally:
        if shadowed is None:
            del dialect.do_commit
        else:
            dialect.do_commit = shadowed  # type: ignore[method-assign]
