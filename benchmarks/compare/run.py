"""Side-by-side comparison of agent-sessions, plain SQL and the peers' SQL session stores.

Run it with ``nox -s bench_compare`` (not a default session): nox installs agent-sessions and
the peers (``openai-agents``, ``google-adk``, ``langchain-community``) and runs this script, which
makes no network call beyond the local PostgreSQL server. Options: ``--help``.

Workloads, on SQLite (a file on local disk, WAL) and PostgreSQL (loopback), each store in a
throwaway database of its own:

- appends: ``--appends`` messages to a new session, one call and one commit per message; the
  median of ``--runs`` runs. Within a run the stores take turns every ``--slice`` messages, so
  that the drift of a shared machine's fsync time hits them all alike;
- batch appends: the same messages, ``--batch`` per call (agent-sessions ``append_messages``
  against one ``executemany`` + commit);
- tail read: the last 50 messages of a session of ``--tail-size`` messages, median of
  ``--tail-reads`` reads (``--full-reads`` for a store that can only read a whole session: said
  in the output), the stores taking turns;
- tail read against session size (``--sizes``; ``--with-1m`` adds 1,000,000) for agent-sessions
  and the floor, drawn to ``--plot``;
- issue 16's goals (agent-sessions only, ``benchmarks/history_goals.py``): ``fork_session`` of a
  session of ``--fork-size`` messages against the same ``INSERT ... SELECT`` by hand, median of
  ``--fork-runs``, and ``context_messages(limit=50)`` of a compacted session of
  ``--context-size`` messages against ``recent_messages(50)``, median of ``--context-reads``.

``--parts`` picks what runs: ``stores`` (everything above but issue 16's goals) and
``history`` (those), both by default.

It prints the machine, the versions, each store's durability settings, one table with ratios
against the plain-SQL floor and against OpenAI's ``SQLAlchemySession``, and which of issue 7's
and issue 16's goals the numbers meet. The raw numbers go to ``--json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import make_url  # noqa: E402

from benchmarks.common import message_text  # noqa: E402
from benchmarks.history_goals import history_goal_lines, measure_history  # noqa: E402
from benchmarks.scale_out import (  # noqa: E402
    appends_per_second,
    rss_during_appends,
    rss_growth_mb,
)
from testsupport.databases import provision_database  # noqa: E402

Message = tuple[str, str]  # (role: "user" | "assistant", content)
TAIL = 50
BACKEND_TITLES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
PACKAGES = [
    "agent-sessions",
    "sqlalchemy",
    "psycopg",
    "aiosqlite",
    "asyncpg",
    "openai-agents",
    "google-adk",
    "langchain-community",
    "langchain-core",
    "matplotlib",
]


def conversation(count: int, start: int = 0) -> list[Message]:
    """Return ``count`` seeded messages, alternating user and assistant, 8 to 40 words each."""
    return [
        ("user" if index % 2 == 0 else "assistant", message_text(index))
        for index in range(start, start + count)
    ]


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def median_ms(seconds: Sequence[float]) -> float:
    return statistics.median(seconds) * 1000


# --------------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------------


@dataclass
class Database:
    """One throwaway database: a SQLite file (already in WAL mode) or a PostgreSQL database."""

    backend: str
    url: str  # SQLAlchemy URL with a synchronous driver (pysqlite or psycopg)

    def with_driver(self, driver: str) -> str:
        dialect = "sqlite" if self.backend == "sqlite" else "postgresql"
        drivername = dialect if driver == "" else f"{dialect}+{driver}"
        return make_url(self.url).set(drivername=drivername).render_as_string(hide_password=False)

    @property
    def path(self) -> str:
        database = make_url(self.url).database
        assert database
        return database


class Databases:
    """Hands out throwaway databases and removes them all on ``close``."""

    def __init__(self, sqlite_dir: str | None) -> None:
        self._stack = contextlib.ExitStack()
        self._sqlite_dir = Path(tempfile.mkdtemp(prefix="bench-compare-", dir=sqlite_dir))
        self._stack.callback(self._remove_sqlite_dir)

    def _remove_sqlite_dir(self) -> None:
        for path in self._sqlite_dir.iterdir():
            path.unlink()
        self._sqlite_dir.rmdir()

    def new(self, backend: str, name: str) -> Database:
        if backend == "sqlite":
            path = self._sqlite_dir / f"{name}-{uuid.uuid4().hex[:8]}.db"
            with contextlib.closing(sqlite3.connect(path)) as connection:
                # WAL is a property of the file: every connection of every store opened on it
                # uses it, whether or not the store asks for it.
                connection.execute("PRAGMA journal_mode = WAL")
            return Database(backend, f"sqlite:///{path}")
        return Database(backend, self._stack.enter_context(provision_database(backend)))

    def close(self) -> None:
        self._stack.close()


# --------------------------------------------------------------------------------------------
# Stores: each wraps one way of storing a conversation behind the same five operations
# --------------------------------------------------------------------------------------------


class Store:
    """One store on one database. ``append_run`` and ``tail_run`` time only the store's calls."""

    key = ""
    title = ""
    backends: tuple[str, ...] = ("sqlite", "postgresql")
    tail_note = ""  # how the store reads the last 50, when it differs from a limited query
    reads_whole_session = False  # True: fewer tail reads (``--full-reads``)
    batch = False

    def __init__(self, database: Database) -> None:
        self.database = database

    def new_session(self) -> Any:
        raise NotImplementedError

    def append_run(self, handle: Any, messages: Sequence[Message]) -> float:
        """Append ``messages`` one call (and one commit) each; return the seconds taken."""
        raise NotImplementedError

    def batch_run(self, handle: Any, messages: Sequence[Message], size: int) -> float:
        raise NotImplementedError

    def seed(self, handle: Any, messages: Sequence[Message]) -> None:
        """Store ``messages`` as fast as the store allows (untimed)."""
        raise NotImplementedError

    def tail_run(self, handle: Any, reads: int) -> tuple[list[float], list[str]]:
        """Read the last 50 messages ``reads`` times; return each read's seconds and the last."""
        raise NotImplementedError

    def probe(self, statement: str) -> str:
        """Run ``statement`` on one of the store's own connections; return the first value."""
        raise NotImplementedError

    def settings(self) -> str:
        if self.database.backend == "sqlite":
            journal = self.probe("PRAGMA journal_mode")
            synchronous = {"0": "OFF", "1": "NORMAL", "2": "FULL", "3": "EXTRA"}.get(
                self.probe("PRAGMA synchronous"), "?"
            )
            return f"journal_mode={journal}, synchronous={synchronous}"
        return f"synchronous_commit={self.probe('SHOW synchronous_commit')}"

    def close(self) -> None:
        pass


