"""Shared set-up of the benchmarks: seeded data, and a service per backend on a fresh database.

Every benchmark opens its own throwaway database in ``setup`` through
``testsupport.databases.provision_database`` and removes it in ``teardown`` (PostgreSQL
databases are named ``agent_sessions_test_*``), so no run leaves a database behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import sqlite3
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # ASV may start the benchmark process without PYTHONPATH
    sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402
from ulid import ULID  # noqa: E402

from agent_sessions import PersistentSessionService  # noqa: E402
from agent_sessions.domain.entities import MessageRole, Session, SessionMessage  # noqa: E402
from agent_sessions.domain.export_stream import ExportStreamWriter  # noqa: E402
from testsupport.databases import provision_database  # noqa: E402

__all__ = [
    "BACKENDS",
    "MESSAGE_COLUMNS",
    "ROLES",
    "SESSION_COLUMNS",
    "SIZES",
    "BenchmarkStore",
    "PlainSQL",
    "export_document",
    "file_events_document",
    "message_text",
    "seed_plain_session",
    "seed_plain_sessions",
    "write_export_stream",
]

BACKENDS = ["sqlite", "postgresql", "mariadb"]
SIZES = [10, 200]
SEED = 20240611
ROLES = ("user", "assistant")
_WORDS = [
    "session",
    "agent",
    "token",
    "model",
    "prompt",
    "reply",
    "tool",
    "cache",
    "query",
    "result",
    "context",
    "window",
    "stream",
    "retry",
    "schema",
    "export",
    "import",
    "ledger",
    "cursor",
    "vector",
    "summary",
    "plan",
    "step",
    "answer",
    "question",
]


def message_text(index: int, rng: random.Random | None = None) -> str:
    """Return a deterministic message body of 8 to 40 words for ``index``."""
    rng = rng or random.Random(SEED + index)
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 40)))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def export_document(size: int) -> dict[str, Any]:
    """Return a seeded export document (documented format) with ``size`` messages."""
    rng = random.Random(SEED + size)
    start = datetime(2024, 6, 11, 9, 0, tzinfo=UTC)
    messages = [
        {
            "id": f"01J00000000000000000{index:06d}",
            "sequence": index,
            "role": ROLES[index % 2],
            "content": message_text(index, rng),
            "metadata": {"turn": index},
            "token_count": rng.randint(5, 400),
            "created_at": _stamp(start + timedelta(seconds=index)),
        }
        for index in range(1, size + 1)
    ]
    document: dict[str, Any] = {
        "format": "agent-sessions/export",
        "schema_version": 1,
        "exported_at": _stamp(start + timedelta(hours=1)),
        "session": {
            "id": "01J00000000000000000000000",
            "actor_name": "bench-bot",
            "title": f"seeded conversation of {size} messages",
            "metadata": {"seed": SEED},
            "prompt_tokens": sum(m["token_count"] for m in messages[::2]),
            "completion_tokens": sum(m["token_count"] for m in messages[1::2]),
            "message_count": size,
            "created_at": _stamp(start),
            "updated_at": _stamp(start + timedelta(seconds=size)),
        },
        "messages": messages,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    document["checksum"] = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return document


_EVENT_TYPES = ("read", "read", "edit", "edit", "write", "rename", "delete", "command")


def file_events_document(size: int, events: int, paths: int) -> dict[str, Any]:
    """Return a seeded version 2 export document: ``size`` messages, ``events`` file events.

    The events name ``paths`` different paths (command events name the path they ran in),
    spread evenly over the messages and timed after their message, in the order recorded.
    """
    rng = random.Random(SEED + size + events + paths)
    document = export_document(size)
    del document["checksum"]
    start = datetime(2024, 6, 11, 9, 0, tzinfo=UTC)
    per_message = -(-events // size)
    file_events = []
    for index in range(events):
        sequence = index // per_message + 1
        kind = rng.choice(_EVENT_TYPES)
        path = f"src/package_{index % paths % 25:02d}/module_{index % paths:04d}.py"
        file_events.append(
            {
                "id": f"01J0000000000000000{index:07d}",
                "message_sequence": sequence,
                "event_type": kind,
                "file_path": path,
                "diff": f"@@ -1 +1 @@\n-{rng.random()}\n+{rng.random()}\n"
                if kind in ("edit", "write")
                else None,
                "command": f"pytest {path}" if kind == "command" else None,
                "created_at": _stamp(
                    start + timedelta(seconds=sequence, microseconds=index % per_message + 1)
                ),
            }
        )
    document["schema_version"] = 2
    document["session"]["external_id"] = None
    document["session"]["updated_at"] = max(
        document["session"]["updated_at"], file_events[-1]["created_at"] if file_events else ""
    )
    document["file_events"] = file_events
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    document["checksum"] = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return document


class BenchmarkStore:
    """A service on a fresh, migrated database of one backend; ``close`` removes the database."""

    def __init__(self, backend: str) -> None:
        self._stack = contextlib.ExitStack()
        try:
            url = self._stack.enter_context(provision_database(backend))
            self.url = url
            """The database's URL, for a :class:`PlainSQL` floor or a second service."""
            self.service = PersistentSessionService.from_url(url, migrate=True)
            self._stack.callback(self.service.close)
        except BaseException:
            self._stack.close()
            raise

    def seed_sessions(self, count: int) -> list[str]:
        """Create ``count`` sessions over four actors; return their ids, oldest first."""
        return [
            self.service.create(f"bench-actor-{index % 4}", title=f"session {index}").id
            for index in range(count)
        ]

    def seed_conversation(self, size: int) -> str:
        """Store a seeded conversation of ``size`` messages in one transaction; return its id."""
        return self.service.import_session(export_document(size)).id

    def seed_file_events(self, size: int, events: int, paths: int) -> str:
        """Store a conversation of ``size`` messages and ``events`` file events over ``paths``."""
        return self.service.import_session(file_events_document(size, events, paths)).id

    def close(self) -> None:
        """Close the service and drop its database."""
        self._stack.close()


