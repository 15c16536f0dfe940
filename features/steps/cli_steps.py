"""Steps that run the ``agent-sessions`` command line in-process."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from behave import given, then, when
from sqlalchemy import Column, Index, MetaData, String, Table, create_engine
from sqlalchemy.schema import DropIndex

from agent_sessions.domain.export_format import compute_checksum
from features.command_line_world import run_command_line as _run
from features.command_line_world import scratch_file as _scratch_file


def _set_environment(context, name, value):
    previous = os.environ.get(name)
    os.environ[name] = value

    def restore():
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous

    context.scenario_stack.callback(restore)


@given("an empty working folder")
def step_empty_folder(context):
    folder = context.scenario_stack.enter_context(tempfile.TemporaryDirectory())
    previous = Path.cwd()
    os.chdir(folder)
    context.scenario_stack.callback(os.chdir, previous)
    context.working_folder = Path(folder)
    if "AGENT_SESSIONS_URL" in os.environ:
        _set_environment(context, "AGENT_SESSIONS_URL", "")


@given("a fresh database for the command line")
def step_fresh_database(context):
    context.cli_url = context.provision_database()


@given('the session "{actor}" with {count:d} messages')
def step_session_with_messages(context, actor, count):
    session = context.service.create(actor, title=f"{actor} session")
    for number in range(1, count + 1):
        role = "user" if number % 2 else "assistant"
        context.service.append_message(session.id, role, f"message {number}")
    context.cli_session_id = session.id


@given("AGENT_SESSIONS_URL names the database")
def step_url_from_environment(context):
    _set_environment(context, "AGENT_SESSIONS_URL", context.database_url)


@given('a file "{{file}}" holding {content}')
def step_file_holding(context, content):
    path = _scratch_file(context)
    if content == "a tampered export":
        document = context.service.export_session(context.cli_session_id)
        document["messages"][0]["content"] = "tampered"
        path.write_text(json.dumps(document), encoding="utf-8")
    elif content == "text that is not JSON":
        path.write_text("this is not { json", encoding="utf-8")
    elif content == "bytes that are not UTF-8":
        path.write_bytes(b'{"format": "\xff\xfe"}')


@given("its export document is on standard input")
def step_export_on_stdin(context):
    document = context.service.export_session(context.cli_session_id)
    previous = sys.stdin
    sys.stdin = io.StringIO(json.dumps(document))
    context.scenario_stack.callback(setattr, sys, "stdin", previous)


@given('the index "{index}" was dropped behind the library\'s back')
def step_drop_index(context, index):
    engine = create_engine(context.cli_url)
    try:
        with engine.begin() as connection:
            # A throw-away Table, so that the models' metadata is not touched.
            sessions = Table("sessions", MetaData(), Column("actor_name", String))
            connection.execute(DropIndex(Index(index, sessions.c.actor_name)))
    finally:
        engine.dispose()


@given('I run "{command_line}"')
@when('I run "{command_line}"')
def step_run(context, command_line):
    _run(context, command_line)


@then("the command succeeds")
def step_succeeds(context):
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)


@then('the output shows "{text}"')
def step_output_shows(context, text):
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)
    assert text in context.cli_stdout, context.cli_stdout


@then('the output is exactly "{text}"')
def step_output_exactly(context, text):
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)
    assert context.cli_stdout == f"{text}\n", repr(context.cli_stdout)


@then('the command fails with one error line saying "{text}"')
def step_fails_with_line(context, text):
    assert context.cli_status == 1, (context.cli_status, context.cli_stdout)
    lines = context.cli_stderr.splitlines()
    assert len(lines) == 1, context.cli_stderr
    assert lines[0].startswith("agent-sessions: error: "), lines[0]
    assert text in lines[0], lines[0]
    assert "Traceback" not in context.cli_stderr


@then("the command exits with status {status:d}")
def step_exit_status(context, status):
    assert context.cli_status == status, (context.cli_status, context.cli_stderr)
    assert "usage: agent-sessions" in context.cli_stderr, context.cli_stderr


@then('the working folder now holds "{name}"')
def step_folder_holds(context, name):
    assert (context.working_folder / name).is_file()


@then('the working folder does not hold "{name}"')
def step_folder_lacks(context, name):
    assert not (context.working_folder / name).exists()


@then('"agent-sessions sessions list" then lists "{actor}"')
def step_then_lists(context, actor):
    _run(context, "agent-sessions sessions list")
    assert context.cli_status == 0, context.cli_stderr
    assert actor in context.cli_stdout, context.cli_stdout


@then("the JSON output has {count:d} messages in sequence order")
def step_json_messages(context, count):
    document = json.loads(context.cli_stdout)
    assert [m["sequence"] for m in document["messages"]] == list(range(1, count + 1))
    assert document["message_count"] == count


@then('the JSON output lists the actor "{actor}"')
def step_json_lists_actor(context, actor):
    listed = json.loads(context.cli_stdout)
    assert [item["actor_name"] for item in listed] == [actor], listed


@then('the service now holds {count:d} sessions of "{actor}" with the same messages')
def step_same_messages(context, count, actor):
    sessions = context.service.list(actor_name=actor)
    assert len(sessions) == count, sessions
    contents = [
        [(m.sequence, m.role, m.content) for m in context.service.get_messages(s.id)]
        for s in sessions
    ]
    assert all(content == contents[0] for content in contents), contents
    assert len({s.id for s in sessions}) == count


@then("the output is an export document with a valid checksum")
def step_valid_export(context):
    assert context.cli_status == 0, context.cli_stderr
    document = json.loads(context.cli_stdout)
    assert document["format"] == "agent-sessions/export"
    assert document["session"]["id"] == context.cli_session_id
    assert document["checksum"] == compute_checksum(document)


_DATABASE_LIBRARIES = ("sqlalchemy", "alembic")

# Run in a new process: report the database libraries it imported, whatever way it exits.
_PROBE = """
import atexit, sys
def _report():
    loaded = sorted({name.partition(".")[0] for name in sys.modules} & {"sqlalchemy", "alembic"})
    sys.stderr.write("loaded: " + ",".join(loaded) + "\\n")
    # Then every public name, listed by dir() and RetryPolicy served on first use; an unknown
    # name is still refused.
    unlisted = sorted(set(agent_sessions.__all__) - set(dir(agent_sessions)))
    missing = [name for name in agent_sessions.__all__ if not hasattr(agent_sessions, name)]
    policy = agent_sessions.RetryPolicy.__module__.rpartition(".")[0]
    sys.stderr.write(f"missing: {missing}; not in dir: {unlisted}; RetryPolicy from {policy}; "
                     f"unknown name: {hasattr(agent_sessions, 'NoSuchName')}\\n")