def _timed(call: Callable[[], Any], reads: int) -> tuple[list[float], Any]:
    times = []
    result = None
    for _ in range(reads):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return times, result


class FloorStore(Store):
    """Plain SQL: stdlib sqlite3 or psycopg, one INSERT and one commit per message."""

    key = "floor"
    title = "plain SQL, one INSERT + commit (the floor)"
    batch = True

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        sqlite = database.backend == "sqlite"
        self._param = "?" if sqlite else "%s"
        # The drivers' defaults. sqlite3: an INSERT opens a transaction, commit() ends it, and
        # a SELECT runs outside any transaction. psycopg: every statement runs in a
        # transaction, ended by commit().
        self.autocommit_reads = False  # psycopg only: read in autocommit, one round trip
        if sqlite:
            self._writer: Any = sqlite3.connect(database.path)
            self._reader: Any = self._writer
        else:
            import psycopg

            conninfo = database.with_driver("")
            self._writer = psycopg.connect(conninfo)
            self._reader = psycopg.connect(conninfo, autocommit=True)
        created_at = "TEXT" if sqlite else "TIMESTAMPTZ"
        self._writer.execute(
            "CREATE TABLE floor_messages (session_id TEXT NOT NULL, sequence INTEGER NOT NULL,"
            " role TEXT NOT NULL, content TEXT NOT NULL, metadata TEXT NOT NULL,"
            f" created_at {created_at} NOT NULL, PRIMARY KEY (session_id, sequence))"
        )
        self._writer.commit()
        p = self._param
        self._insert = (
            "INSERT INTO floor_messages (session_id, sequence, role, content, metadata,"
            f" created_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p})"
        )
        self._tail = (
            "SELECT sequence, role, content, metadata, created_at FROM floor_messages"
            f" WHERE session_id = {p} ORDER BY sequence DESC LIMIT {p}"
        )
        self._next: dict[str, int] = {}

    def _now(self) -> Any:
        now = datetime.now(UTC)
        return now.isoformat() if self.database.backend == "sqlite" else now

    def new_session(self) -> str:
        session_id = uuid.uuid4().hex
        self._next[session_id] = 1
        return session_id

    def _rows(self, session_id: str, messages: Sequence[Message]) -> list[tuple[Any, ...]]:
        first = self._next[session_id]
        self._next[session_id] = first + len(messages)
        now = self._now()
        return [
            (session_id, first + offset, role, content, "{}", now)
            for offset, (role, content) in enumerate(messages)
        ]

    def append_run(self, handle: str, messages: Sequence[Message]) -> float:
        writer, insert, sqlite = self._writer, self._insert, self.database.backend == "sqlite"
        started = time.perf_counter()
        for role, content in messages:
            sequence = self._next[handle]
            self._next[handle] = sequence + 1
            now = datetime.now(UTC)
            writer.execute(
                insert,
                (handle, sequence, role, content, "{}", now.isoformat() if sqlite else now),
            )
            writer.commit()
        return time.perf_counter() - started

    def batch_run(self, handle: str, messages: Sequence[Message], size: int) -> float:
        writer = self._writer
        started = time.perf_counter()
        for chunk in batches(messages, size):
            writer.cursor().executemany(self._insert, self._rows(handle, chunk))
            writer.commit()
        return time.perf_counter() - started

    def seed(self, handle: str, messages: Sequence[Message]) -> None:
        for chunk in batches(messages, 5000):
            self._writer.cursor().executemany(self._insert, self._rows(handle, chunk))
            self._writer.commit()

    def tail_run(self, handle: str, reads: int) -> tuple[list[float], list[str]]:
        tail = self._tail
        connection = self._reader if self.autocommit_reads else self._writer
        end = self._writer.commit if connection is self._writer and self._param == "%s" else None

        def read() -> list[Any]:
            rows = connection.execute(tail, (handle, TAIL)).fetchall()
            if end is not None:
                end()
            rows.reverse()
            return rows

        times, rows = _timed(read, reads)
        return times, [row[2] for row in rows]

    def probe(self, statement: str) -> str:
        return str(self._reader.execute(statement).fetchone()[0])

    def close(self) -> None:
        self._writer.close()
        if self._reader is not self._writer:
            self._reader.close()


