"""Steps for JSON Lines exports and imports and cursor pages on the ``agent-sessions`` command.

Most commands run through ``I run "..."`` of ``cli_steps.py``. The steps here run a command with
other standard streams than that step's in-memory text: standard output with bytes underneath
(as a real one has), standard input from a file or through a pipe, and standard error that says
it is a terminal, which is how a scenario sees the export's progress line.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from behave import given, then, when
from behave.runner import Context

from agent_sessions.infrastructure.cli import main

_NEXT_PAGE = re.compile(r"^next page: --after (\S+)$")
_IMPORTED = re.compile(r"^imported session (\S+) \((\d+) messages\) for actor (.+)$")
_PROGRESS = re.compile(r"^exporting session (\S+) \S* +(\d+)/(\d+) messages +(\d+)% ")
_TERMINAL_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
"""The terminal's control sequences (colours, cursor, erase line) that a progress bar writes."""


class _Terminal(io.StringIO):
    """Standard error as a terminal: what is written is kept, and ``isatty()`` says yes."""

    def isatty(self) -> bool:
        return True


def _scratch_file(context: Context) -> Path:
    # The same file as {file} of cli_steps.py: whichever step asks first creates it.
    if not hasattr(context, "cli_file"):
        folder = context.scenario_stack.enter_context(tempfile.TemporaryDirectory())
        context.cli_file = Path(folder) / "session.json"
    return context.cli_file


def _substitute(context: Context, text: str) -> str:
    values = {
        "{database}": getattr(context, "cli_url", context.database_url),
        "{session}": context.cli_session_id,
        "{file}": str(_scratch_file(context)),
        "{cursor}": getattr(context, "cli_cursor", "{cursor}"),
    }
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def _run(context: Context, command_line: str, *, stdout: IO[str], stderr: IO[str]) -> None:
    arguments = shlex.split(_substitute(context, command_line))
    assert arguments[0] == "agent-sessions", arguments
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            context.cli_status = main(arguments[1:])
        except SystemExit as exc:
            context.cli_status = exc.code
    stdout.flush()
    buffer = getattr(stdout, "buffer", None)
    context.cli_stdout = (
        buffer.getvalue().decode("utf-8") if buffer is not None else stdout.getvalue()
    )
    context.cli_stderr = stderr.getvalue()


def _binary_stdout(encoding: str = "utf-8") -> io.TextIOWrapper:
    """A standard output like the real one: text on top, bytes underneath (``.buffer``)."""
    return io.TextIOWrapper(io.BytesIO(), encoding=encoding, newline="")


def _replace_stdin(context: Context, stream: IO[str]) -> None:
    previous = sys.stdin
    sys.stdin = stream
    context.scenario_stack.callback(setattr, sys, "stdin", previous)


def _stdin_through_pipe(context: Context, data: bytes) -> None:
    """Make standard input the read end of an OS pipe that a thread fills with ``data``."""
    read_end, write_end = os.pipe()

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError), os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)

    feeder = threading.Thread(target=feed)
    feeder.start()
    context.scenario_stack.callback(feeder.join)
    reader = open(read_end, encoding="utf-8")  # noqa: SIM115 (closed by the scenario)
    context.scenario_stack.callback(reader.close)  # closed first, so that the feeder ends
    _replace_stdin(context, reader)


def _export_lines(context: Context) -> list[bytes]:
    target = io.BytesIO()
    context.service.export_session_to(context.session.id, target)
    return target.getvalue().splitlines(keepends=True)


def _check_stream(context: Context, data: bytes, messages: int, events: int) -> None:
    """Check a JSON Lines export as its reader would, independently of the library's reader."""
    assert data.endswith(b"\n"), data[-80:]
    lines = data.splitlines(keepends=True)
    header, *records, trailer = (json.loads(line) for line in lines)
    assert header["format"] == "agent-sessions/export-jsonl", header
    assert header["schema_version"] == 3, header
    assert header["session"]["id"] == context.session.id, header
    kinds = [next(iter(record)) for record in records]
    assert kinds == ["message"] * messages + ["file_event"] * events, kinds
    sequences = [record["message"]["sequence"] for record in records[:messages]]
    assert sequences == list(range(1, messages + 1)), sequences
    digest = hashlib.sha256(b"".join(lines[:-1])).hexdigest()
    assert trailer == {
        "checksum": f"sha256:{digest}",
        "messages": messages,
        "file_events": events,
        "rewinds": 0,
        "compactions": 0,
    }


# --- the world ------------------------------------------------------------------------------


@given("the command line names that session")
def step_cli_names_that_session(context: Context) -> None:
    context.cli_session_id = context.session.id


@given('{count:d} more sessions of the actor "{actor}"')
def step_more_sessions(context: Context, count: int, actor: str) -> None:
    for number in range(1, count + 1):
        context.service.create(actor, title=f"{actor} {number}")


