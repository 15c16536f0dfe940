"""``agent-sessions db ...``: migrate, check, diagnose and verify a database.

Each handler imports the database adapter when it runs, so that building the parser (for
``--help`` and shell completion) imports no SQLAlchemy or Alembic.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from agent_sessions.infrastructure.cli.command_error import CommandError
from agent_sessions.infrastructure.cli.rendering import print_json, progress_bar

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["add_db_commands", "run_on_engine"]


def add_db_commands(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``db`` command group to the top-level parser."""
    db = groups.add_parser("db", help="manage the database schema")
    commands = db.add_subparsers(dest="command", required=True, metavar="ACTION")
    commands.add_parser("upgrade", help="migrate the database to the newest schema").set_defaults(
        handler=db_upgrade
    )
    commands.add_parser("current", help="print the database's schema revision").set_defaults(
        handler=db_current
    )
    check = commands.add_parser(
        "check", help="exit non-zero unless the schema is at head with no fatal drift"
    )
    check.add_argument(
        "--strict", action="store_true", help="fail on drift warnings too, not only fatal drift"
    )
    check.set_defaults(handler=db_check)
    doctor = commands.add_parser(
        "doctor", help="report drift between the models and the live schema; exit 1 if fatal"
    )
    doctor.add_argument("--json", action="store_true", help="print JSON")
    doctor.set_defaults(handler=db_doctor)
    verify = commands.add_parser(
        "verify", help="check the stored sessions' integrity; exit 1 if anything is wrong"
    )
    verify.add_argument(
        "--session", dest="session_id", metavar="ID", help="check only this session"
    )
    verify.add_argument("--json", action="store_true", help="print JSON")
    verify.set_defaults(handler=db_verify)


def run_on_engine(url: str, action: Callable[[Engine], int], *, creates: bool = False) -> int:
    """Run ``action`` on an engine for ``url``, then dispose of it.

    A SQLite file that does not exist is refused unless ``creates``. SQLAlchemy errors become
    the library's typed :class:`DatabaseError` through the adapter's one translation
    (``translate_error``), with the URL's password hidden.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from agent_sessions.infrastructure.database.engine import (
        create_database_engine,
        redact_url,
        sqlite_file_missing,
    )
    from agent_sessions.infrastructure.database.error_translation import translate_error

    engine = create_database_engine(url)
    if not creates and sqlite_file_missing(engine):
        engine.dispose()
        raise CommandError(
            f"{redact_url(url)}: no such database file; `agent-sessions db upgrade` creates it"
        )
    try:
        return action(engine)
    except SQLAlchemyError as exc:
        raise translate_error(exc, url) from exc
    finally:
        engine.dispose()


def db_upgrade(url: str, _arguments: argparse.Namespace, out: TextIO) -> int:
    """Migrate the database to the head revision, creating a missing SQLite file."""
    from agent_sessions.infrastructure.database.engine import redact_url
    from agent_sessions.infrastructure.database.migration_runner import current_revision, upgrade

    def run(engine: Engine) -> int:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
        if before == after:
            print(f"{redact_url(url)} is already at revision {after}", file=out)
        else:
            print(
                f"upgraded {redact_url(url)} from {before or 'an empty schema'} to {after}",
                file=out,
            )
        return 0

    return run_on_engine(url, run, creates=True)


def db_current(url: str, _arguments: argparse.Namespace, out: TextIO) -> int:
    """Print the database's revision, or ``none``."""
    from agent_sessions.infrastructure.database.migration_runner import current_revision

    def run(engine: Engine) -> int:
        print(current_revision(engine) or "none", file=out)
        return 0

    return run_on_engine(url, run)


def db_check(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Pass when the database is at head and the doctor finds nothing fatal.

    The verdict is the drift doctor's, as when a store is opened: the findings are printed,
    a fatal one fails with the :class:`SchemaDriftError` of opening a store, and with
    ``--strict`` a warning fails too.
    """
    from agent_sessions.infrastructure.database.engine import redact_url
    from agent_sessions.infrastructure.database.migration_runner import (
        check_schema,
        current_revision,
    )
    from agent_sessions.infrastructure.database.schema_doctor import diagnose, raise_for_drift

    def run(engine: Engine) -> int:
        check_schema(engine)
        report = diagnose(engine)
        for finding in report.findings:
            print(finding.render(), file=out)
        raise_for_drift(report, url)
        where = f"{redact_url(url)} is at revision {current_revision(engine)}"
        count = len(report.warnings)
        if not count:
            print(f"{where}; the schema matches", file=out)
            return 0
        warnings = f"{count} drift {'warning' if count == 1 else 'warnings'}"
        if arguments.strict:
            raise CommandError(f"{where} but its schema has {warnings} (--strict fails on them)")
        print(f"{where}; nothing fatal, {warnings} (`agent-sessions db doctor`)", file=out)
        return 0

    return run_on_engine(url, run)


def db_doctor(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Print the drift doctor's report; fail when a finding is fatal."""
    from agent_sessions.infrastructure.database.schema_doctor import diagnose, raise_for_drift

    def run(engine: Engine) -> int:
        report = diagnose(engine)
        if arguments.json:
            print_json(report.to_dict(), out)
        else:
            print(report.render(), file=out)
        raise_for_drift(report, url)
        return 0

    return run_on_engine(url, run)


def db_verify(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Verify the stored sessions; fail when a problem is found."""
    from agent_sessions import PersistentSessionService
    from agent_sessions.infrastructure.database.engine import redact_url

    terminal = sys.stderr if sys.stderr.isatty() else None
    with (
        PersistentSessionService.from_url(url) as service,
        progress_bar("verifying the stored sessions", None, "sessions", terminal),
    ):
        report = service.verify(arguments.session_id)
    if arguments.json:
        print_json(report.to_dict(), out)
    else:
        print(report.render(), file=out)
    if not report.ok:
        count = len(report.problems)
        raise CommandError(
            f"{redact_url(url)} failed verification: {count} "
            f"{'problem' if count == 1 else 'problems'} found"
        )
    return 0