class AgentSessionsStore(Store):
    """agent-sessions ``PersistentSessionService``."""

    key = "agent_sessions"
    title = "agent-sessions `PersistentSessionService`"
    batch = True

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        from agent_sessions import PersistentSessionService

        self.service = PersistentSessionService.from_url(database.url, migrate=True)

    def new_session(self) -> str:
        return self.service.create("bench-actor", title="bench").id

    def append_run(self, handle: str, messages: Sequence[Message]) -> float:
        append = self.service.append_message
        started = time.perf_counter()
        for role, content in messages:
            append(handle, role, content)
        return time.perf_counter() - started

    def batch_run(self, handle: str, messages: Sequence[Message], size: int) -> float:
        chunks = [
            [{"role": role, "content": content} for role, content in chunk]
            for chunk in batches(messages, size)
        ]
        started = time.perf_counter()
        for chunk in chunks:
            self.service.append_messages(handle, chunk)
        return time.perf_counter() - started

    def seed(self, handle: str, messages: Sequence[Message]) -> None:
        for chunk in batches(messages, 5000):
            self.service.append_messages(
                handle, [{"role": role, "content": content} for role, content in chunk]
            )

    def tail_run(self, handle: str, reads: int) -> tuple[list[float], list[str]]:
        recent = self.service.recent_messages
        times, messages = _timed(lambda: recent(handle, TAIL), reads)
        return times, [message.content for message in messages]

    def probe(self, statement: str) -> str:
        engine = self.service._store.engine
        with engine.connect() as connection:
            return str(connection.exec_driver_sql(statement).scalar())

    def close(self) -> None:
        self.service.close()


