"""Frozen snapshots of every released schema, one per engine, and how tests rebuild them.

``python -m testsupport.snapshots REVISION`` migrates a throwaway database of each backend
(SQLite, PostgreSQL, MariaDB) to exactly ``REVISION``, reflects the library's tables and
writes their DDL, with the version stamp, to ``migrations/snapshots/REVISION.BACKEND.sql``.
Once a release ships, its files are never rewritten. Tests rebuild a snapshot on its engine
(:func:`restore_snapshot`), put sample rows in it (:func:`insert_sample_rows`), upgrade to
head and check that the rows survived and the schema equals a fresh build.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import JSON, Connection, MetaData, Table, inspect, text
from sqlalchemy.schema import CreateIndex, CreateTable

from agent_sessions.infrastructure.database import create_database_engine, upgrade
from agent_sessions.infrastructure.database.migration_runner import VERSION_TABLE
from agent_sessions.infrastructure.database.models import Base
from testsupport.databases import BACKENDS, provision_database

__all__ = [
    "SAMPLE_CONTENTS",
    "SAMPLE_SESSION_ID",
    "SNAPSHOT_DIR",
    "insert_sample_rows",
    "released_revisions",
    "restore_snapshot",
    "snapshot_path",
    "write_snapshot",
]

SNAPSHOT_DIR = Path(__file__).resolve().parent.parent / "migrations" / "snapshots"
LIBRARY_TABLES = ("sessions", "session_messages")
SAMPLE_SESSION_ID = "01JBX8Y5D2W7Q3M4N5P6R7S8T9"
SAMPLE_CONTENTS = ("You are a careful assistant.", "Grüße aus Köln 👋 — 你好", "Hello!")
_SEPARATOR = ";\n\n"


def snapshot_path(revision: str, backend: str) -> Path:
    """Return the stored snapshot of ``revision`` on ``backend``."""
    return SNAPSHOT_DIR / f"{revision}.{backend}.sql"


def released_revisions(backend: str) -> list[str]:
    """Return the revisions that have a stored snapshot for ``backend``, in name order."""
    return sorted(path.name.split(".")[0] for path in SNAPSHOT_DIR.glob(f"*.{backend}.sql"))


def write_snapshot(revision: str, backend: str) -> Path:
    """Migrate a throwaway ``backend`` database to ``revision`` and store its DDL."""
    with provision_database(backend) as url:
        engine = create_database_engine(url)
        try:
            upgrade(engine, revision)
            metadata = MetaData()
            present = set(inspect(engine).get_table_names())
            own = [name for name in Base.metadata.tables if name in present]
            metadata.reflect(engine, only=[*own, VERSION_TABLE])
            statements = []
            for table in metadata.sorted_tables:
                statements.append(str(CreateTable(table).compile(engine)).strip())
                statements.extend(
                    str(CreateIndex(index).compile(engine)).strip()
                    for index in sorted(table.indexes, key=lambda index: str(index.name))
                )
            statements.append(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES ('{revision}')")
        finally:
            engine.dispose()
    header = f"-- agent-sessions schema snapshot: revision {revision} on {backend}; frozen\n"
    target = snapshot_path(revision, backend)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(header + _SEPARATOR.join(statements) + "\n", encoding="utf-8")
    return target


def restore_snapshot(revision: str, backend: str, url: str) -> None:
    """Create the stored schema of ``revision`` in the empty database at ``url``."""
    script = snapshot_path(revision, backend).read_text(encoding="utf-8")
    body = script.split("\n", 1)[1]
    engine = create_database_engine(url)
    try:
        with engine.begin() as connection:
            for statement in body.split(_SEPARATOR):
                if statement.strip():
                    connection.execute(text(statement))
    finally:
        engine.dispose()


def insert_sample_rows(url: str) -> None:
    """Insert one session with three messages through the reflected (old) tables."""
    engine = create_database_engine(url)
    try:
        with engine.begin() as connection:
            sessions, messages = (_reflect(connection, name) for name in LIBRARY_TABLES)
            now = _timestamp(connection, datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
            connection.execute(
                sessions.insert().values(
                    id=SAMPLE_SESSION_ID,
                    actor_name="snapshot-agent",
                    title="Released schema sample",
                    metadata=_json(sessions, {"release": "snapshot", "n": [1, 2.5, None]}),
                    prompt_tokens=11,
                    completion_tokens=2,
                    message_count=len(SAMPLE_CONTENTS),
                    created_at=now,
                    updated_at=now,
                )
            )
            for sequence, content in enumerate(SAMPLE_CONTENTS, start=1):
                connection.execute(
                    messages.insert().values(
                        id=f"01JBX8Y5D2W7Q3M4N5P6R7S8V{sequence}",
                        session_id=SAMPLE_SESSION_ID,
                        sequence=sequence,
                        role=("system", "user", "assistant")[sequence - 1],
                        content=content,
                        metadata=_json(messages, {"sequence": sequence}),
                        token_count=sequence,
                        created_at=now,
                    )
                )
    finally:
        engine.dispose()


def _reflect(connection: Connection, name: str) -> Table:
    return Table(name, MetaData(), autoload_with=connection)


def _json(table: Table, value: dict[str, object]) -> object:
    """A dict for a JSON column; its text where the engine reflects JSON as text (MariaDB)."""
    return value if isinstance(table.c.metadata.type, JSON) else json.dumps(value)


def _timestamp(connection: Connection, moment: datetime) -> datetime:
    return moment if connection.dialect.name == "postgresql" else moment.replace(tzinfo=None)


if __name__ == "__main__":
    for name in BACKENDS:
        print(write_snapshot(sys.argv[1], name))