@given("the session's JSON Lines export is {where}")
def step_export_is(context: Context, where: str) -> None:
    data = b"".join(_export_lines(context))
    path = _scratch_file(context)
    if where == "in the file":
        path.write_bytes(data)
    elif where == "in the file after two blank lines":
        path.write_bytes(b"\n \n" + data)
    elif where == "on standard input, redirected from the file":
        path.write_bytes(data)
        stdin = path.open(encoding="utf-8")
        context.scenario_stack.callback(stdin.close)
        _replace_stdin(context, stdin)
    elif where == "on standard input, through a pipe":
        _stdin_through_pipe(context, data)
    else:
        raise AssertionError(f"the steps know no export {where!r}")


def _edit(lines: list[bytes], index: int, change: Any) -> None:
    record = json.loads(lines[index])
    change(record)
    lines[index] = json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"


@given("a damaged JSON Lines export of the session is in the file: {damage}")
def step_damaged_export(context: Context, damage: str) -> None:
    lines = _export_lines(context)
    if damage == "one changed character in a message":
        lines[4] = lines[4].replace(b"message 4", b"message X")
    elif damage == "its trailer cut off":
        lines.pop()
    elif damage == "a header that is not JSON":
        lines[0] = lines[0].replace(b'"format":', b'"format"', 1)
    elif damage == "a file event naming message 99":
        _edit(lines, 31, lambda record: record["file_event"].update(message_sequence=99))
    elif damage == "a message's content written twice, re-signed":
        # A reader that kept the last value would import "INJECTED" under a valid checksum.
        lines[1] = lines[1].rstrip(b"\n")[:-2] + b',"content":"INJECTED"}}\n'
        digest = hashlib.sha256(b"".join(lines[:-1])).hexdigest()
        _edit(lines, len(lines) - 1, lambda record: record.update(checksum=f"sha256:{digest}"))
    else:
        raise AssertionError(f"the steps know no damage {damage!r}")
    _scratch_file(context).write_bytes(b"".join(lines))


# --- running the command --------------------------------------------------------------------


@when('I run "{command_line}" with standard error on a terminal')
def step_run_on_terminal(context: Context, command_line: str) -> None:
    _run(context, command_line, stdout=_binary_stdout(), stderr=_Terminal())


@when('I run "{command_line}" with standard output encoded as ASCII')
def step_run_ascii_stdout(context: Context, command_line: str) -> None:
    # As under PYTHONIOENCODING=ascii, or a Windows console code page: text cannot carry "☃".
    _run(context, command_line, stdout=_binary_stdout("ascii"), stderr=io.StringIO())


@when('I run "{command_line}" with the cursor that page printed')
def step_run_with_cursor(context: Context, command_line: str) -> None:
    assert context.cli_status == 0, context.cli_stderr
    match = _NEXT_PAGE.match(context.cli_stdout.splitlines()[-1])
    assert match is not None, context.cli_stdout
    context.cli_cursor = match.group(1)
    _run(context, command_line, stdout=io.StringIO(), stderr=io.StringIO())


@when('I pipe "{producer}" into "{consumer}"')
def step_pipe(context: Context, producer: str, consumer: str) -> None:
    stdout = _binary_stdout()
    _run(context, producer, stdout=stdout, stderr=io.StringIO())
    assert context.cli_status == 0, context.cli_stderr
    _stdin_through_pipe(context, stdout.buffer.getvalue())  # type: ignore[attr-defined]
    _run(context, consumer, stdout=_binary_stdout(), stderr=io.StringIO())


def _page(context: Context, marker: str) -> tuple[list[str], str | None]:
    """The ids a listing printed and its cursor (None when it printed none)."""
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)
    if marker == "next_cursor":
        page = json.loads(context.cli_stdout)
        return [session["id"] for session in page["sessions"]], page["next_cursor"]
    assert marker == "next page lines", marker
    lines = context.cli_stdout.splitlines()
    if lines == ["no sessions"]:
        return [], None
    header, *rows = lines
    assert header.startswith("ID "), header
    match = _NEXT_PAGE.match(rows[-1])
    if match is None:
        return [row[:26] for row in rows], None
    assert not any(_NEXT_PAGE.match(row) for row in rows[:-1]), rows
    return [row[:26] for row in rows[:-1]], match.group(1)


@when('I page through "{command_line}" by its {marker}')
def step_page_through(context: Context, command_line: str, marker: str) -> None:
    context.cli_pages = []
    cursor: str | None = None
    for _ in range(20):
        after = "" if cursor is None else f" --after {cursor}"
        _run(context, command_line + after, stdout=io.StringIO(), stderr=io.StringIO())
        ids, cursor = _page(context, marker)
        context.cli_pages.append(ids)
        if cursor is None:
            return
    raise AssertionError(f"still a next page after 20 pages: {context.cli_pages}")


# --- what it printed ------------------------------------------------------------------------


@then(
    "the {where} is a JSON Lines export of the session "
    "with {messages:d} messages and {events:d} file events"
)
def step_is_export(context: Context, where: str, messages: int, events: int) -> None:
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)
    if where == "file":
        data = _scratch_file(context).read_bytes()
    else:
        assert where == "output", where
        data = context.cli_stdout.encode("utf-8")
    _check_stream(context, data, messages, events)