class _AsyncStore(Store):
    """A store with an asyncio API, driven from one event loop kept for its whole life."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.runner = asyncio.Runner()

    def run(self, coroutine: Any) -> Any:
        return self.runner.run(coroutine)

    def async_url(self) -> str:
        return self.database.with_driver(
            "aiosqlite" if self.database.backend == "sqlite" else "asyncpg"
        )

    def _timed_async(self, make: Callable[[], Any], reads: int) -> tuple[list[float], Any]:
        async def go() -> tuple[list[float], Any]:
            times = []
            result = None
            for _ in range(reads):
                started = time.perf_counter()
                result = await make()
                times.append(time.perf_counter() - started)
            return times, result

        return self.run(go())

    async def _probe_engine(self, engine: Any, statement: str) -> str:
        async with engine.connect() as connection:
            return str((await connection.exec_driver_sql(statement)).scalar())

    def close(self) -> None:
        self.runner.close()


class OpenAISQLAlchemyStore(_AsyncStore):
    """OpenAI Agents SDK ``SQLAlchemySession`` (async, aiosqlite or asyncpg), via ``from_url``."""

    key = "openai_sqlalchemy"
    title = "OpenAI Agents SDK `SQLAlchemySession`"

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self._sessions: list[Any] = []

    def new_session(self) -> Any:
        from agents.extensions.memory.sqlalchemy_session import SQLAlchemySession

        session = SQLAlchemySession.from_url(
            uuid.uuid4().hex, url=self.async_url(), create_tables=True
        )
        self._sessions.append(session)
        self.run(session.get_items(limit=1))  # creates the tables, opens a connection
        return session

    def append_run(self, handle: Any, messages: Sequence[Message]) -> float:
        items = [{"role": role, "content": content} for role, content in messages]

        async def go() -> float:
            started = time.perf_counter()
            for item in items:
                await handle.add_items([item])
            return time.perf_counter() - started

        return self.run(go())

    def seed(self, handle: Any, messages: Sequence[Message]) -> None:
        for chunk in batches(messages, 5000):
            self.run(handle.add_items([{"role": r, "content": c} for r, c in chunk]))

    def tail_run(self, handle: Any, reads: int) -> tuple[list[float], list[str]]:
        times, items = self._timed_async(lambda: handle.get_items(limit=TAIL), reads)
        return times, [item["content"] for item in items]

    def probe(self, statement: str) -> str:
        return self.run(self._probe_engine(self._sessions[0].engine, statement))

    def close(self) -> None:
        for session in self._sessions:
            self.run(session.engine.dispose())
        super().close()


class OpenAISQLiteStore(_AsyncStore):
    """OpenAI Agents SDK ``SQLiteSession`` (stdlib sqlite3 in a worker thread, no ORM)."""

    key = "openai_sqlite"
    title = "OpenAI Agents SDK `SQLiteSession`"
    backends = ("sqlite",)

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self._sessions: list[Any] = []

    def new_session(self) -> Any:
        from agents.memory import SQLiteSession

        session = SQLiteSession(uuid.uuid4().hex, db_path=self.database.path)
        self._sessions.append(session)
        self.run(session.get_items(limit=1))
        return session

    def append_run(self, handle: Any, messages: Sequence[Message]) -> float:
        items = [{"role": role, "content": content} for role, content in messages]

        async def go() -> float:
            started = time.perf_counter()
            for item in items:
                await handle.add_items([item])
            return time.perf_counter() - started

        return self.run(go())

    def seed(self, handle: Any, messages: Sequence[Message]) -> None:
        for chunk in batches(messages, 5000):
            self.run(handle.add_items([{"role": r, "content": c} for r, c in chunk]))

    def tail_run(self, handle: Any, reads: int) -> tuple[list[float], list[str]]:
        times, items = self._timed_async(lambda: handle.get_items(limit=TAIL), reads)
        return times, [item["content"] for item in items]

    def probe(self, statement: str) -> str:
        # A connection opened and configured by the session itself, as its worker threads do.
        connection = self._sessions[0]._get_connection()
        return str(connection.execute(statement).fetchone()[0])

    def close(self) -> None:
        for session in self._sessions:
            session.close()
        super().close()


class ADKStore(_AsyncStore):
    """Google ADK ``DatabaseSessionService`` (async SQLAlchemy ORM; one event per append)."""

    key = "adk"
    title = "Google ADK `DatabaseSessionService`"
    tail_note = "`get_session` with `GetSessionConfig(num_recent_events=50)`"

    APP = "bench"
    USER = "bench-user"

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        from google.adk.sessions import DatabaseSessionService

        self.service = DatabaseSessionService(db_url=self.async_url())

    def _events(self, messages: Sequence[Message]) -> list[Any]:
        from google.adk.events import Event
        from google.genai import types

        # Built ahead of the timed loop, with distinct increasing times (ADK orders by time).
        base = time.time()
        return [
            Event(
                author="user" if role == "user" else "bench-agent",
                invocation_id="bench-invocation",
                timestamp=base + index / 10_000,
                content=types.Content(
                    role="user" if role == "user" else "model", parts=[types.Part(text=content)]
                ),
            )
            for index, (role, content) in enumerate(messages)
        ]

    def new_session(self) -> Any:
        return self.run(self.service.create_session(app_name=self.APP, user_id=self.USER))

    def append_run(self, handle: Any, messages: Sequence[Message]) -> float:
        events = self._events(messages)
        append = self.service.append_event

        async def go() -> float:
            started = time.perf_counter()
            for event in events:
                await append(handle, event)
            return time.perf_counter() - started

        return self.run(go())

    def seed(self, handle: Any, messages: Sequence[Message]) -> None:
        # append_event costs one transaction per event (about 80/s): the rows are built by ADK's
        # own StorageEvent.from_event, as append_event builds them, and written in bulk.
        service = self.service

        async def go() -> None:
            await service.prepare_tables()
            storage_event = service._get_schema_classes().StorageEvent
            for chunk in batches(messages, 5000):
                rows = [storage_event.from_event(handle, e) for e in self._events(chunk)]
                async with service.database_session_factory() as sql_session:
                    sql_session.add_all(rows)
                    await sql_session.commit()

        self.run(go())

    def tail_run(self, handle: Any, reads: int) -> tuple[list[float], list[str]]:
        from google.adk.sessions.base_session_service import GetSessionConfig

        config = GetSessionConfig(num_recent_events=TAIL)
        service = self.service

        def read() -> Any:
            return service.get_session(
                app_name=self.APP, user_id=self.USER, session_id=handle.id, config=config
            )

        times, session = self._timed_async(read, reads)
        return times, [event.content.parts[0].text for event in session.events]

    def probe(self, statement: str) -> str:
        return self.run(self._probe_engine(self.service.db_engine, statement))

    def close(self) -> None:
        self.run(self.service.close())
        super().close()


class LangChainStore(Store):
    """LangChain ``SQLChatMessageHistory`` (sync SQLAlchemy ORM)."""

    key = "langchain"
    title = "LangChain `SQLChatMessageHistory`"
    tail_note = "`messages[-50:]`: it cannot limit, every read loads the whole session"
    reads_whole_session = True

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self._histories: list[Any] = []

    def new_session(self) -> Any:
        from langchain_community.chat_message_histories.sql import SQLChatMessageHistory

        history = SQLChatMessageHistory(session_id=uuid.uuid4().hex, connection=self.database.url)
        self._histories.append(history)
        return history

    @staticmethod
    def _messages(messages: Sequence[Message]) -> list[Any]:
        from langchain_core.messages import AIMessage, HumanMessage

        return [
            HumanMessage(content=content) if role == "user" else AIMessage(content=content)
            for role, content in messages
        ]

    def append_run(self, handle: Any, messages: Sequence[Message]) -> float:
        prepared = self._messages(messages)
        add = handle.add_message
        started = time.perf_counter()
        for message in prepared:
            add(message)
        return time.perf_counter() - started

    def seed(self, handle: Any, messages: Sequence[Message]) -> None:
        for chunk in batches(messages, 5000):
            handle.add_messages(self._messages(chunk))

    def tail_run(self, handle: Any, reads: int) -> tuple[list[float], list[str]]:
        times, messages = _timed(lambda: handle.messages[-TAIL:], reads)
        return times, [message.content for message in messages]

    def probe(self, statement: str) -> str:
        with self._histories[0].engine.connect() as connection:
            return str(connection.exec_driver_sql(statement).scalar())

    def close(self) -> None:
        for history in self._histories:
            history.engine.dispose()


STORES: list[type[Store]] = [
    FloorStore,
    AgentSessionsStore,
    OpenAISQLAlchemyStore,
    OpenAISQLiteStore,
    ADKStore,
    LangChainStore,
]


# --------------------------------------------------------------------------------------------
# The workloads
# --------------------------------------------------------------------------------------------


@dataclass
class Results:
    appends: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # backend→store→rates
    batch: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    tail_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    tail_reads: dict[str, dict[str, int]] = field(default_factory=dict)
    sweep_ms: dict[str, dict[str, dict[int, float]]] = field(default_factory=dict)
    settings: dict[str, dict[str, str]] = field(default_factory=dict)
    scale_out: dict[str, dict[int, float]] = field(default_factory=dict)  # backend→processes→/s
    rss_mb: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # (appends, MB)
    history: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # measure→seconds


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def check_tail(store: Store, contents: list[str], expected: Sequence[Message]) -> None:
    wanted = [content for _, content in expected[-TAIL:]]
    if contents != wanted:
        raise SystemExit(f"{store.title} on {store.database.backend}: the tail read is wrong")


def rotated(stores: Sequence[Store], turn: int) -> list[Store]:
    """Return ``stores`` starting at a different one each turn, so no store always goes first."""
    shift = turn % len(stores)
    return [*stores[shift:], *stores[:shift]]


def interleaved_appends(
    stores: Sequence[Store],
    messages: Sequence[Message],
    slice_size: int,
    run: Callable[[Store, Any, Sequence[Message]], float],
) -> dict[str, float]:
    """Append ``messages`` to a new session of every store, ``slice_size`` at a time, in turn.

    The machine is shared and its disk's fsync time drifts: taking turns every few hundred
    messages gives every store the same conditions. Returns each store's seconds in total.
    """
    handles = {store.key: store.new_session() for store in stores}
    seconds = dict.fromkeys(handles, 0.0)
    for turn, chunk in enumerate(batches(messages, slice_size)):
        for store in rotated(stores, turn):
            seconds[store.key] += run(store, handles[store.key], chunk)
    for store in stores:
        check_tail(store, store.tail_run(handles[store.key], 1)[1], messages)
    return seconds


def interleaved_reads(
    stores: Sequence[Store], handles: dict[str, Any], reads: dict[str, int], blocks: int
) -> dict[str, list[float]]:
    """Time ``reads[key]`` tail reads of each store, spread over ``blocks`` turns."""
    times: dict[str, list[float]] = {store.key: [] for store in stores}
    for store in stores:
        store.tail_run(handles[store.key], 2)  # warm the connection and the cache
    for turn in range(blocks):
        for store in rotated(stores, turn):
            share = reads[store.key] // blocks + (turn < reads[store.key] % blocks)
            if share:
                taken, _ = store.tail_run(handles[store.key], share)
                times[store.key].extend(taken)
    return times


def run_backend(
    backend: str, args: argparse.Namespace, databases: Databases, results: Results
) -> None:
    classes = [cls for cls in STORES if backend in cls.backends and cls.key in args.stores]
    stores = [cls(databases.new(backend, cls.key)) for cls in classes]
    try:
        for store in stores:  # untimed: grows each store's files and fills its caches
            store.append_run(store.new_session(), conversation(args.warmup, start=10**6))
        appends = results.appends.setdefault(backend, {})
        for run in range(args.runs):
            messages = conversation(args.appends, start=run * args.appends)
            seconds = interleaved_appends(
                stores, messages, args.slice, lambda s, h, m: s.append_run(h, m)
            )
            for key, taken in seconds.items():
                appends.setdefault(key, []).append(args.appends / taken)
            log(
                f"  {backend} appends/s, run {run + 1}: "
                + ", ".join(f"{key} {args.appends / t:,.0f}" for key, t in seconds.items())
            )
        results.settings[backend] = {store.key: store.settings() for store in stores}

        batched = [store for store in stores if store.batch]
        batch = results.batch.setdefault(backend, {})
        for run in range(args.runs):
            messages = conversation(args.appends, start=run * args.appends)
            seconds = interleaved_appends(
                batched,
                messages,
                args.batch * 5,
                lambda s, h, m: s.batch_run(h, m, args.batch),
            )
            for key, taken in seconds.items():
                batch.setdefault(key, []).append(args.appends / taken)

        messages = conversation(args.tail_size)
        handles = {}
        for store in stores:
            handles[store.key] = store.new_session()
            store.seed(handles[store.key], messages)
            check_tail(store, store.tail_run(handles[store.key], 1)[1], messages)
        reads = {
            store.key: args.full_reads if store.reads_whole_session else args.tail_reads
            for store in stores
        }
        times = interleaved_reads(stores, handles, reads, blocks=args.full_reads)
        for store in stores:
            key = store.key
            results.tail_ms.setdefault(backend, {})[key] = median_ms(times[key])
            results.tail_reads.setdefault(backend, {})[key] = len(times[key])
            log(f"  {backend} tail read: {key} {median_ms(times[key]):.3f} ms")
        floor = next((store for store in stores if isinstance(store, FloorStore)), None)
        if floor is not None and backend == "postgresql":
            floor.autocommit_reads = True
            taken, _ = floor.tail_run(handles[floor.key], args.tail_reads)
            results.tail_ms[backend]["floor_autocommit"] = median_ms(taken)
    finally:
        for store in stores:
            store.close()

    sweepers = [
        cls(databases.new(backend, f"sweep-{cls.key}"))
        for cls in (FloorStore, AgentSessionsStore)
        if cls.key in args.stores
    ]
    sweep = results.sweep_ms.setdefault(backend, {})
    try:
        handles = {store.key: store.new_session() for store in sweepers}
        stored = 0
        for size in args.sizes:
            for store in sweepers:
                store.seed(handles[store.key], conversation(size - stored, start=stored))
                contents = store.tail_run(handles[store.key], 1)[1]
                check_tail(store, contents, conversation(TAIL, start=size - TAIL))
            stored = size
            reads = {store.key: args.tail_reads for store in sweepers}
            times = interleaved_reads(sweepers, handles, reads, blocks=20)
            for key, taken in times.items():
                sweep.setdefault(key, {})[size] = median_ms(taken)
            log(
                f"  {backend} tail read at {size:,}: "
                + ", ".join(f"{key} {median_ms(t):.3f} ms" for key, t in times.items())
            )
    finally:
        for store in sweepers:
            store.close()
    if "agent_sessions" in args.stores:
        run_scale_out_and_memory(backend, args, databases, results)


def run_scale_out_and_memory(
    backend: str, args: argparse.Namespace, databases: Databases, results: Results
) -> None:
    """agent-sessions only: 1 and 4 appending processes, and RSS over a long run of appends."""
    from agent_sessions import PersistentSessionService

    database = databases.new(backend, "scale-out")
    PersistentSessionService.from_url(database.url, migrate=True).close()
    if backend != "sqlite":  # SQLite's writers queue on one file lock by design
        rates = results.scale_out.setdefault(backend, {})
        for processes in (1, 4):
            rates[processes] = appends_per_second(database.url, processes, args.scale_out_appends)
        log(f"  {backend} scale-out: 1 process {rates[1]:,.0f}/s, 4 processes {rates[4]:,.0f}/s")
    if args.memory_appends:
        checkpoints = [args.memory_appends * tenth // 10 for tenth in range(1, 11)]
        samples = rss_during_appends(database.url, args.memory_appends, checkpoints)
        results.rss_mb[backend] = samples
        log(
            f"  {backend} RSS over appends: "
            + ", ".join(f"{n:,}: {mb:.1f} MB" for n, mb in samples)
        )


def run_history(
    backend: str, args: argparse.Namespace, databases: Databases, results: Results
) -> None:
    """agent-sessions only: issue 16's fork and context goals (``history_goals.py``)."""
    from agent_sessions import PersistentSessionService

    database = databases.new(backend, "history")
    PersistentSessionService.from_url(database.url, migrate=True).close()
    times = measure_history(
        database.url, args.fork_size, args.fork_runs, args.context_size, args.context_reads
    )
    results.history[backend] = times
    log(
        f"  {backend} history: "
        + ", ".join(f"{key} {statistics.median(t) * 1000:.3f} ms" for key, t in times.items())
    )


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def machine(postgres_version: str | None) -> list[str]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    lines = [
        f"uname -a: {' '.join(os.uname())}",
        f"CPU: {cpu}, {os.cpu_count()} cores",
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
    ]
    if postgres_version:
        lines.append(f"PostgreSQL: {postgres_version}")
    lines.append(", ".join(f"{name} {version}" for name, version in versions().items()))
    return lines


