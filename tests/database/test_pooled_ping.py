"""Regression: the ping of a pooled psycopg connection keeps the server's error (sqlalchemy#8008).

With ``pool_pre_ping=True``, SQLAlchemy's psycopg ping turns autocommit on, runs an empty
statement and turns autocommit off again in a ``finally`` block. When the server ends the
connection during the ping, psycopg refuses that last step with ``ProgrammingError: can't change
'autocommit' now``, which replaced the real, transient error and escaped the retry policy. The
library's ping restores autocommit only after a successful ping. The stand-in connection below
behaves as psycopg's does, so those tests need no server; the last test pings a real pooled
connection of every backend of the run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from agent_sessions.infrastructure.database import create_database_engine
from agent_sessions.infrastructure.database.retry import is_transient_error
from tests.provisioning import provisioned_url

ENDED = "terminating connection due to administrator command"
UNREACHABLE_POSTGRESQL = "postgresql+psycopg://u@127.0.0.1:1/x"


class StandInCursor:
    def __init__(self, connection: StandInConnection) -> None:
        self._connection = connection
        self.closed = False

    def execute(self, statement: str) -> None:
        connection = self._connection
        connection.executed.append((statement, connection.autocommit))
        if connection.ended_by_server:
            # psycopg still sees the statement in progress when the server ends the link.
            connection.active = True
            raise psycopg.OperationalError(ENDED)

    def close(self) -> None:
        self.closed = True


class StandInConnection:
    """Behaves as a psycopg connection does for a ping: autocommit cannot change mid-query."""

    def __init__(self, *, ended_by_server: bool, autocommit: bool) -> None:
        self.ended_by_server = ended_by_server
        self.active = False
        self.closed = False  # psycopg has not noticed yet that the server ended it
        self._autocommit = autocommit
        self.autocommit_changes: list[bool] = []
        self.executed: list[tuple[str, bool]] = []
        self.cursors: list[StandInCursor] = []

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        if self.active:
            raise psycopg.ProgrammingError(
                "can't change 'autocommit' now: connection in transaction status ACTIVE"
            )
        self._autocommit = value
        self.autocommit_changes.append(value)

    def cursor(self) -> StandInCursor:
        cursor = StandInCursor(self)
        self.cursors.append(cursor)
        return cursor


@pytest.fixture(scope="module")
def database_url(backend: str) -> Iterator[str]:
    """Yield the URL of a fresh, empty database of the test's backend."""
    with contextlib.ExitStack() as stack:
        yield provisioned_url(stack, backend)


@pytest.fixture
def engine() -> Iterator[Engine]:
    """An engine of the library for PostgreSQL; it connects to nothing until it is used."""
    made = create_database_engine(UNREACHABLE_POSTGRESQL)
    yield made
    made.dispose()


def test_a_connection_ended_during_the_ping_fails_with_the_servers_retried_error(
    engine: Engine,
) -> None:
    connection = StandInConnection(ended_by_server=True, autocommit=False)
    with pytest.raises(psycopg.OperationalError, match=ENDED) as raised:
        engine.dialect.do_ping(connection)
    assert not isinstance(raised.value, psycopg.ProgrammingError)
    wrapped: Any = DBAPIError.instance(";", None, raised.value, psycopg.Error)
    assert is_transient_error(wrapped), f"{wrapped!r} is not counted as transient"
    refused = psycopg.ProgrammingError("can't change 'autocommit' now")
    masked: Any = DBAPIError.instance(";", None, refused, psycopg.Error)
    assert not is_transient_error(masked), "the error that used to hide it would be retried too"
    assert [cursor.closed for cursor in connection.cursors] == [True]


@pytest.mark.parametrize(
    ("autocommit", "changes"),
    [(False, [True, False]), (True, [])],
    ids=["autocommit off is turned back off", "autocommit on is left alone"],
)
def test_a_healthy_connection_passes_the_ping_with_its_autocommit_as_it_was(
    engine: Engine, autocommit: bool, changes: list[bool]
) -> None:
    connection = StandInConnection(ended_by_server=False, autocommit=autocommit)
    assert engine.dialect.do_ping(connection) is True
    assert connection.executed == [(";", True)]
    assert connection.autocommit is autocommit
    assert connection.autocommit_changes == changes
    assert [cursor.closed for cursor in connection.cursors] == [True]


def test_a_pooled_connection_of_the_backend_passes_the_ping_and_stays_usable(
    database_url: str,
) -> None:
    pinged = create_database_engine(database_url, pool_pre_ping=True, pool_size=1)
    try:
        for _ in range(3):  # the second and third check-outs ping the pooled connection
            with pinged.begin() as connection:
                assert connection.execute(text("SELECT 1")).scalar_one() == 1
        with pinged.connect() as connection:
            raw = connection.connection.dbapi_connection
            assert pinged.dialect.do_ping(raw) is True
            if pinged.dialect.driver == "psycopg":
                assert raw.autocommit is False, "the ping left autocommit on"
            assert connection.execute(text("SELECT 2")).scalar_one() == 2
    finally:
        pinged.dispose()