atexit.register(_report)
import agent_sessions
from agent_sessions.infrastructure.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _probe(context, arguments, environment):
    process = subprocess.run(
        [sys.executable, "-c", _PROBE, *arguments],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    loaded = [line for line in process.stderr.splitlines() if line.startswith("loaded: ")]
    assert process.returncode == 0 and loaded, (process.returncode, process.stderr)
    context.probe_names = process.stderr.splitlines()[-1]
    return process.stdout, loaded[-1].removeprefix("loaded: ")


@when('the shell completes "{command_line}"')
def step_shell_completes(context, command_line):
    folder = context.scenario_stack.enter_context(tempfile.TemporaryDirectory())
    offered = Path(folder) / "offered"
    _, context.loaded = _probe(
        context,
        [],
        {
            "_ARGCOMPLETE": "1",
            "_ARGCOMPLETE_IFS": "\n",
            "COMP_LINE": command_line,
            "COMP_POINT": str(len(command_line)),
            "_ARGCOMPLETE_STDOUT_FILENAME": str(offered),
        },
    )
    context.offered = sorted(word.strip() for word in offered.read_text().split("\n") if word)


@then('it offers "{words}" and loaded neither SQLAlchemy nor Alembic')
def step_offers(context, words):
    assert context.offered == [word.strip() for word in words.split(",")], context.offered
    assert context.loaded == "", context.loaded


@when('a new Python process imports agent_sessions and runs "agent-sessions --help"')
def step_new_process_help(context):
    context.cli_stdout, context.loaded = _probe(context, ["--help"], {})


@then("it printed the usage and loaded neither SQLAlchemy nor Alembic")
def step_usage_without_database(context):
    assert context.cli_stdout.startswith("usage: agent-sessions"), context.cli_stdout
    assert "completion" in context.cli_stdout, context.cli_stdout
    assert context.loaded == "", context.loaded


class _Terminal(io.StringIO):
    """Standard output as a terminal: what is written is kept, and ``isatty()`` says yes."""

    def isatty(self):
        return True


@given('the session "{actor}" titled "{title}" and {count:d} more characters')
def step_session_titled(context, actor, title, count):
    context.cli_title = title.replace("\\x1b", "\x1b") + " " + "x" * count
    session = context.service.create(actor, title=context.cli_title)
    context.cli_session_id = session.id


@when('I run "{command_line}" on a terminal {width:d} columns wide')
def step_run_on_terminal(context, command_line, width):
    _set_environment(context, "COLUMNS", str(width))
    _run(context, command_line, stdout=_Terminal())


@then('every line of the output fits in {width:d} columns, the title\'s cut with "…"')
def step_lines_fit(context, width):
    assert context.cli_status == 0, context.cli_stderr
    lines = context.cli_stdout.splitlines()
    assert lines and all(len(line) <= width for line in lines), lines
    assert any(line.endswith("…") for line in lines), lines


@then("each session's line shows its whole id and its title's first {count:d} characters, escaped")
def step_id_and_title_shown(context, count):
    assert context.cli_status == 0, context.cli_stderr
    lines = context.cli_stdout.splitlines()
    sessions = context.service.list()
    assert len(sessions) == len(lines) - 1, lines
    for session in sessions:
        (line,) = [line for line in lines if line.startswith(session.id + " ")]
        beginning = session.title.replace("\x1b", "\\x1b")[:count]
        assert beginning in line, (beginning, line)


@then("the output shows the whole title, escaped")
def step_whole_title(context):
    assert context.cli_status == 0, context.cli_stderr
    assert context.cli_title.replace("\x1b", "\\x1b") in context.cli_stdout, context.cli_stdout
    assert "\x1b" not in context.cli_stdout, context.cli_stdout


@then("every public name of agent_sessions was there and listed, RetryPolicy once asked for")
def step_public_names(context):
    expected = (
        "missing: []; not in dir: []; RetryPolicy from agent_sessions.infrastructure.database; "
        "unknown name: False"
    )
    assert context.probe_names == expected, context.probe_names


@given('the session "{actor}" with the message "{content}"')
def step_session_with_message(context, actor, content):
    session = context.service.create(actor)
    text = content.replace("\\n", "\n").replace("\\x1b", "\x1b")
    context.service.append_message(session.id, "user", text)
    context.cli_session_id = session.id


@then('the line after it is "{text}", under the message\'s first line')
def step_line_after(context, text):
    lines = context.cli_stdout.splitlines()
    first = next(index for index, line in enumerate(lines) if "user: first line" in line)
    column = lines[first].index("first line")
    assert lines[first + 1] == " " * column + text, lines