def postgres_facts() -> tuple[str, str]:
    import psycopg

    from testsupport.databases import postgres_server_url

    conninfo = make_url(postgres_server_url()).set(drivername="postgresql")
    with psycopg.connect(conninfo.render_as_string(hide_password=False), autocommit=True) as c:
        version = str(c.execute("SHOW server_version").fetchone()[0])
        facts = ", ".join(
            f"{name}={c.execute(f'SHOW {name}').fetchone()[0]}"
            for name in ("fsync", "synchronous_commit", "wal_sync_method", "shared_buffers")
        )
    return version, facts


def ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:.2f}x"


def cell(value: float | None, floor: float | None, peer: float | None, rate: bool) -> str:
    if value is None:
        return "-"
    shown = f"{value:,.0f}" if rate else f"{value:.3f}"
    return f"{shown} ({ratio(value, floor)}, {ratio(value, peer)})"


def report(args: argparse.Namespace, results: Results, pg: tuple[str, str] | None) -> list[str]:
    out: list[str] = []
    out.append("## Machine and versions")
    out.append("")
    out.extend(f"- {line}" for line in machine(pg[0] if pg else None))
    out.append("")
    out.append("## Durability settings (read from each store's own connection)")
    out.append("")
    if pg:
        out.append(f"- PostgreSQL server: {pg[1]}")
    for backend, stores in results.settings.items():
        for key, setting in stores.items():
            out.append(f"- {BACKEND_TITLES[backend]}, {title_of(key)}: {setting}")
    out.append("")
    if "stores" in args.parts:
        out.extend(store_report(args, results))
    if results.history:
        out.extend(history_report(args, results))
    return out


