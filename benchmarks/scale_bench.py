"""Issue 7's performance goals, each measured beside a plain-SQL floor in the same run.

Every suite runs on a fresh database per backend (``BenchmarkStore``) and times
agent-sessions next to the floor: the same work done with the bare driver (stdlib
``sqlite3``, ``psycopg``, ``pymysql``) on the library's own tables, with the same durability
settings (see ``common.PlainSQL``). A ratio is ``time_<ours> / time_floor_<...>`` of one run.

The installed ASV re-runs ``setup`` before every timed sample (asv#966), so that a sample
never sees another's writes: each ``prepare`` warms the service up (compiled statements,
pooled connection) before anything is timed, and each timed call of a fast operation makes
:data:`OPS` of them, so that a sample is not one sub-millisecond call. Divide such a result
by :data:`OPS` for one operation.

Sizes here are the ones of the default run (``nox -s benchmark``): 10,000 messages for the
tail read, 20,000 for the full read and the export and import, 10,000 sessions and their
100th page for the listing. ``slow_bench.py`` runs the same suites at 1,000,000 messages and
100,000 sessions when ``AGENT_SESSIONS_SLOW_BENCH=1`` is set.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

from ulid import ULID

from agent_sessions import AsyncPersistentSessionService, PersistentSessionService

from .common import (
    BACKENDS,
    MESSAGE_COLUMNS,
    ROLES,
    SESSION_COLUMNS,
    BenchmarkStore,
    PlainSQL,
    message_text,
    seed_plain_session,
    seed_plain_sessions,
    write_export_stream,
)
from .scale_out import appends_per_second, rss_during_appends, rss_growth_mb

OPS = 100
"""Operations per timed call of the fast suites (append, tail read, listing)."""
BATCH = 100
"""Messages per ``append_messages`` call."""
BATCHES = 10
"""``append_messages`` calls per timed call."""
TAIL = 50
PAGE_SIZE = 10
"""Sessions per listing page: 100,000 sessions make 10,000 pages of it."""
DEEP_PAGE = {10_000: 100, 100_000: 10_000}
"""The deep page timed for each number of stored sessions (the last one of 100,000)."""
OPENS = 5
"""Stores opened per timed call of ``OpenStore``."""
WARM_UP = 3
"""Calls made in ``setup`` before anything is timed."""
ASYNC_SESSIONS = 50
"""Sessions served at once by ``AsyncSessions``."""
ASYNC_APPENDS = 10
"""Appends per session and timed call in ``AsyncSessions``."""
SCALE_OUT_APPENDS = 500
"""Appends each process makes in ``ScaleOut``."""

_MESSAGE_NAMES = ", ".join(MESSAGE_COLUMNS)
_MESSAGE_MARKS = ", ".join("?" * len(MESSAGE_COLUMNS))
INSERT_MESSAGE = f"INSERT INTO session_messages ({_MESSAGE_NAMES}) VALUES ({_MESSAGE_MARKS})"
RESERVE_RETURNING = (
    "UPDATE sessions SET message_count = message_count + 1, updated_at = ? WHERE id = ? "
    "RETURNING message_count"
)
RESERVE = "UPDATE sessions SET message_count = message_count + 1, updated_at = ? WHERE id = ?"
RESERVED = "SELECT message_count FROM sessions WHERE id = ?"
TAIL_QUERY = (
    f"SELECT {_MESSAGE_NAMES} FROM session_messages WHERE session_id = ? "
    f"ORDER BY sequence DESC LIMIT {TAIL}"
)
ALL_QUERY = f"SELECT {_MESSAGE_NAMES} FROM session_messages WHERE session_id = ? ORDER BY sequence"
SESSION_QUERY = f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions WHERE id = ?"
DEEP_PAGE_QUERY = (
    f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions "
    "WHERE created_at <= ? AND (created_at < ? OR id < ?) "
    f"ORDER BY created_at DESC, id DESC LIMIT {PAGE_SIZE}"
)
METADATA = {"model": "bench-model", "turn": 1}


def _drain(iterator: object) -> None:
    collections.deque(iterator, maxlen=0)  # type: ignore[call-overload]


class _Suite:
    """A store of one backend with a plain-SQL connection to the same database."""

    timeout = 600
    warmup_time = 0  # ``setup`` warms up; an ASV warm-up would re-run the whole set-up

    def setup(self, *params):
        self.plain: PlainSQL | None = None
        self.folder: str | None = None
        self.store = BenchmarkStore(params[0])
        self.service = self.store.service
        try:
            self.prepare(*params)
        except BaseException:
            # ASV does not tear down after a failed set-up: close the plain connection before
            # the database is dropped, or MariaDB's DROP would wait on its metadata lock.
            self.teardown(*params)
            raise

    def prepare(self, *params):
        """Seed and warm up, on ``self.store``."""

    def _open_plain(self) -> PlainSQL:
        self.plain = PlainSQL(self.store.url)
        self.cursor = self.plain.connection.cursor()
        return self.plain

    def teardown(self, *params):
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        if self.plain is not None:
            self.plain.close()
        self.store.close()


class Append(_Suite):
    """Goal 1: ``append_message``, one commit per message, beside two floors.

    ``floor_insert`` is one ``INSERT`` and a commit (sequence counted in Python);
    ``floor_insert_and_counter`` also bumps the session's counter first, as the library must
    (``UPDATE ... RETURNING`` on SQLite and PostgreSQL; ``UPDATE`` then ``SELECT`` on MariaDB).
    Each timed call appends :data:`OPS` messages of a few dozen words with a small metadata
    document; every message gets a new ULID in all three.
    """

    params = (BACKENDS,)
    param_names = ("backend",)

    def prepare(self, backend):
        plain = self._open_plain()
        self.content = message_text(1)
        self.session_id = self.service.create("bench-bot", title="append").id
        self.floor_session = self.service.create("bench-bot", title="floor").id
        self.counter_session = self.service.create("bench-bot", title="floor+counter").id
        self.floor_sequence = count(1)
        self.insert = plain.sql(INSERT_MESSAGE)
        self.returning = backend != "mariadb"
        self.reserve = plain.sql(RESERVE_RETURNING if self.returning else RESERVE)
        self.reserved = plain.sql(RESERVED)
        for _ in range(WARM_UP):
            self._append()
            self._floor_insert()
            self._floor_insert_and_counter()

    def _append(self):
        self.service.append_message(
            self.session_id, "user", self.content, metadata=METADATA, token_count=42
        )

    def _floor_insert(self):
        plain = self.plain
        self.cursor.execute(
            self.insert,
            (
                str(ULID()),
                self.floor_session,
                next(self.floor_sequence),
                "user",
                self.content,
                plain.document(METADATA),
                42,
                plain.stamp(datetime.now(UTC)),
            ),
        )
        plain.commit()

    def _floor_insert_and_counter(self):
        plain = self.plain
        cursor = self.cursor
        now = plain.stamp(datetime.now(UTC))
        cursor.execute(self.reserve, (now, self.counter_session))
        if not self.returning:
            cursor.execute(self.reserved, (self.counter_session,))
        (sequence,) = cursor.fetchone()
        cursor.execute(
            self.insert,
            (
                str(ULID()),
                self.counter_session,
                sequence,
                "user",
                self.content,
                plain.document(METADATA),
                42,
                now,
            ),
        )
        plain.commit()

    def time_append_message(self, backend):
        for _ in range(OPS):
            self._append()

    def time_floor_insert(self, backend):
        for _ in range(OPS):
            self._floor_insert()

    def time_floor_insert_and_counter(self, backend):
        for _ in range(OPS):
            self._floor_insert_and_counter()


class BatchAppend(_Suite):
    """Goal 2: ``append_messages`` of 100 messages beside a plain ``executemany`` and commit.

    Each timed call writes :data:`BATCHES` batches of :data:`BATCH` messages, every batch in
    one transaction; the floor builds its rows from the same mappings, with new ULIDs.
    """

    params = (BACKENDS,)
    param_names = ("backend",)

    def prepare(self, backend):
        plain = self._open_plain()
        self.session_id = self.service.create("bench-bot", title="batch").id
        self.floor_session = self.service.create("bench-bot", title="floor").id
        self.next_floor = 1
        self.insert = plain.sql(INSERT_MESSAGE)
        self.batch = [
            {
                "role": ROLES[index % 2],
                "content": message_text(index),
                "metadata": {"turn": index},
                "token_count": 40 + index,
            }
            for index in range(BATCH)
        ]
        for _ in range(WARM_UP):
            self.service.append_messages(self.session_id, self.batch)
            self._floor_executemany()

    def _floor_executemany(self):
        plain = self.plain
        first = self.next_floor
        self.next_floor += len(self.batch)
        now = plain.stamp(datetime.now(UTC))
        self.cursor.executemany(
            self.insert,
            [
                (
                    str(ULID()),
                    self.floor_session,
                    first + offset,
                    message["role"],
                    message["content"],
                    plain.document(message["metadata"]),
                    message["token_count"],
                    now,
                )
                for offset, message in enumerate(self.batch)
            ],
        )
        plain.commit()

    def time_append_messages(self, backend):
        for _ in range(BATCHES):
            self.service.append_messages(self.session_id, self.batch)

    def time_floor_executemany(self, backend):
        for _ in range(BATCHES):
            self._floor_executemany()


class TailRead(_Suite):
    """Goal 3: ``recent_messages(id, 50)`` on a long session beside its plain ``SELECT``.

    The floor is ``SELECT ... ORDER BY sequence DESC LIMIT 50`` and a commit, rows reversed
    into ascending order as they come from the driver. :data:`OPS` reads per timed call.
    """

    params = (BACKENDS, [10_000])
    param_names = ("backend", "size")

    def prepare(self, backend, size):
        self.session_id = seed_plain_session(self.store.url, size)
        plain = self._open_plain()
        self.tail = plain.sql(TAIL_QUERY)
        for _ in range(WARM_UP):
            self.service.recent_messages(self.session_id, TAIL)
            self._floor_tail()

    def _floor_tail(self):
        self.cursor.execute(self.tail, (self.session_id,))
        rows = self.cursor.fetchall()[::-1]
        self.plain.commit()
        return rows

    def time_recent_messages(self, backend, size):
        for _ in range(OPS):
            self.service.recent_messages(self.session_id, TAIL)

    def time_floor_tail(self, backend, size):
        for _ in range(OPS):
            self._floor_tail()


class FullRead(_Suite):
    """Goal 4: ``iter_messages`` (batches of 1000) over a whole session, and its memory.

    The floor is one ``SELECT`` of every row in sequence order, iterated as the driver gives
    them. ``peakmem_iter_messages`` is the process's peak RSS after iterating, set-up
    included: compare it across sizes (``slow_bench``) to see it stay flat.
    """

    params = (BACKENDS, [20_000])
    param_names = ("backend", "size")

    def prepare(self, backend, size):
        self.session_id = seed_plain_session(self.store.url, size)
        plain = self._open_plain()
        self.everything = plain.sql(ALL_QUERY)
        self.service.recent_messages(self.session_id, 1)  # a pooled connection, warm

    def time_iter_messages(self, backend, size):
        _drain(self.service.iter_messages(self.session_id, batch_size=1000))

    def peakmem_iter_messages(self, backend, size):
        _drain(self.service.iter_messages(self.session_id, batch_size=1000))

    def time_floor_select_all(self, backend, size):
        self.cursor.execute(self.everything, (self.session_id,))
        _drain(self.cursor)
        self.plain.commit()


class Listing(_Suite):
    """Goal 5: the first page of ``list`` beside a deep one reached by following cursors.

    ``sessions`` are stored straight into the table, one millisecond apart; ``setup`` follows
    the cursors to the deep page (:data:`DEEP_PAGE`) and keeps its ``after``. Pages hold
    :data:`PAGE_SIZE` sessions; :data:`OPS` fetches per timed call. The floor is the same
    keyset ``SELECT`` for the deep page.
    """

    params = (BACKENDS, [10_000])
    param_names = ("backend", "sessions")

    def prepare(self, backend, sessions):
        seed_plain_sessions(self.store.url, sessions)
        after = None
        for _ in range(DEEP_PAGE[sessions] - 1):
            page = self.service.list(limit=PAGE_SIZE, after=after)
            after = page.next_cursor
        self.deep_cursor = after
        plain = self._open_plain()
        last = page[-1]
        moment = plain.stamp(last.created_at)
        self.deep_key = (moment, moment, last.id)
        self.deep_query = plain.sql(DEEP_PAGE_QUERY)
        deep = self.service.list(limit=PAGE_SIZE, after=self.deep_cursor)
        assert len(deep) == PAGE_SIZE, "the deep page exists and is full"

    def time_list_first_page(self, backend, sessions):
        for _ in range(OPS):
            self.service.list(limit=PAGE_SIZE)

    def time_list_deep_page(self, backend, sessions):
        for _ in range(OPS):
            self.service.list(limit=PAGE_SIZE, after=self.deep_cursor)

    def time_floor_deep_page(self, backend, sessions):
        for _ in range(OPS):
            self.cursor.execute(self.deep_query, self.deep_key)
            self.cursor.fetchall()
            self.plain.commit()


class Export(_Suite):
    """Goal 6: ``export_session_to`` a file, its peak memory, and a plain-SQL floor.

    The floor selects every row and writes each as a JSON line with a running SHA-256, the
    least an export to JSON Lines does.
    """

    params = (BACKENDS, [20_000])
    param_names = ("backend", "size")

    def prepare(self, backend, size):
        self.session_id = seed_plain_session(self.store.url, size)
        self.folder = tempfile.mkdtemp(prefix="agent-sessions-bench-")
        self.path = Path(self.folder) / "export.jsonl"
        plain = self._open_plain()
        self.everything = plain.sql(ALL_QUERY)
        self.service.recent_messages(self.session_id, 1)

    def time_export_session_to(self, backend, size):
        with self.path.open("wb") as file:
            self.service.export_session_to(self.session_id, file)

    def peakmem_export_session_to(self, backend, size):
        with self.path.open("wb") as file:
            self.service.export_session_to(self.session_id, file)

    def time_floor_export(self, backend, size):
        digest = hashlib.sha256()
        with self.path.open("wb") as file:
            self.cursor.execute(self.everything, (self.session_id,))
            for row in self.cursor:
                line = json.dumps(row, default=str, separators=(",", ":")).encode() + b"\n"
                digest.update(line)
                file.write(line)
            file.write(digest.hexdigest().encode() + b"\n")
        self.plain.commit()


class Import(_Suite):
    """Goal 6: ``import_session_from`` a JSON Lines export, in messages/s, and its memory.

    The input is written in ``setup`` by the stream writer ``export_session_to`` uses. Each
    import writes a new session (fresh ids), so repeated calls do not collide. The floor reads
    the same lines with ``json.loads``, checks the running SHA-256, and writes the session and
    its messages with ``executemany`` in batches of 1000, in one transaction.
    """

    params = (BACKENDS, [20_000])
    param_names = ("backend", "size")

    def prepare(self, backend, size):
        self.folder = tempfile.mkdtemp(prefix="agent-sessions-bench-")
        self.path = Path(self.folder) / "import.jsonl"
        write_export_stream(self.path, size)
        self._open_plain()
        self.service.create("bench-bot")  # a pooled connection, warm

    def track_import_messages_per_second(self, backend, size):
        started = time.perf_counter()
        with self.path.open("rb") as file:
            self.service.import_session_from(file)
        return size / (time.perf_counter() - started)

    track_import_messages_per_second.unit = "messages/s"

    def peakmem_import_session_from(self, backend, size):
        with self.path.open("rb") as file:
            self.service.import_session_from(file)

    def track_floor_import_messages_per_second(self, backend, size):
        started = time.perf_counter()
        self._floor_import()
        return size / (time.perf_counter() - started)

    track_floor_import_messages_per_second.unit = "messages/s"

    def _floor_import(self):
        plain = self.plain
        digest = hashlib.sha256()
        with self.path.open("rb") as file:
            header = file.readline()
            digest.update(header)
            session = json.loads(header)["session"]
            session_id = str(ULID())
            plain.insert_rows(
                "sessions",
                SESSION_COLUMNS,
                [
                    (
                        session_id,
                        session["actor_name"],
                        None,
                        session["title"],
                        plain.document(session["metadata"]),
                        session["prompt_tokens"],
                        session["completion_tokens"],
                        session["message_count"],
                        plain.stamp(datetime.fromisoformat(session["created_at"])),
                        plain.stamp(datetime.fromisoformat(session["updated_at"])),
                    )
                ],
                copy=False,
            )
            rows = []
            for line in file:
                record = json.loads(line)
                message = record.get("message")
                if message is None:
                    if record["checksum"] != "sha256:" + digest.hexdigest():
                        raise ValueError("checksum mismatch")
                    break
                digest.update(line)
                rows.append(
                    (
                        str(ULID()),
                        session_id,
                        message["sequence"],
                        message["role"],
                        message["content"],
                        plain.document(message["metadata"]),
                        message["token_count"],
                        plain.stamp(datetime.fromisoformat(message["created_at"])),
                    )
                )
                if len(rows) == 1000:
                    plain.insert_rows("session_messages", MESSAGE_COLUMNS, rows, copy=False)
                    rows.clear()
            plain.insert_rows("session_messages", MESSAGE_COLUMNS, rows, copy=False)
        plain.commit()


class OpenStore(_Suite):
    """Goal 7: ``from_url`` on a migrated database plus ``get`` of one session, then close.

    Start-up checks (schema revision, drift) included; :data:`OPENS` opens per timed call.
    The floor connects with the bare driver, selects the session row and disconnects.
    ``setup`` opens and closes one of each first, so that lazy imports are not timed.
    """

    params = (BACKENDS,)
    param_names = ("backend",)

    def prepare(self, backend):
        self.session_id = self.service.create("bench-bot", title="open me").id
        self._open_and_get()
        self._floor_open_and_get()

    def _open_and_get(self):
        service = PersistentSessionService.from_url(self.store.url)
        service.get(self.session_id)
        service.close()

    def _floor_open_and_get(self):
        plain = PlainSQL(self.store.url)
        plain.execute(SESSION_QUERY, (self.session_id,)).fetchone()
        plain.close()

    def time_open_and_get(self, backend):
        for _ in range(OPENS):
            self._open_and_get()

    def time_floor_open_and_get(self, backend):
        for _ in range(OPENS):
            self._floor_open_and_get()


class ScaleOut(_Suite):
    """Goal 8: appenders in 1 and in 4 processes, each on its own session, one database.

    ``track_appends_per_second`` is the throughput of all the processes together
    (``scale_out.appends_per_second``); the goal is 4 processes at least 2 times 1 process on
    PostgreSQL, which ``ScaleOutRatio`` reports from one run. Each process opens its own
    store, so the pool and the interpreter are not shared; SQLite is left out, because its
    writers queue on one file lock by design.
    """

    params = (["postgresql", "mariadb"], [1, 4])
    param_names = ("backend", "processes")
    rounds = 1
    repeat = 1
    timeout = 1200

    def track_appends_per_second(self, backend, processes):
        return appends_per_second(self.store.url, processes, SCALE_OUT_APPENDS)

    track_appends_per_second.unit = "appends/s"  # type: ignore[attr-defined]


class ScaleOutRatio(_Suite):
    """Goal 8 from one run: 4 appending processes over 1 (see :class:`ScaleOut`)."""

    params = (["postgresql", "mariadb"],)
    param_names = ("backend",)
    rounds = 1
    repeat = 1
    timeout = 1200

    def track_four_over_one(self, backend):
        one = appends_per_second(self.store.url, 1, SCALE_OUT_APPENDS)
        four = appends_per_second(self.store.url, 4, SCALE_OUT_APPENDS)
        return four / one

    track_four_over_one.unit = "ratio"  # type: ignore[attr-defined]


class AppendMemory(_Suite):
    """Goal 8: steady-state memory of a process that keeps appending.

    One fresh process appends :data:`MEMORY_APPENDS` messages to one session and reads its
    RSS at each tenth; ``track_rss_growth_mb`` is the last reading minus the first (goal: no
    growth). ``slow_bench.AppendMemory`` runs it over 100,000 appends.
    """

    params = (BACKENDS, [5_000])
    param_names = ("backend", "appends")
    rounds = 1
    repeat = 1
    timeout = 1800

    def track_rss_growth_mb(self, backend, appends):
        checkpoints = [appends * tenth // 10 for tenth in range(1, 11)]
        return rss_growth_mb(rss_during_appends(self.store.url, appends, checkpoints))

    track_rss_growth_mb.unit = "MB"  # type: ignore[attr-defined]


class AsyncSessions(_Suite):
    """Issue 8: the async service serving 50 sessions at once from one event loop.

    ``time_fifty_at_once``: 50 tasks on one loop, each appending :data:`ASYNC_APPENDS` messages
    to a session of its own, gathered; ``time_fifty_in_turn``: the same appends awaited one
    after another. Their ratio is what serving sessions concurrently from one loop gains (the
    waits on the server overlap; SQLite's writers queue on its one lock instead).
    """

    params = (BACKENDS,)
    param_names = ("backend",)

    def prepare(self, backend):
        self.loop = asyncio.Runner()
        self.async_service = self.loop.run(AsyncPersistentSessionService.from_url(self.store.url))
        self.session_ids = self.loop.run(self._sessions(ASYNC_SESSIONS))
        self.loop.run(self._append_in_turn())  # warms the pool and the compiled statements

    async def _sessions(self, count):
        return [(await self.async_service.create(f"bench-async-{n}")).id for n in range(count)]

    async def _append_all(self, session_id):
        for index in range(ASYNC_APPENDS):
            await self.async_service.append_message(session_id, ROLES[index % 2], "async turn")

    async def _append_at_once(self):
        await asyncio.gather(*(self._append_all(each) for each in self.session_ids))

    async def _append_in_turn(self):
        for each in self.session_ids:
            await self._append_all(each)

    def teardown(self, *params):
        loop = getattr(self, "loop", None)
        if loop is not None:
            loop.run(self.async_service.close())
            loop.close()
        super().teardown(*params)

    def time_fifty_at_once(self, backend):
        self.loop.run(self._append_at_once())

    def time_fifty_in_turn(self, backend):
        self.loop.run(self._append_in_turn())
