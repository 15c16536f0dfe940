"""``agent-sessions migrations lock``: keep the migration lock file in step with the revisions.

A command for the library's developers, run from the repository root:

- ``migrations lock`` adds an entry for every new revision (released in this version);
- ``migrations lock --check`` exits 1 naming each file that was edited, removed, re-parented
  or added without an entry;
- ``migrations lock --amend REV --reason TEXT`` records a deliberate edit of a locked revision.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from agent_sessions.domain.errors import InvalidInputError

__all__ = ["add_migrations_commands", "run_lock"]


def add_migrations_commands(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``migrations`` command group to the top-level parser."""
    migrations = groups.add_parser("migrations", help="developer tools for the migrations")
    commands = migrations.add_subparsers(dest="command", required=True, metavar="ACTION")
    lock = commands.add_parser("lock", help="update or check the migration lock file")
    lock.add_argument("--check", action="store_true", help="only check; exit 1 on a mismatch")
    lock.add_argument("--amend", metavar="REV", help="record a deliberate edit of REV")
    lock.add_argument("--reason", default="", help="why REV was amended (with --amend)")
    lock.add_argument("--lock-file", help="default: migrations/migrations.lock.json")
    lock.add_argument("--scripts", help="a migration folder (default: the packaged one)")
    lock.set_defaults(handler=run_lock)


def run_lock(_url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Run ``migrations lock``; the database URL is not used."""
    from pathlib import Path

    from agent_sessions.infrastructure.database.migration_history import (
        LOCK_FILE_NAME,
        MigrationLock,
        amend_lock,
        lock_problems,
        script_states,
        update_lock,
    )
    from agent_sessions.infrastructure.database.migration_runner import (
        MigrationSource,
        library_version,
        packaged_source,
        script_directory,
    )

    lock_path = Path(arguments.lock_file or f"migrations/{LOCK_FILE_NAME}")
    if arguments.scripts is not None and not Path(arguments.scripts).is_dir():
        raise InvalidInputError("--scripts", f"{arguments.scripts} is not a folder")
    if lock_path.is_dir():
        raise InvalidInputError("--lock-file", f"{lock_path} is a folder, not a file")
    source = (
        MigrationSource(arguments.scripts, lock_path)
        if arguments.scripts
        else MigrationSource(packaged_source().script_location, lock_path)
    )
    states = script_states(script_directory(source))
    lock = MigrationLock.read(lock_path)
    if arguments.check:
        problems = lock_problems(lock, states)
        for problem in problems:
            print(f"agent-sessions: error: {problem}", file=sys.stderr)
        if problems:
            return 1
        print(f"{lock_path} matches all {len(states)} revision(s); head {lock.head}", file=out)
        return 0
    if arguments.amend:
        updated = amend_lock(lock, states, arguments.amend, arguments.reason, library_version())
        done = f"recorded an amendment of {arguments.amend}"
    else:
        updated = update_lock(lock, states, library_version())
        added = len(updated.entries) - len(lock.entries)
        done = f"added {added} revision(s)" if added else "already up to date"
    try:
        lock_path.write_text(updated.to_json(), encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError("--lock-file", f"cannot write {lock_path}: {exc.strerror}") from exc
    print(f"{lock_path}: {done}; head {updated.head}", file=out)
    return 0
