"""``agent-sessions sessions export|import``: move a session out of a database and into one.

An export is one JSON document, or with ``--format jsonl`` a JSON Lines stream written in
constant memory. An import reads either form, from a file or stdin, and tells them apart by the
first line that is not blank. Both show a progress bar when standard error is a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator
from typing import IO, Any, BinaryIO, TextIO

from agent_sessions.domain.errors import ImportIntegrityError
from agent_sessions.domain.export_format import MAX_DOCUMENT_BYTES
from agent_sessions.domain.export_records import load_json
from agent_sessions.domain.export_stream import MAX_LINE_BYTES
from agent_sessions.domain.validation import abbreviated_repr
from agent_sessions.infrastructure.cli.command_error import CommandError
from agent_sessions.infrastructure.cli.rendering import progress_bar
from agent_sessions.infrastructure.cli.session_commands import open_service
from agent_sessions.infrastructure.cli.stream_io import (
    counting_bytes,
    counting_lines,
    first_line,
    is_stream_header,
    open_input,
    replayed,
)

__all__ = [
    "EXPORT_FORMATS",
    "MAX_DOCUMENT_FILE_BYTES",
    "ON_CONFLICT_POLICIES",
    "add_transfer_commands",
]

MAX_DOCUMENT_FILE_BYTES = 4 * MAX_DOCUMENT_BYTES
"""Largest JSON document ``sessions import`` reads (256 MiB): room for indentation and escapes.

A JSON Lines stream has no such bound: it is read a line at a time."""
EXPORT_FORMATS = ("json", "jsonl")
"""The forms of ``sessions export --format``: one JSON document, or a JSON Lines stream."""
ON_CONFLICT_POLICIES = ("error", "new_external_id")
"""What ``--on-conflict`` offers to shell completion; the service checks the value."""


def add_transfer_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``export`` and ``import`` to the ``sessions`` group."""
    export = commands.add_parser(
        "export", help="export a session as a JSON document or a JSON Lines stream"
    )
    export.add_argument("session_id", metavar="ID")
    export.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    form = export.add_argument(
        "--format",
        dest="export_format",
        metavar="FORMAT",
        default="json",
        type=_export_format,
        help="json: one indented document (the default); jsonl: JSON Lines, in constant memory",
    )
    form.completer = lambda **_: EXPORT_FORMATS  # type: ignore[attr-defined]  # argcomplete
    export.set_defaults(handler=sessions_export)

    importing = commands.add_parser(
        "import", help="import an exported session (a JSON document or JSON Lines)"
    )
    importing.add_argument(
        "file", metavar="FILE", help="the export document or stream ('-' for stdin)"
    )
    policy = importing.add_argument(
        "--on-conflict",
        metavar="POLICY",
        default="error",
        help="when the actor already has the session's external id: error (the default), or "
        "new_external_id to import a copy without it",
    )
    policy.completer = lambda **_: ON_CONFLICT_POLICIES  # type: ignore[attr-defined]
    importing.set_defaults(handler=sessions_import)


def _export_format(value: str) -> str:
    """Take a ``--format`` value; refuse another one as a bad value (status 1), naming it."""
    if value not in EXPORT_FORMATS:
        raise CommandError(
            f"invalid --format: {abbreviated_repr(value)} is not one of {', '.join(EXPORT_FORMATS)}"
        )
    return value


def _terminal() -> TextIO | None:
    """Return standard error when it is a terminal, where progress bars are shown."""
    return sys.stderr if sys.stderr.isatty() else None


def sessions_export(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Write the session's export document, or its JSON Lines stream, to FILE or stdout."""
    if arguments.export_format == "jsonl":
        return _export_stream(url, arguments, out)
    with open_service(url) as service:
        document = service.export_session(arguments.session_id)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if arguments.output is None:
        out.write(text)
        return 0
    with _writing(arguments.output, "w") as handle:
        handle.write(text)
    _confirm(arguments.session_id, len(document["messages"]), arguments.output)
    return 0


def _export_stream(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Write the session as JSON Lines to stdout's bytes, or to FILE with a progress bar."""
    with open_service(url) as service:
        if arguments.output is None:
            out.flush()
            binary: BinaryIO | None = getattr(out, "buffer", None)
            if binary is None:  # a text stream without bytes underneath, such as io.StringIO
                service.export_session_to(arguments.session_id, out)
            else:
                service.export_session_to(arguments.session_id, binary)
                binary.flush()
            return 0
        # Read before FILE is created, so that an unknown session leaves no file behind.
        session = service.get(arguments.session_id)
        total = session.message_count
        label = f"exporting session {session.id}"
        with (
            progress_bar(label, total, "messages", _terminal()) as advance,
            _writing(arguments.output, "wb") as handle,
        ):
            # Lines written: the header, then one per message (the trailer is not counted).
            with counting_lines(
                handle, lambda lines: advance(min(max(lines - 1, 0), total))
            ) as counted:
                exported = service.export_session_to(session.id, counted)
            advance(exported.message_count)
    _confirm(exported.id, exported.message_count, arguments.output)
    return 0


def _confirm(session_id: str, messages: int, output: str) -> None:
    print(f"exported session {session_id} ({messages} messages) to {output}", file=sys.stderr)


@contextlib.contextmanager
def _writing(name: str, mode: str) -> Iterator[IO[Any]]:
    """Open file ``name`` for writing; a file that cannot be written is a command error."""
    try:
        with open(name, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
    except OSError as exc:
        raise CommandError(f"cannot write {name}: {exc.strerror}") from exc


def sessions_import(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Import a JSON Lines stream or a JSON document, told apart by the first non-blank line."""
    name = arguments.file
    with contextlib.ExitStack() as stack:
        raw = open_input(name, stack)
        size = _size(raw)
        advance = stack.enter_context(progress_bar(f"importing {name}", size, "bytes", _terminal()))
        source = counting_bytes(raw, advance)
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
                with open_service(url) as service:
                    session = service.import_session_from(stream, on_conflict=arguments.on_conflict)
            else:
                rest = source.read(MAX_DOCUMENT_FILE_BYTES + 1 - len(line))
                document = _parse_document(name, line + rest)
                with open_service(url) as service:
                    session = service.import_session(document, on_conflict=arguments.on_conflict)
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc.strerror}") from exc
    print(
        f"imported session {session.id} ({session.message_count} messages) "
        f"for actor {session.actor_name}",
        file=out,
    )
    return 0


def _size(source: BinaryIO) -> int | None:
    """Return the size of the input when it is known (a file, stdin from a file), else None."""
    if isinstance(source, io.BytesIO):
        return len(source.getbuffer())
    try:
        return os.fstat(source.fileno()).st_size if source.seekable() else None
    except (OSError, ValueError, io.UnsupportedOperation):  # no file underneath
        return None


def _parse_document(name: str, data: bytes) -> Any:
    """Parse the JSON export document read from ``name``, before any database work.

    ``data`` holds at most :data:`MAX_DOCUMENT_FILE_BYTES` + 1 bytes; one more than the limit is
    refused. The file must be UTF-8 and then the strict JSON of
    :func:`~agent_sessions.domain.export_records.load_json` (no key twice in one object, no NaN
    or infinity); anything else raises :class:`ImportIntegrityError`.
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
    return load_json(text, name)
