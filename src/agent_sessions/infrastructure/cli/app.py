"""``agent-sessions``: migrate a database; list, show, export, import and delete sessions.

``sessions files`` and ``sessions events`` show what a session's messages did to files.
``sessions list`` pages by cursor (``--after``); ``sessions export --format jsonl`` streams a
session as JSON Lines, and ``sessions import`` reads either form, from a file or stdin.

Expected errors print one line to stderr and exit with status 1 (2 for a bad command line);
no traceback is shown for them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, BinaryIO, TextIO, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from agent_sessions.application.services import PersistentSessionService
from agent_sessions.domain.entities import FileEvent, FileEventType, Session, SessionMessage
from agent_sessions.domain.errors import (
    AgentSessionsError,
    DatabaseError,
    ImportIntegrityError,
    InvalidInputError,
)
from agent_sessions.domain.export_format import (
    MAX_DOCUMENT_BYTES,
    format_timestamp,
    message_record,
    session_record,
)
from agent_sessions.domain.export_stream import MAX_LINE_BYTES
from agent_sessions.domain.pagination import decode_cursor
from agent_sessions.domain.validation import (
    abbreviated_repr,
    validate_event_type,
    validate_file_path,
    validate_on_conflict,
)
from agent_sessions.infrastructure.cli.file_event_rendering import (
    event_line,
    event_records,
    events_by_message,
    events_table,
    printable,
    sequences_by_message,
    touch_record,
    touches_table,
)
from agent_sessions.infrastructure.cli.migrations_command import add_migrations_commands, run_lock
from agent_sessions.infrastructure.cli.stream_io import (
    ExportProgress,
    counting_lines,
    first_line,
    is_stream_header,
    replayed,
)
from agent_sessions.infrastructure.database.engine import (
    create_database_engine,
    redact_url,
    scrub_secrets,
    sqlite_file_missing,
)
from agent_sessions.infrastructure.database.migration_runner import (
    current_revision,
    head_revision,
    schema_differences,
    upgrade,
)
from agent_sessions.infrastructure.database.schema_doctor import diagnose, raise_for_drift
from agent_sessions.infrastructure.database.unit_of_work import describe_error

__all__ = ["DEFAULT_URL", "URL_ENVIRONMENT_VARIABLE", "build_parser", "main"]

DEFAULT_URL = "sqlite:///agent_sessions.db"
URL_ENVIRONMENT_VARIABLE = "AGENT_SESSIONS_URL"
MAX_DOCUMENT_FILE_BYTES = 4 * MAX_DOCUMENT_BYTES
"""Largest JSON document ``sessions import`` reads (256 MiB): room for indentation and escapes.