@then('the output names the imported session, with {count:d} messages, for actor "{actor}"')
def step_output_names_imported(context: Context, count: int, actor: str) -> None:
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)
    match = _IMPORTED.match(context.cli_stdout.strip())
    assert match is not None, context.cli_stdout
    assert (int(match.group(2)), match.group(3)) == (count, actor), context.cli_stdout
    context.imported = context.service.get(match.group(1))
    assert context.imported.id != context.session.id
    assert context.imported.message_count == count


@then("standard error is empty")
def step_stderr_empty(context: Context) -> None:
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)
    assert context.cli_stderr == "", repr(context.cli_stderr)


@then('standard error is exactly "{text}"')
def step_stderr_exactly(context: Context, text: str) -> None:
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)
    assert context.cli_stderr == _substitute(context, text) + "\n", repr(context.cli_stderr)


@then(
    "standard error shows the progress from 0/{total:d} to {last:d}/{total2:d} messages, "
    'then "{text}"'
)
def step_stderr_progress(context: Context, total: int, last: int, total2: int, text: str) -> None:
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)
    plain = _TERMINAL_CONTROL.sub("", context.cli_stderr)
    # The bar is redrawn in place after a carriage return; the confirmation has its own line.
    *frames, confirmation, end = re.split(r"[\r\n]", plain)
    assert confirmation == _substitute(context, text) and end == "", repr(plain)
    frames = [frame for frame in frames if frame]
    assert 2 <= len(frames) <= 105, repr(plain)  # redrawn when the percentage changes
    shown = []
    for frame in frames:
        match = _PROGRESS.match(frame)
        assert match is not None, repr(frame)
        session_id, written, of, percent = match.groups()
        assert session_id == context.cli_session_id and int(of) == total, frame
        assert int(percent) == int(written) * 100 // total, frame
        shown.append(int(written))
    assert shown[0] == 0 and shown[-1] == last == total2, shown
    assert shown == sorted(shown), shown


def _last_frame(context: Context, label: str) -> str:
    # The bar's frames, then the command's own lines (a confirmation, an error) on their own.
    frames = [
        frame
        for frame in re.split(r"[\r\n]", _TERMINAL_CONTROL.sub("", context.cli_stderr))
        if frame and not frame.startswith(("agent-sessions: error:", "exported session"))
    ]
    shown = _substitute(context, label)
    assert frames and all(frame.startswith(shown) for frame in frames), frames
    return frames[-1]


@then('standard error shows the bar "{label}", ending at the file\'s size')
def step_stderr_import_bar(context: Context, label: str) -> None:
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)
    last = _last_frame(context, label)
    size = _scratch_file(context).stat().st_size
    # rich shows sizes in kB (1000 bytes) with one decimal: "12.3/12.3 kB".
    done, _, total = last.removeprefix(_substitute(context, label)).split()[1].partition("/")
    assert done == total and float(total) == round(size / 1000, 1), (last, size)


@then('standard error shows the bar "{label}", whatever the verdict')
def step_stderr_bar(context: Context, label: str) -> None:
    _last_frame(context, label)


@then("the pages held {sizes} sessions and together listed every session once, newest first")
def step_pages_held(context: Context, sizes: str) -> None:
    expected_sizes = [int(size) for size in sizes.split(",")]
    assert [len(page) for page in context.cli_pages] == expected_sizes, context.cli_pages
    listed = [session_id for page in context.cli_pages for session_id in page]
    assert listed == [session.id for session in context.service.list(limit=1000)], listed


@then("the JSON output is an array of the {count:d} newest sessions")
def step_json_array(context: Context, count: int) -> None:
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)
    listed = json.loads(context.cli_stdout)
    assert isinstance(listed, list), listed
    newest = context.service.list(limit=count)
    assert newest.next_cursor is not None  # there is a next page, yet no cursor is printed
    assert [item["id"] for item in listed] == [session.id for session in newest], listed


@then("the file was not written")
def step_file_not_written(context: Context) -> None:
    assert not _scratch_file(context).exists()


@given(
    "that session holds {count:d} more messages of {size:d} characters, more than a pipe buffers"
)
def step_more_messages(context: Context, count: int, size: int) -> None:
    context.service.append_messages(
        context.cli_session_id, [{"role": "user", "content": "x" * size}] * count
    )


@when(
    'a separate process runs "{command_line}" and its reader closes the pipe after {count:d} line'
)
def step_reader_closes(context: Context, command_line: str, count: int) -> None:
    arguments = shlex.split(_substitute(context, command_line))
    assert arguments[0] == "agent-sessions"
    process = subprocess.Popen(
        [sys.executable, "-m", "agent_sessions", *arguments[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    for _ in range(count):
        assert process.stdout.readline(), "the export wrote fewer lines than expected"
    process.stdout.close()
    context.process_stderr = process.stderr.read()
    process.stderr.close()
    context.process_status = process.wait(timeout=60)


@then("that process exits with status {status:d} and writes nothing to standard error")
def step_process_quiet(context: Context, status: int) -> None:
    assert context.process_stderr == b"", context.process_stderr.decode(errors="replace")
    assert context.process_status == status, context.process_status