def history_report(args: argparse.Namespace, results: Results) -> list[str]:
    """Issue 16's goals: the fork and the model's context, each beside its floor."""
    return [
        f"## Fork ({args.fork_size:,} messages, median of {args.fork_runs}) and context"
        f" (a compacted session of {args.context_size:,}, median of {args.context_reads} reads)",
        "",
        *history_goal_lines(results.history, BACKEND_TITLES),
        "",
    ]


def store_report(args: argparse.Namespace, results: Results) -> list[str]:
    """The stores' appends, batch appends and tail reads, and issue 7's goals."""
    out: list[str] = []

    def append_median(backend: str, key: str) -> float | None:
        rates = results.appends.get(backend, {}).get(key)
        return statistics.median(rates) if rates else None

    def tail(backend: str, key: str) -> float | None:
        return results.tail_ms.get(backend, {}).get(key)

    out.append(
        f"## Appends (N={args.appends:,}, one commit each, median of {args.runs}) and tail reads"
        f" (last {TAIL} of {args.tail_size:,}, median)"
    )
    out.append("")
    out.append(
        "Each cell: the value (the ratio to the floor, the ratio to OpenAI `SQLAlchemySession`)."
        " For appends/s higher is better; for tail-read ms lower is better."
    )
    out.append("")
    out.append(
        "| store | SQLite appends/s | PG appends/s | tail read SQLite ms | tail read PG ms |"
    )
    out.append("|---|---|---|---|---|")
    for cls in STORES:
        if cls.key not in args.stores:
            continue
        cells = [cls.title]
        for backend in ("sqlite", "postgresql"):
            cells.append(
                cell(
                    append_median(backend, cls.key),
                    append_median(backend, "floor"),
                    append_median(backend, "openai_sqlalchemy"),
                    rate=True,
                )
            )
        for backend in ("sqlite", "postgresql"):
            cells.append(
                cell(
                    tail(backend, cls.key),
                    tail(backend, "floor"),
                    tail(backend, "openai_sqlalchemy"),
                    rate=False,
                )
            )
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    notes = [
        f"{cls.title}: tail read is {cls.tail_note}"
        for cls in STORES
        if cls.tail_note and cls.key in args.stores
    ]
    reads = {
        f"{title_of(key)} on {BACKEND_TITLES[backend]}: {count}"
        for backend, counts in results.tail_reads.items()
        for key, count in counts.items()
        if count != args.tail_reads
    }
    notes.append(
        f"Tail reads per store: {args.tail_reads}"
        + (f", except {'; '.join(sorted(reads))}" if reads else "")
    )
    autocommit = results.tail_ms.get("postgresql", {}).get("floor_autocommit")
    if autocommit is not None:
        notes.append(
            "The PostgreSQL floor reads in a transaction (psycopg's default: SELECT, then"
            f" commit); in autocommit, one round trip, the same read takes {autocommit:.3f} ms."
            " The SQLite floor's SELECT runs outside a transaction (sqlite3's default)."
        )
    notes.append(
        "All append runs: "
        + "; ".join(
            f"{BACKEND_TITLES[b]} {title_of(k)} " + "/".join(f"{r:,.0f}" for r in rates)
            for b, stores in results.appends.items()
            for k, rates in stores.items()
        )
    )
    out.extend(f"- {note}" for note in notes)
    out.append("")

    out.append(
        f"## Batch appends ({args.appends:,} messages, {args.batch} per call and commit,"
        f" median of {args.runs})"
    )
    out.append("")
    out.append("| store | SQLite messages/s | PG messages/s |")
    out.append("|---|---|---|")
    batch_median = {
        backend: {key: statistics.median(rates) for key, rates in stores.items()}
        for backend, stores in results.batch.items()
    }
    for key, label in (
        ("floor", "plain `executemany` + commit (the floor)"),
        ("agent_sessions", "agent-sessions `append_messages`"),
    ):
        row = [label]
        for backend in ("sqlite", "postgresql"):
            value = batch_median.get(backend, {}).get(key)
            floor = batch_median.get(backend, {}).get("floor")
            row.append("-" if value is None else f"{value:,.0f} ({ratio(value, floor)})")
        out.append("| " + " | ".join(row) + " |")
    out.append("")

    sizes = args.sizes
    out.append(
        f"## Tail read against session size (last {TAIL}, median of {args.tail_reads} reads, ms)"
    )
    out.append("")
    header = ["session size"]
    columns = []
    for backend in ("sqlite", "postgresql"):
        for key in ("agent_sessions", "floor"):
            if key in results.sweep_ms.get(backend, {}):
                columns.append((backend, key))
                header.append(f"{title_of(key, short=True)}, {BACKEND_TITLES[backend]}")
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "---|" * len(header))
    for size in sizes:
        row = [f"{size:,}"]
        for backend, key in columns:
            row.append(f"{results.sweep_ms[backend][key][size]:.3f}")
        out.append("| " + " | ".join(row) + " |")
    out.append("")

    out.append("## Goals of issue 7 (measured in this run)")
    out.append("")
    out.extend(goals(args, results, append_median, tail, batch_median))
    return out