A JSON Lines stream has no such bound: it is read a line at a time."""
EXPORT_FORMATS = ("json", "jsonl")
"""The forms of ``sessions export --format``: one JSON document, or a JSON Lines stream."""

_SERVICE_CONFLICT_HINT = "pass on_conflict='new_external_id'"
_CLI_CONFLICT_HINT = "pass --on-conflict new_external_id"

_T = TypeVar("_T")

_DEMO_CONVERSATION: tuple[tuple[str, str, int], ...] = (
    ("system", "You are a concise travel assistant.", 7),
    ("user", "What is the best month to visit Kyoto?", 9),
    ("assistant", "Let me check the seasonal weather data.", 8),
    ("tool", '{"best_months": ["April", "November"], "reason": "mild and colourful"}', 16),
    ("assistant", "April for cherry blossoms, or November for autumn leaves. 🍁", 14),
)


class _CommandError(Exception):
    """An expected failure of a command, reported as one line."""


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``agent-sessions`` command."""
    parser = argparse.ArgumentParser(
        prog="agent-sessions",
        description="Persist AI-agent sessions in SQL databases.",
    )
    parser.add_argument(
        "--url",
        default=None,
        help=f"database URL (default: ${URL_ENVIRONMENT_VARIABLE}, else {DEFAULT_URL})",
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")

    db = groups.add_parser("db", help="manage the database schema")
    db_commands = db.add_subparsers(dest="command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="migrate the database to the newest schema")
    db_commands.add_parser("current", help="print the database's schema revision")
    db_commands.add_parser("check", help="exit non-zero unless the schema is current and intact")
    doctor = db_commands.add_parser(
        "doctor", help="report drift between the models and the live schema; exit 1 if fatal"
    )
    doctor.add_argument("--json", action="store_true", help="print JSON")
    verify = db_commands.add_parser(
        "verify", help="check the stored sessions' integrity; exit 1 if anything is wrong"
    )
    verify.add_argument("--session", metavar="ID", help="check only this session")
    verify.add_argument("--json", action="store_true", help="print JSON")

    sessions = groups.add_parser(
        "sessions", help="list, show, export, import, delete sessions; their file events"
    )
    session_commands = sessions.add_subparsers(dest="command", required=True, metavar="ACTION")
    listing = session_commands.add_parser("list", help="list sessions, newest first")
    listing.add_argument("--actor", help="only this actor's sessions")
    listing.add_argument("--limit", type=int, default=50, help="page size (default 50)")
    listing.add_argument("--offset", type=int, default=0, help="sessions to skip (default 0)")
    listing.add_argument(
        "--after",
        metavar="CURSOR",
        help="the page after the one whose cursor this is (a page ends with it); not with --offset",
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument(
        "--with-cursor",
        action="store_true",
        help='with --json: print {"sessions": [...], "next_cursor": ...} instead of the array',
    )
    show = session_commands.add_parser(
        "show", help="show a session, its messages and their file events"
    )
    show.add_argument("session_id", metavar="ID")
    show.add_argument("--json", action="store_true", help="print JSON")
    files = session_commands.add_parser(
        "files", help="list the files a session touched, with event counts by type"
    )
    files.add_argument("session_id", metavar="ID")
    files.add_argument("--json", action="store_true", help="print JSON")
    events = session_commands.add_parser(
        "events", help="list a session's file events in the order recorded"
    )
    events.add_argument("session_id", metavar="ID")
    events.add_argument(
        "--type",
        dest="event_type",
        metavar="TYPE",
        help=f"only events of this type ({', '.join(kind.value for kind in FileEventType)})",
    )
    events.add_argument("--path", dest="file_path", metavar="PATH", help="only events on PATH")
    events.add_argument("--limit", type=int, default=None, help="page size (default: all)")
    events.add_argument("--offset", type=int, default=0, help="events to skip (default 0)")
    events.add_argument("--json", action="store_true", help="print JSON")
    export = session_commands.add_parser(
        "export", help="export a session as a JSON document or a JSON Lines stream"
    )
    export.add_argument("session_id", metavar="ID")
    export.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    export.add_argument(
        "--format",
        dest="export_format",
        metavar="FORMAT",
        default="json",
        help="json: one indented document (the default); jsonl: JSON Lines, in constant memory",
    )
    importing = session_commands.add_parser(
        "import", help="import an exported session (a JSON document or JSON Lines)"
    )
    importing.add_argument(
        "file", metavar="FILE", help="the export document or stream ('-' for stdin)"
    )
    importing.add_argument(
        "--on-conflict",
        metavar="POLICY",
        default="error",
        help="when the actor already has the session's external id: error (the default), or "
        "new_external_id to import a copy without it",
    )
    remove = session_commands.add_parser(
        "delete", help="delete a session, its messages and their file events"
    )
    remove.add_argument("session_id", metavar="ID")

    add_migrations_commands(groups)
    groups.add_parser("demo", help="record and show a sample conversation")
    return parser


EXIT_BROKEN_PIPE = 141
"""Exit status when the output's reader closed the pipe: 128 + SIGPIPE, as shells report."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    arguments = build_parser().parse_args(argv)
    url = arguments.url or os.environ.get(URL_ENVIRONMENT_VARIABLE) or DEFAULT_URL
    handler = _HANDLERS[(arguments.group, getattr(arguments, "command", None))]
    try:
        if arguments.url is not None and not arguments.url.strip():
            raise InvalidInputError("--url", "must not be empty or blank")
        return handler(url, arguments, sys.stdout)
    except (AgentSessionsError, _CommandError) as exc:
        print(f"agent-sessions: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (``... | head``): stop quietly, with the status of a process
        # that SIGPIPE ended, and point stdout at /dev/null so that the interpreter's last
        # flush does not fail again on the way out.
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _run_on_engine(url: str, action: Callable[[Engine], int], *, creates: bool = False) -> int:
    engine = create_database_engine(url)
    if not creates and sqlite_file_missing(engine):
        engine.dispose()
        raise _CommandError(
            f"{redact_url(url)}: no such database file; `agent-sessions db upgrade` creates it"
        )
    try:
        return action(engine)
    except SQLAlchemyError as exc:
        detail = scrub_secrets(describe_error(exc), url)
        raise DatabaseError(f"database error on {redact_url(url)}: {detail}") from exc
    finally:
        engine.dispose()


def _db_upgrade(url: str, _arguments: argparse.Namespace, out: TextIO) -> int:
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

    return _run_on_engine(url, run, creates=True)


def _db_current(url: str, _arguments: argparse.Namespace, out: TextIO) -> int:
    def run(engine: Engine) -> int:
        print(current_revision(engine) or "none", file=out)
        return 0

    return _run_on_engine(url, run)


def _db_check(url: str, _arguments: argparse.Namespace, out: TextIO) -> int:
    def run(engine: Engine) -> int:
        current, expected = current_revision(engine), head_revision()
        if current != expected:
            raise _CommandError(
                f"{redact_url(url)} is at revision {current or 'none'}, expected {expected}; "
                f"run `agent-sessions db upgrade`"
            )
        differences = schema_differences(engine)
        if differences:
            listed = "; ".join(_describe_difference(item) for item in differences)
            raise _CommandError(
                f"{redact_url(url)} is at revision {current} but its schema differs from "
                f"the models: {listed}"
            )
        print(f"{redact_url(url)} is at revision {current}; the schema matches", file=out)
        return 0

    return _run_on_engine(url, run)


def _db_doctor(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    def run(engine: Engine) -> int:
        report = diagnose(engine)
        if arguments.json:
            _print_json(report.to_dict(), out)
        else:
            print(report.render(), file=out)
        raise_for_drift(report, url)
        return 0

    return _run_on_engine(url, run)


def _db_verify(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    with _open(url) as service:
        report = service.verify(arguments.session)
    if arguments.json:
        _print_json(report.to_dict(), out)
    else:
        print(report.render(), file=out)
    if not report.ok:
        count = len(report.problems)
        raise _CommandError(
            f"{redact_url(url)} failed verification: {count} "
            f"{'problem' if count == 1 else 'problems'} found"
        )
    return 0


def _describe_difference(item: Any) -> str:
    """Render one of Alembic's autogenerate differences as ``action table.name``."""
    if isinstance(item, list):  # column modifications come grouped
        return "; ".join(_describe_difference(part) for part in item)
    action, *details = item
    if action.startswith("modify_"):
        _schema, table, column, _info, old, new = details
        return f"{action} {table}.{column} ({old} -> {new})"
    target = details[-1]
    table = getattr(getattr(target, "table", None), "name", None)
    name = getattr(target, "name", None) or str(target)
    return f"{action} {table}.{name}" if table and table != name else f"{action} {name}"


def _open(url: str, *, migrate: bool = False) -> PersistentSessionService:
    return PersistentSessionService.from_url(url, migrate=migrate)


def _sessions_list(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    after = _option("--after", _checked_cursor, arguments.after)
    if after is not None and arguments.offset:
        raise InvalidInputError("--offset", "cannot be combined with --after; use one or the other")
    with _open(url) as service:
        sessions = service.list(
            actor_name=arguments.actor, limit=arguments.limit, offset=arguments.offset, after=after
        )
    if arguments.json:
        records = [_session_json(session) for session in sessions]
        if arguments.with_cursor:
            _print_json({"sessions": records, "next_cursor": sessions.next_cursor}, out)
        else:
            _print_json(records, out)
        return 0
    if not sessions:
        print("no sessions", file=out)
        return 0
    # The EXTERNAL ID column appears only when a session on this page has one.
    external_ids = [printable(session.external_id or "") for session in sessions]
    shown = any(external_ids)
    width = max(len("EXTERNAL ID"), *(len(external_id) for external_id in external_ids))
    header = f"{'EXTERNAL ID':{width}}  " if shown else ""
    print(
        f"{'ID':26}  {'ACTOR':20}  {'MESSAGES':>8}  {'TOKENS':>8}  {'CREATED':27}  {header}TITLE",
        file=out,
    )
    for session, external_id in zip(sessions, external_ids, strict=True):
        cell = f"{external_id:{width}}  " if shown else ""
        print(
            f"{session.id:26}  {session.actor_name[:20]:20}  {session.message_count:>8}  "
            f"{session.total_tokens:>8}  {format_timestamp(session.created_at):27}  "
            f"{cell}{session.title or ''}",
            file=out,
        )
    if sessions.next_cursor is not None:
        print(f"next page: --after {sessions.next_cursor}", file=out)
    return 0


def _checked_cursor(value: str) -> str:
    decode_cursor(value)
    return value


def _sessions_show(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    with _open(url) as service:
        session = service.get(arguments.session_id)
        # Events before messages: every event's message is then among the messages read.
        events = events_by_message(service.list_file_events(session.id))
        messages = service.get_messages(session.id)
    if arguments.json:
        sequence_of = sequences_by_message(messages)
        document = _session_json(session)
        document["messages"] = [
            {
                **message_record(message),
                "file_events": event_records(events.get(message.id, ()), sequence_of),
            }
            for message in messages
        ]
        _print_json(document, out)
        return 0
    _print_conversation(session, messages, out, events)
    return 0


def _sessions_files(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    with _open(url) as service:
        touches = service.files_touched(arguments.session_id)
    if arguments.json:
        _print_json([touch_record(touch) for touch in touches], out)
    elif not touches:
        print("no files touched", file=out)
    else:
        print("\n".join(touches_table(touches)), file=out)
    return 0


def _sessions_events(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    event_type = _option("--type", validate_event_type, arguments.event_type)
    file_path = _option("--path", validate_file_path, arguments.file_path)
    with _open(url) as service:
        events = service.list_file_events(
            arguments.session_id,
            event_type=event_type,
            file_path=file_path,
            limit=arguments.limit,
            offset=arguments.offset,
        )
        # Read after the events, so that every event's message is among them.
        sequence_of = sequences_by_message(service.get_messages(arguments.session_id))
    if arguments.json:
        _print_json(event_records(events, sequence_of), out)
    elif not events:
        print("no file events", file=out)
    else:
        print("\n".join(events_table(events, sequence_of)), file=out)
    return 0


def _option(name: str, check: Callable[[str], _T], value: str | None) -> _T | None:
    """Check an option's value as the service would, naming the option when it is refused."""
    return None if value is None else _checked(name, check, value)


def _checked(name: str, check: Callable[[str], _T], value: str) -> _T:
    try:
        return check(value)
    except InvalidInputError as exc:
        raise InvalidInputError(name, exc.reason) from exc


def _export_format(value: str) -> str:
    if value not in EXPORT_FORMATS:
        raise InvalidInputError(
            "format", f"{abbreviated_repr(value)} is not one of {', '.join(EXPORT_FORMATS)}"
        )
    return value


def _sessions_export(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    if _checked("--format", _export_format, arguments.export_format) == "jsonl":
        return _export_stream(url, arguments, out)
    with _open(url) as service:
        document = service.export_session(arguments.session_id)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if arguments.output is None:
        out.write(text)
        return 0
    try:
        with open(arguments.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise _CommandError(f"cannot write {arguments.output}: {exc.strerror}") from exc
    print(
        f"exported session {arguments.session_id} ({len(document['messages'])} messages) "
        f"to {arguments.output}",
        file=sys.stderr,
    )
    return 0


def _export_stream(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Write the session as JSON Lines to stdout's bytes, or to FILE with progress on a terminal."""
    with _open(url) as service:
        if arguments.output is None:
            out.flush()
            binary: BinaryIO | None = getattr(out, "buffer", None)
            if binary is None:  # a text stream without bytes underneath, such as io.StringIO
                service.export_session_to(arguments.session_id, out)
            else:
                service.export_session_to(arguments.session_id, binary)
                binary.flush()
            return 0
        # Checked before FILE is created, so that an unknown session leaves no file behind.
        session = service.get(arguments.session_id)
        progress = (
            ExportProgress(session.id, session.message_count, sys.stderr)
            if sys.stderr.isatty()
            else None
        )
        try:
            with open(arguments.output, "wb") as handle:
                if progress is None:
                    exported = service.export_session_to(session.id, handle)
                else:
                    with counting_lines(handle, progress.lines_written) as counted:
                        exported = service.export_session_to(session.id, counted)
        except OSError as exc:
            if progress is not None:
                progress.abandon()
            raise _CommandError(f"cannot write {arguments.output}: {exc.strerror}") from exc
        except BaseException:
            if progress is not None:
                progress.abandon()
            raise
    if progress is not None:
        progress.finish(exported.message_count)
    print(
        f"exported session {exported.id} ({exported.message_count} messages) to {arguments.output}",
        file=sys.stderr,
    )
    return 0


def _sessions_import(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Import a JSON Lines stream or a JSON document, told apart by the first non-blank line."""
    on_conflict = _checked("--on-conflict", validate_on_conflict, arguments.on_conflict)
    name = arguments.file
    with contextlib.ExitStack() as stack:
        source = _input(name, stack)
        try:
            line = first_line(
                source, line_limit=MAX_LINE_BYTES + 1, skip_limit=MAX_DOCUMENT_FILE_BYTES, name=name
            )
            if is_stream_header(line):
                if source.seekable():
                    source.seek(source.tell() - len(line))
                    stream = source
                else:
                    stream = replayed(line, source)
                with _open(url) as service:
                    session = service.import_session_from(stream, on_conflict=on_conflict)
            else:
                rest = source.read(MAX_DOCUMENT_FILE_BYTES + 1 - len(line))
                document = _parse_document(name, line + rest)
                with _open(url) as service:
                    session = service.import_session(document, on_conflict=on_conflict)
        except OSError as exc:
            raise _CommandError(f"cannot read {name}: {exc.strerror}") from exc
        except ImportIntegrityError as exc:
            message = str(exc)
            if _SERVICE_CONFLICT_HINT not in message:
                raise
            raise ImportIntegrityError(
                message.replace(_SERVICE_CONFLICT_HINT, _CLI_CONFLICT_HINT)
            ) from exc
    print(
        f"imported session {session.id} ({session.message_count} messages) "
        f"for actor {session.actor_name}",
        file=out,
    )
    return 0


def _input(name: str, stack: contextlib.ExitStack) -> BinaryIO:
    """Open file ``name`` ('-' for stdin) for reading bytes."""
    if name == "-":
        binary: BinaryIO | None = getattr(sys.stdin, "buffer", None)
        if binary is None:  # a text stream without bytes underneath, such as io.StringIO
            return io.BytesIO(sys.stdin.read().encode("utf-8", "surrogateescape"))
        return binary
    try:
        return stack.enter_context(open(name, "rb"))
    except OSError as exc:
        raise _CommandError(f"cannot read {name}: {exc.strerror}") from exc


def _parse_document(name: str, data: bytes) -> Any:
    """Parse the JSON export document read from ``name``, before any database work.

    ``data`` holds at most :data:`MAX_DOCUMENT_FILE_BYTES` + 1 bytes; one more than the limit is
    refused. The file must be UTF-8 JSON without duplicate keys, NaN or infinity; anything else
    raises :class:`ImportIntegrityError`.
    """
    limit = MAX_DOCUMENT_FILE_BYTES
    if len(data) > limit:
        raise ImportIntegrityError(
            f"{name} is larger than {limit} bytes (256 MiB), the most an import reads"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportIntegrityError(
            f"{name} is not UTF-8 text: {exc.reason} at byte {exc.start}"
        ) from exc
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ImportIntegrityError(f"{name} is not valid JSON: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise ImportIntegrityError(f"{name} is not a valid export document: {exc}") from exc


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"the key {abbreviated_repr(key)} appears twice in one object")
        document[key] = value
    return document


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _sessions_delete(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    with _open(url) as service:
        service.delete(arguments.session_id)
    print(f"deleted session {arguments.session_id.upper()}", file=out)
    return 0


def _demo(url: str, _arguments: argparse.Namespace, out: TextIO) -> int:
    with _open(url, migrate=True) as service:
        session = service.create(
            "demo-agent", title="Planning a trip to Kyoto", metadata={"source": "demo"}
        )
        for role, content, tokens in _DEMO_CONVERSATION:
            service.append_message(session.id, role, content, token_count=tokens)
        service.update_token_usage(session.id, prompt_tokens=40, completion_tokens=22)
        session = service.get(session.id)
        messages = service.get_messages(session.id)
    print(f"Recorded a demo session in {redact_url(url)}", file=out)
    print(file=out)
    _print_conversation(session, messages, out)
    print(file=out)
    print(f"Try: agent-sessions sessions show {session.id}", file=out)
    return 0


def _print_conversation(
    session: Session,
    messages: Sequence[SessionMessage],
    out: TextIO,
    events: Mapping[str, Sequence[FileEvent]] | None = None,
) -> None:
    """Print the session's header, then each message with its file events indented below it."""
    print(f"Session {session.id}: {session.title or '(untitled)'}", file=out)
    if session.external_id is not None:
        print(f"  external id {printable(session.external_id)}", file=out)
    print(
        f"  actor {session.actor_name}, {session.message_count} messages, tokens "
        f"{session.prompt_tokens} prompt + {session.completion_tokens} completion = "
        f"{session.total_tokens}",
        file=out,
    )
    print(
        f"  created {format_timestamp(session.created_at)}, "
        f"updated {format_timestamp(session.updated_at)}",
        file=out,
    )
    for message in messages:
        print(f"  [{message.sequence}] {message.role.value:>9}: {message.content}", file=out)
        for event in (events or {}).get(message.id, ()):
            print(f"      {event_line(event)}", file=out)


def _session_json(session: Session) -> dict[str, Any]:
    return {**session_record(session), "total_tokens": session.total_tokens}


def _print_json(value: Any, out: TextIO) -> None:
    out.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


_Handler = Callable[[str, argparse.Namespace, TextIO], int]
_HANDLERS: dict[tuple[str, str | None], _Handler] = {
    ("db", "upgrade"): _db_upgrade,
    ("db", "current"): _db_current,
    ("db", "check"): _db_check,
    ("db", "doctor"): _db_doctor,
    ("db", "verify"): _db_verify,
    ("sessions", "list"): _sessions_list,
    ("sessions", "show"): _sessions_show,
    ("sessions", "files"): _sessions_files,
    ("sessions", "events"): _sessions_events,
    ("sessions", "export"): _sessions_export,
    ("sessions", "import"): _sessions_import,
    ("sessions", "delete"): _sessions_delete,
    ("demo", None): _demo,
    ("migrations", "lock"): run_lock,
}
