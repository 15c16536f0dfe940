"""Robot Framework keyword library of the migration-safety suite: the edited-migration incident.

It works on a copy of the packaged migrations (``testsupport.migration_fixtures``), never on
the shipped ones: the copy's 0001 first lacks ``session_messages.token_count`` (the released
revision), then is edited in place to add it, as a team might do by mistake. Databases are
throwaway ones of the run's backend.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from sqlalchemy import inspect

from agent_sessions import AgentSessionsError, PersistentSessionService
from agent_sessions.infrastructure.database import create_database_engine, diagnose, upgrade
from agent_sessions.infrastructure.database.migration_history import (
    MigrationLock,
    amend_lock,
    lock_problems,
    script_states,
)
from agent_sessions.infrastructure.database.migration_runner import (
    MigrationSource,
    head_revision,
    script_directory,
)
from testsupport.migration_fixtures import (
    add_revision,
    copy_packaged_migrations,
    lock_copy,
    revision_path,
)
from testsupport.robot_databases import provision

__all__ = ["MigrationSafetyLibrary"]

FIRST = "0001_session_persistence"
TOKEN_COUNT_COLUMN = '        sa.Column("token_count", sa.BigInteger(), nullable=True),\n'
RECONCILE_UPGRADE = """
# 0001 was edited in place after release to add token_count: bring every database to the
# same schema, whichever 0001 it ran.
add_column_if_missing("session_messages", sa.Column("token_count", sa.BigInteger(), nullable=True))
"""
RECONCILE_DOWNGRADE = "pass  # the column belongs to 0001 as it is shipped now"
LIBRARY_TABLES = ("sessions", "session_messages")


class MigrationSafetyLibrary:
    """Keywords that reproduce the edited-migration incident and its fix-forward."""

    ROBOT_LIBRARY_SCOPE = "SUITE"

    def __init__(self, backend: str = "postgresql") -> None:
        self._backend = backend
        self._stack = contextlib.ExitStack()
        self._source: MigrationSource | None = None
        self._edited_text = ""
        self._databases: dict[str, str] = {}

    def close_migration_safety_suite(self) -> None:
        """Drop every database of the suite and remove the copy of the migrations."""
        self._stack.close()

    @property
    def source(self) -> MigrationSource:
        if self._source is None:
            raise AssertionError("run 'Prepare A Released Migration Tree' first")
        return self._source

    def prepare_a_released_migration_tree(self) -> None:
        """Copy the migrations, drop token_count from the copy's 0001, lock it as released."""
        folder = Path(self._stack.enter_context(tempfile.TemporaryDirectory()))
        self._source = copy_packaged_migrations(folder)
        path = revision_path(self._source, FIRST)
        self._edited_text = path.read_text(encoding="utf-8")
        if self._edited_text.count(TOKEN_COUNT_COLUMN) != 1:
            raise AssertionError("the packaged 0001 no longer has the expected token_count line")
        path.write_text(self._edited_text.replace(TOKEN_COUNT_COLUMN, ""), encoding="utf-8")
        self.source.lock_path.unlink()
        lock_copy(self.source, "0.1.0")

    def build_database(self, name: str) -> str:
        """Provision a database of the backend and migrate it with the copy as it is now."""
        url = provision(self._stack, self._backend)
        self._databases[name] = url
        self.upgrade_database(name)
        return url

    def upgrade_database(self, name: str) -> list[str]:
        """Upgrade the named database to the copy's head; return the revisions applied."""
        engine = create_database_engine(self._databases[name])
        try:
            return upgrade(engine, source=self.source)
        finally:
            engine.dispose()

    def edit_the_released_revision_in_place(self) -> None:
        """Add token_count to the copy's released 0001, without touching the lock file."""
        revision_path(self.source, FIRST).write_text(self._edited_text, encoding="utf-8")

    def opening_should_be_refused(self, name: str, error: str, *texts: str) -> str:
        """Opening the named database fails with ``error``, whose message holds ``texts``."""
        try:
            service = PersistentSessionService.from_url(
                self._databases[name], migration_source=self.source
            )
        except AgentSessionsError as exc:
            message = str(exc)
            if type(exc).__name__ != error:
                raise AssertionError(
                    f"expected {error}, got {type(exc).__name__}: {message}"
                ) from exc
            missing = [text for text in texts if text not in message]
            if missing:
                raise AssertionError(f"the message lacks {missing}: {message}") from exc
            return message
        service.close()
        raise AssertionError(f"database {name} opened although {error} was expected")

    def lock_check_should_name(self, file: str) -> None:
        """The lock check of the copy fails, naming ``file``."""
        problems = lock_problems(
            MigrationLock.read(self.source.lock_path), script_states(script_directory(self.source))
        )
        if not any(file in problem for problem in problems):
            raise AssertionError(f"the lock check did not name {file}: {problems}")

    def amend_the_released_revision(self, reason: str) -> None:
        """Record the in-place edit of 0001 as an amendment with ``reason``."""
        lock = amend_lock(
            MigrationLock.read(self.source.lock_path),
            script_states(script_directory(self.source)),
            FIRST,
            reason,
            "0.1.1",
        )
        self.source.lock_path.write_text(lock.to_json(), encoding="utf-8")

    def add_the_reconcile_revision(self, revision: str) -> None:
        """Add a revision that adds token_count where it is missing, and lock it."""
        parent = head_revision(self.source)
        add_revision(self.source, revision, parent, RECONCILE_UPGRADE, RECONCILE_DOWNGRADE)
        lock_copy(self.source, "0.1.1")

    def doctor_should_be_clean(self, name: str) -> None:
        """The drift doctor finds nothing on the named database."""
        engine = create_database_engine(self._databases[name])
        try:
            report = diagnose(engine)
        finally:
            engine.dispose()
        if not report.is_clean:
            raise AssertionError(report.render())

    def schemas_should_be_equal(self, first: str, second: str) -> None:
        """The library's tables have the same columns, types and nullability in both."""
        shapes = [self._shape(self._databases[name]) for name in (first, second)]
        if shapes[0] != shapes[1]:
            raise AssertionError(f"{first}: {shapes[0]}\n{second}: {shapes[1]}")

    def service_should_store_token_counts_in(self, name: str) -> None:
        """A service opened on the named database stores and reads a message's token_count."""
        with PersistentSessionService.from_url(
            self._databases[name], migration_source=self.source
        ) as service:
            session = service.create("incident")
            service.append_message(session.id, "assistant", "counted", token_count=42)
            (message,) = service.get_messages(session.id)
        if message.token_count != 42:
            raise AssertionError(f"token_count read back as {message.token_count}")

    @staticmethod
    def _shape(url: str) -> dict[str, list[tuple[str, str, bool]]]:
        engine = create_database_engine(url)
        try:
            inspector = inspect(engine)
            return {
                table: sorted(
                    (column["name"], type(column["type"]).__name__, bool(column["nullable"]))
                    for column in inspector.get_columns(table)
                )
                for table in LIBRARY_TABLES
            }
        finally:
            engine.dispose()


helper_migration_safety = MigrationSafetyLibrary