def title_of(key: str, *, short: bool = False) -> str:
    if short:
        return {"floor": "floor", "agent_sessions": "agent-sessions"}.get(key, key)
    for cls in STORES:
        if cls.key == key:
            return cls.title.split(",")[0] if key == "floor" else cls.title
    return key


def goals(
    args: argparse.Namespace,
    results: Results,
    append_median: Callable[[str, str], float | None],
    tail: Callable[[str, str], float | None],
    batch_median: dict[str, dict[str, float]],
) -> list[str]:
    lines = []

    def verdict(
        name: str, value: float | None, limit: float, *, at_least: bool, runs: str = ""
    ) -> None:
        if value is None:
            lines.append(f"- {name}: not measured")
            return
        met = value >= limit if at_least else value <= limit
        sign = ">=" if at_least else "<="
        lines.append(
            f"- {name}: {value:.3g} (goal {sign} {limit:g}): {'MET' if met else 'NOT MET'}{runs}"
        )

    def div(a: float | None, b: float | None) -> float | None:
        return None if a is None or not b else a / b

    def per_run(backend: str, key: str, base: str) -> str:
        """The ratio in each run: the stores took turns within a run, so these pair up."""
        ours = results.appends.get(backend, {}).get(key, [])
        theirs = results.appends.get(backend, {}).get(base, [])
        if not ours or len(ours) != len(theirs):
            return ""
        return "; per run " + ", ".join(f"{a / b:.3g}" for a, b in zip(ours, theirs, strict=True))

    for backend in ("sqlite", "postgresql"):
        if backend not in results.appends:
            continue
        title = BACKEND_TITLES[backend]
        ours = append_median(backend, "agent_sessions")
        verdict(
            f"{title} append, share of the floor",
            div(ours, append_median(backend, "floor")),
            0.6,
            at_least=True,
            runs=per_run(backend, "agent_sessions", "floor"),
        )
        verdict(
            f"{title} append, times OpenAI SQLAlchemySession",
            div(ours, append_median(backend, "openai_sqlalchemy")),
            5,
            at_least=True,
            runs=per_run(backend, "agent_sessions", "openai_sqlalchemy"),
        )
        ceiling = div(append_median(backend, "floor"), append_median(backend, "openai_sqlalchemy"))
        if ceiling is not None:
            lines.append(
                f"  (for reference, the floor itself reaches {ceiling:.3g} times OpenAI"
                " SQLAlchemySession in this run)"
            )
        batch = batch_median.get(backend, {})
        verdict(
            f"{title} batch append, share of executemany",
            div(batch.get("agent_sessions"), batch.get("floor")),
            0.5,
            at_least=True,
        )
        verdict(
            f"{title} tail read, times the floor",
            div(tail(backend, "agent_sessions"), tail(backend, "floor")),
            2,
            at_least=False,
        )
        sweep = results.sweep_ms.get(backend, {}).get("agent_sessions", {})
        largest = max(sweep) if sweep else None
        if largest and 10_000 in sweep and largest > 10_000:
            verdict(
                f"{title} tail read flat, {largest:,} vs 10,000 messages",
                sweep[largest] / sweep[10_000],
                1.5,
                at_least=False,
            )
    for backend, rates in results.scale_out.items():
        verdict(
            f"{BACKEND_TITLES[backend]} scale-out, 4 processes over 1",
            div(rates.get(4), rates.get(1)),
            2,
            at_least=True,
        )
    for backend, samples in results.rss_mb.items():
        first, last = samples[0], samples[-1]
        verdict(
            f"{BACKEND_TITLES[backend]} RSS growth from append {first[0]:,} to {last[0]:,}"
            f" (MB; {first[1]:.1f} -> {last[1]:.1f})",
            rss_growth_mb(samples),
            1,
            at_least=False,
        )
    if 1_000_000 not in args.sizes:
        lines.append(
            "- The issue states flatness at 1,000,000 messages; this run stopped at"
            f" {max(args.sizes):,} (add --with-1m)."
        )
    return lines


