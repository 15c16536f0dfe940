"""Copies of the packaged migrations that tests may edit: the incident, the lock checks.

``copy_packaged_migrations(folder)`` copies ``env.py``, ``script.py.mako`` and ``versions/`` of
the shipped migrations into ``folder`` and writes a lock file for the copy, and returns the
:class:`MigrationSource` that ``open_store(..., migration_source=...)``, ``upgrade`` and the
lock functions take. The helpers below change the copy the way a developer would.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from agent_sessions.infrastructure.database.migration_history import (
    LOCK_FILE_NAME,
    MigrationLock,
    script_states,
    update_lock,
)
from agent_sessions.infrastructure.database.migration_runner import (
    MigrationSource,
    script_directory,
)

__all__ = [
    "add_revision",
    "copy_packaged_migrations",
    "edit_revision",
    "lock_copy",
    "remove_revision",
    "revision_path",
]


def copy_packaged_migrations(folder: Path, *, version: str = "0.1.0") -> MigrationSource:
    """Copy the shipped migrations into ``folder/migrations`` and lock the copy."""
    packaged = Path(str(resources.files("agent_sessions.infrastructure.database") / "migrations"))
    target = folder / "migrations"
    (target / "versions").mkdir(parents=True)
    for name in ("env.py", "script.py.mako"):
        shutil.copy(packaged / name, target / name)
    for revision in (packaged / "versions").glob("*.py"):
        shutil.copy(revision, target / "versions" / revision.name)
    source = MigrationSource(str(target), folder / LOCK_FILE_NAME)
    lock_copy(source, version)
    return source


def lock_copy(source: MigrationSource, version: str) -> MigrationLock:
    """Add lock entries for the copy's new revisions (released in ``version``) and save."""
    lock = update_lock(
        MigrationLock.read(source.lock_path), script_states(script_directory(source)), version
    )
    source.lock_path.write_text(lock.to_json(), encoding="utf-8")
    return lock


def revision_path(source: MigrationSource, revision: str) -> Path:
    """Return the file of ``revision`` in the copy."""
    return Path(source.script_location) / "versions" / f"{revision}.py"


def edit_revision(source: MigrationSource, revision: str, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in the file of ``revision`` (it must occur once)."""
    path = revision_path(source, revision)
    text = path.read_text(encoding="utf-8")
    if text.count(old) != 1:
        raise ValueError(f"{old!r} occurs {text.count(old)} times in {path.name}")
    path.write_text(text.replace(old, new), encoding="utf-8")


def add_revision(
    source: MigrationSource, revision: str, down_revision: str, upgrade: str, downgrade: str
) -> Path:
    """Write a new revision whose ``upgrade()``/``downgrade()`` bodies are the given code."""

    def body(code: str) -> str:
        return "\n".join(f"    {line}" if line else "" for line in code.strip().splitlines())

    text = (
        f'"""Test fixture revision {revision}."""\n\n'
        "import sqlalchemy as sa\n"
        "from alembic import op\n\n"
        "from agent_sessions.infrastructure.database.reconcile import (\n"
        "    add_column_if_missing,\n"
        "    create_index_if_missing,\n"
        "    drop_column_if_exists,\n"
        ")\n\n"
        f"revision = {revision!r}\n"
        f"down_revision = {down_revision!r}\n"
        "branch_labels = None\n"
        "depends_on = None\n\n\n"
        f"def upgrade() -> None:\n{body(upgrade)}\n\n\n"
        f"def downgrade() -> None:\n{body(downgrade)}\n"
    )
    path = revision_path(source, revision)
    path.write_text(text, encoding="utf-8")
    return path


def remove_revision(source: MigrationSource, revision: str) -> None:
    """Delete the file of ``revision`` from the copy."""
    revision_path(source, revision).unlink()