# ---------------------------------------------------------------------------------------------
# The plain-SQL floor, and fast seeding of large data straight into the library's tables.

MESSAGE_COLUMNS = (
    "id",
    "session_id",
    "sequence",
    "role",
    "content",
    "metadata",
    "token_count",
    "created_at",
)
SESSION_COLUMNS = (
    "id",
    "actor_name",
    "external_id",
    "title",
    "metadata",
    "prompt_tokens",
    "completion_tokens",
    "message_count",
    "created_at",
    "updated_at",
)
SEED_START = datetime(2024, 6, 11, 9, 0, tzinfo=UTC)
_TEXT_POOL = 1000


class PlainSQL:
    """A plain DB-API connection to a store's database: the floor the library is measured by.

    stdlib ``sqlite3`` for SQLite (the file is in WAL mode as the library left it; foreign keys
    on and a busy timeout, as the library sets them; transactions begin implicitly before a
    write, as the module does by default), ``psycopg`` for PostgreSQL and ``pymysql`` for
    MariaDB, each with the server's default durability, as the library has it. Statements are
    written with ``?`` placeholders; values go in as each driver takes them for the library's
    column types (:meth:`stamp` for times, :meth:`document` for JSON).
    """

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        name = parsed.get_backend_name()
        if name == "sqlite":
            self.backend = "sqlite"
            connection: Any = sqlite3.connect(str(parsed.database), timeout=10.0)
            connection.execute("PRAGMA foreign_keys = ON")
        elif name == "postgresql":
            import psycopg

            self.backend = "postgresql"
            connection = psycopg.connect(
                host=parsed.host,
                port=parsed.port or 5432,
                user=parsed.username,
                password=parsed.password or None,
                dbname=parsed.database,
            )
        elif name in ("mysql", "mariadb"):
            import pymysql

            self.backend = "mariadb"
            connection = pymysql.connect(
                host=parsed.host,
                port=parsed.port or 3306,
                user=parsed.username,
                password=str(parsed.password or ""),
                database=parsed.database,
                charset="utf8mb4",
            )
        else:
            raise ValueError(f"no plain-SQL floor for {name!r}")
        self.connection = connection
        self._marks = self.backend != "sqlite"
        if self.backend == "postgresql":
            from psycopg.types.json import Jsonb

            self._jsonb = Jsonb

    def sql(self, statement: str) -> str:
        """Return ``statement`` with the driver's placeholders instead of ``?``."""
        return statement.replace("?", "%s") if self._marks else statement

    def stamp(self, moment: datetime) -> Any:
        """Return ``moment`` (aware) as the library stores it in a time column."""
        if self.backend == "postgresql":
            return moment
        naive = moment.astimezone(UTC).replace(tzinfo=None)
        if self.backend == "sqlite":
            return naive.strftime("%Y-%m-%d %H:%M:%S.%f")
        return naive

    def document(self, value: Any) -> Any:
        """Return ``value`` as the driver takes it for a JSON column."""
        if self.backend == "postgresql":
            return self._jsonb(value)
        return json.dumps(value)

    def execute(self, statement: str, parameters: Sequence[Any] = ()) -> Any:
        """Run one statement (``?`` placeholders) on a new cursor and return the cursor."""
        cursor = self.connection.cursor()
        cursor.execute(self.sql(statement), parameters)
        return cursor

    def insert_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        copy: bool = True,
    ) -> None:
        """Insert ``rows`` in the current transaction, with ``executemany`` per 1000 rows.

        With ``copy`` (for seeding), PostgreSQL gets a ``COPY`` instead, its fastest way in.
        """
        names = ", ".join(columns)
        if copy and self.backend == "postgresql":
            with (
                self.connection.cursor() as cursor,
                cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" * len(columns))
        statement = self.sql(f"INSERT INTO {table} ({names}) VALUES ({marks})")
        cursor = self.connection.cursor()
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 1000:
                cursor.executemany(statement, batch)
                batch.clear()
        if batch:
            cursor.executemany(statement, batch)
        cursor.close()

    def commit(self) -> None:
        """Commit the current transaction."""
        self.connection.commit()

    def analyze(self) -> None:
        """Refresh the planner's statistics of the library's tables, as autovacuum would.

        Straight after a bulk load PostgreSQL has no statistics, and reads the whole session
        and sorts it instead of walking the ``(session_id, sequence)`` index backwards, for
        the library and the floor alike: a benchmark must not time that passing state. SQLite
        is left alone (its planner takes the index without statistics).
        """
        if self.backend == "postgresql":
            self.execute("ANALYZE sessions, session_messages")
        elif self.backend == "mariadb":
            self.execute("ANALYZE TABLE sessions, session_messages").fetchall()
        self.commit()

    def close(self) -> None:
        """Roll back anything open and close the connection."""
        with contextlib.suppress(Exception):
            self.connection.rollback()
        self.connection.close()


def _seeded_token_count(sequence: int) -> int:
    return sequence % 397 + 5


def _seeded_tokens(size: int) -> int:
    """Return the tokens of a seeded session's messages, for a session row that verifies."""
    return sum(_seeded_token_count(sequence) for sequence in range(1, size + 1))


def _id_prefix() -> str:
    """Return 16 characters that start ULIDs unique to this seeding (time and randomness)."""
    return str(ULID())[:16]


def seed_plain_session(url: str, size: int, *, batch: int = 10_000) -> str:
    """Store a session of ``size`` messages straight into the library's tables; return its id.

    The session row carries ``message_count`` = ``size`` and the last message's time as
    ``updated_at``; the messages have sequences 1 to ``size``, one millisecond apart, bodies of
    8 to 40 words and a small metadata document. Rows go in ``batch`` at a time, committed per
    batch, so that memory stays small whatever the size.
    """
    plain = PlainSQL(url)
    try:
        prefix = _id_prefix()
        session_id = str(ULID())
        last = SEED_START + timedelta(milliseconds=size)
        plain.insert_rows(
            "sessions",
            SESSION_COLUMNS,
            [
                (
                    session_id,
                    "bench-bot",
                    None,
                    f"seeded conversation of {size} messages",
                    plain.document({"seed": SEED}),
                    _seeded_tokens(size),
                    0,
                    size,
                    plain.stamp(SEED_START),
                    plain.stamp(last),
                )
            ],
        )
        plain.commit()
        rng = random.Random(SEED + size)
        texts = [message_text(index, rng) for index in range(_TEXT_POOL)]
        for first in range(1, size + 1, batch):
            plain.insert_rows(
                "session_messages",
                MESSAGE_COLUMNS,
                (
                    (
                        f"{prefix}{sequence:010d}",
                        session_id,
                        sequence,
                        ROLES[sequence % 2],
                        texts[sequence % _TEXT_POOL],
                        plain.document({"turn": sequence}),
                        _seeded_token_count(sequence),
                        plain.stamp(SEED_START + timedelta(milliseconds=sequence)),
                    )
                    for sequence in range(first, min(first + batch, size + 1))
                ),
            )
            plain.commit()
        plain.analyze()
        return session_id
    finally:
        plain.close()


def seed_plain_sessions(
    url: str,
    count: int,
    *,
    batch: int = 10_000,
    owner: Callable[[int], str | None] = lambda index: None,
) -> None:
    """Store ``count`` empty sessions over four actors, one millisecond apart, straight in.

    The session numbered ``index`` (0 is the oldest) belongs to ``owner(index)``.
    """
    plain = PlainSQL(url)
    try:
        prefix = _id_prefix()
        for first in range(0, count, batch):
            plain.insert_rows(
                "sessions",
                (*SESSION_COLUMNS, "owner_id"),
                (
                    (
                        f"{prefix}{index:010d}",
                        f"bench-actor-{index % 4}",
                        None,
                        f"session {index}",
                        plain.document({}),
                        0,
                        0,
                        0,
                        plain.stamp(SEED_START + timedelta(milliseconds=index)),
                        plain.stamp(SEED_START + timedelta(milliseconds=index)),
                        owner(index),
                    )
                    for index in range(first, min(first + batch, count))
                ),
            )
            plain.commit()
        plain.analyze()
    finally:
        plain.close()


def write_export_stream(path: Path, size: int) -> None:
    """Write the JSON Lines export of a seeded session of ``size`` messages, in constant memory.

    The lines are made by the writer ``export_session_to`` uses, from messages generated one at
    a time, so that an import benchmark needs no database to read its input from.
    """
    rng = random.Random(SEED + size)
    texts = [message_text(index, rng) for index in range(_TEXT_POOL)]
    writer = ExportStreamWriter()
    session = Session(
        id=str(ULID()),
        actor_name="bench-bot",
        title=f"seeded conversation of {size} messages",
        metadata={"seed": SEED},
        prompt_tokens=_seeded_tokens(size),
        completion_tokens=0,
        message_count=size,
        created_at=SEED_START,
        updated_at=SEED_START + timedelta(milliseconds=size),
    )
    prefix = _id_prefix()
    with path.open("wb") as file:
        file.write(writer.header(session, SEED_START + timedelta(days=1)))
        for sequence in range(1, size + 1):
            message = SessionMessage(
                id=f"{prefix}{sequence:010d}",
                session_id=session.id,
                sequence=sequence,
                role=MessageRole(ROLES[sequence % 2]),
                content=texts[sequence % _TEXT_POOL],
                metadata={"turn": sequence},
                token_count=_seeded_token_count(sequence),
                created_at=SEED_START + timedelta(milliseconds=sequence),
            )
            file.write(writer.message(message))
        file.write(writer.trailer())