def plot(results: Results, path: Path, sizes: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=110)
    styles = {"agent_sessions": "-", "floor": "--"}
    colours = {"sqlite": "tab:blue", "postgresql": "tab:orange"}
    for backend, stores in results.sweep_ms.items():
        for key, points in stores.items():
            xs = [size for size in sizes if size in points]
            axes.plot(
                xs,
                [points[size] for size in xs],
                styles[key],
                marker="o",
                color=colours[backend],
                label=f"{title_of(key, short=True)}, {BACKEND_TITLES[backend]}",
            )
    axes.set_xscale("log")
    axes.set_xticks(sizes, [f"{size:,}" for size in sizes])
    axes.minorticks_off()
    highest = max(
        (
            value
            for stores in results.sweep_ms.values()
            for p in stores.values()
            for value in p.values()
        ),
        default=1.0,
    )
    axes.set_ylim(0, highest * 1.45)  # room for the legend above the lines
    axes.set_xlabel("messages in the session")
    axes.set_ylabel(f"median time to read the last {TAIL} (ms)")
    axes.set_title("Tail read against session size")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="upper center", ncol=2, fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--stores", default=",".join(cls.key for cls in STORES))
    parser.add_argument("--appends", type=int, default=2000, help="messages per append run")
    parser.add_argument("--runs", type=int, default=3, help="append runs per store")
    parser.add_argument("--warmup", type=int, default=200, help="untimed appends per store first")
    parser.add_argument("--batch", type=int, default=100, help="messages per batch append")
    parser.add_argument(
        "--slice", type=int, default=100, help="appends each store makes before the next's turn"
    )
    parser.add_argument("--tail-size", type=int, default=20_000)
    parser.add_argument("--tail-reads", type=int, default=200)
    parser.add_argument(
        "--full-reads", type=int, default=20, help="reads for a store that loads the whole session"
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--with-1m", action="store_true", help="add a 1,000,000-message size")
    parser.add_argument(
        "--scale-out-appends", type=int, default=1000, help="appends per process, scale-out"
    )
    parser.add_argument(
        "--memory-appends", type=int, default=100_000, help="appends of the memory run (0: none)"
    )
    parser.add_argument("--parts", default="stores,history", help="stores, history or both")
    parser.add_argument("--fork-size", type=int, default=100_000, help="messages of the fork")
    parser.add_argument("--fork-runs", type=int, default=5, help="forks of each kind")
    parser.add_argument("--context-size", type=int, default=10_000)
    parser.add_argument("--context-reads", type=int, default=200)
    parser.add_argument("--sqlite-dir", default=None, help="folder for the SQLite files")
    parser.add_argument("--plot", default=str(ROOT / "docs" / "images" / "tail_read.png"))
    parser.add_argument("--json", default=str(ROOT / "build" / "bench_compare" / "results.json"))
    args = parser.parse_args(argv)
    args.backends = [b for b in args.backends.split(",") if b]
    args.stores = [s for s in args.stores.split(",") if s]
    args.parts = [p for p in args.parts.split(",") if p]
    if set(args.parts) - {"stores", "history"}:
        parser.error(f"unknown part in --parts: {args.parts}")
    args.sizes = sorted(
        {int(s) for s in args.sizes.split(",")} | ({1_000_000} if args.with_1m else set())
    )
    unknown = set(args.stores) - {cls.key for cls in STORES}
    if unknown or set(args.backends) - set(BACKEND_TITLES):
        parser.error(f"unknown store or backend: {sorted(unknown) or args.backends}")
    if min(args.sizes) < TAIL or args.tail_size < TAIL or args.appends < TAIL:
        parser.error(f"sizes must hold at least {TAIL} messages")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    started = time.perf_counter()
    pg = postgres_facts() if "postgresql" in args.backends else None
    results = Results()
    databases = Databases(args.sqlite_dir)
    try:
        for backend in args.backends:
            log(f"{BACKEND_TITLES[backend]}:")
            if "stores" in args.parts:
                run_backend(backend, args, databases, results)
            if "history" in args.parts:
                run_history(backend, args, databases, results)
    finally:
        databases.close()
    lines = report(args, results, pg)
    lines.append("")
    lines.append(f"Run in {time.perf_counter() - started:.0f} s.")
    print("\n".join(lines))
    if results.sweep_ms:
        plot(results, Path(args.plot), args.sizes)
    json_path = Path(args.json)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(
        json.dumps(
            {"arguments": {k: v for k, v in vars(args).items()}, **results.__dict__}, indent=2
        )
    )
    log(f"plot: {args.plot if results.sweep_ms else 'not drawn'}; numbers: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
