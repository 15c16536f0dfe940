"""Snapshots of released schemas: a SQLite database at a released revision, kept as SQL text.

``python -m testsupport.snapshots REVISION`` writes ``migrations/snapshots/REVISION.sqlite.sql``:
a database migrated to exactly ``REVISION`` and filled with sample sessions through the public
service of that release, dumped with ``sqlite3``'s ``iterdump``. Tests restore it with
:func:`restore_snapshot` and upgrade it to head, so that every release's data must survive
every later migration. Text instead of a binary ``.db`` file keeps diffs readable and keeps
database files out of the repository.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

from sqlalchemy import create_engine

from agent_sessions import PersistentSessionService
from agent_sessions.infrastructure.database import upgrade

__all__ = ["SNAPSHOT_DIR", "restore_snapshot", "snapshot_path", "write_snapshot"]

SNAPSHOT_DIR = Path(__file__).resolve().parent.parent / "migrations" / "snapshots"


def snapshot_path(revision: str) -> Path:
    """Return the path of the stored snapshot of ``revision``."""
    return SNAPSHOT_DIR / f"{revision}.sqlite.sql"


def restore_snapshot(revision: str, database_file: Path) -> None:
    """Create ``database_file`` from the stored snapshot of ``revision``."""
    script = snapshot_path(revision).read_text(encoding="utf-8")
    connection = sqlite3.connect(database_file)
    try:
        connection.executescript(script)
    finally:
        connection.close()


def write_snapshot(revision: str) -> Path:
    """Build a sample database at ``revision`` and store it as SQL text; return its path."""
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "snapshot.db"
        url = f"sqlite:///{database}"
        engine = create_engine(url)
        upgrade(engine, revision)
        engine.dispose()
        with PersistentSessionService.from_url(url) as service:
            session = service.create(
                "snapshot-agent", title="Released schema sample", metadata={"release": revision}
            )
            service.append_message(session.id, "system", "You are a careful assistant.")
            service.append_message(session.id, "user", "Grüße aus Köln 👋 — 你好", token_count=9)
            service.append_message(
                session.id, "assistant", "Hello!", metadata={"model": "m1"}, token_count=2
            )
            service.update_token_usage(session.id, prompt_tokens=11, completion_tokens=2)
            service.create("snapshot-agent-2")
        connection = sqlite3.connect(database)
        try:
            dump = "\n".join(connection.iterdump()) + "\n"
        finally:
            connection.close()
    target = snapshot_path(revision)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dump, encoding="utf-8")
    return target


if __name__ == "__main__":
    print(write_snapshot(sys.argv[1]))
