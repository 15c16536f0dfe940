"""Steps for the file-event commands of ``agent-sessions`` (``sessions files|events|show``).

The commands themselves run through ``I run "..."`` of ``cli_steps.py``; these steps record
the events through the public service and read the commands' tables and JSON.
"""

from __future__ import annotations

import json
import re

from behave import given, then, when

from agent_sessions.domain.export_records import format_timestamp
from features.session_world import parse_names, parse_sequences

_ESCAPE = re.compile(r"\\(n|t|x[0-9a-f]{2})")
_ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_COLUMNS = re.compile(r"\s{2,}")
_TYPES = ("read", "write", "edit", "delete", "rename", "command")


def _unescape(cell):
    """Read a table cell, where ``\\n``, ``\\t`` and ``\\xNN`` stand for those characters."""

    def character(match):
        code = match.group(1)
        return {"n": "\n", "t": "\t"}.get(code) or chr(int(code[1:], 16))

    return _ESCAPE.sub(character, cell) if cell else None


def _succeeded(context):
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)
    return context.cli_stdout


def _recorded(context, numbers):
    """The export records of the session's events numbered ``numbers`` (1 = first recorded)."""
    events = context.service.export_session(context.cli_session_id)["file_events"]
    return [events[number - 1] for number in numbers]


def _table_rows(context, header_start):
    lines = _succeeded(context).splitlines()
    assert lines and lines[0].startswith(header_start), context.cli_stdout
    return lines[1:]


@given("its message {sequence:d} recorded these file events:")
def step_message_recorded_events(context, sequence):
    messages = context.service.get_messages(context.cli_session_id)
    message = next(message for message in messages if message.sequence == sequence)
    for row in context.table:
        context.service.record_file_event(
            context.cli_session_id,
            message.id,
            row["type"],
            file_path=_unescape(row["path"]),
            command=_unescape(row["command"]),
            diff=_unescape(row["diff"]),
        )


@given('the actor "{actor}" starts a session with the external id "{external_id}"')
@when('the actor "{actor}" starts a session with the external id "{external_id}"')
def step_session_with_external_id(context, actor, external_id):
    session = context.service.create(actor, title=f"{actor} session", external_id=external_id)
    context.cli_session_id = session.id


@then("the files table has these rows, in path order:")
def step_files_table(context):
    rows = _table_rows(context, " READ  WRITE   EDIT  DELETE  RENAME  COMMAND  TOTAL  LAST EVENT")
    shown = []
    for line in rows:
        *numbers, _time, path = line.split(maxsplit=8)
        shown.append([path, *numbers])
    expected = [[row["path"], *(row[kind] for kind in (*_TYPES, "total"))] for row in context.table]
    assert shown == expected, f"{shown} != {expected}"


@then("each row's last event time is that of the path's last recorded event")
def step_files_table_times(context):
    for line in _table_rows(context, " READ"):
        *_numbers, time, path = line.split(maxsplit=8)
        last = context.service.list_file_events(context.cli_session_id, file_path=path)[-1]
        assert time == format_timestamp(last.created_at), (path, time, last)


@then('the JSON files list names "{paths}" in that order')
def step_json_files_order(context, paths):
    listed = json.loads(_succeeded(context))
    assert [item["file_path"] for item in listed] == parse_names(paths), listed


@then('in the JSON files list "{path}" has the counts "{counts}" and total {total:d}')
def step_json_files_counts(context, path, counts, total):
    item = next(item for item in json.loads(_succeeded(context)) if item["file_path"] == path)
    expected = dict.fromkeys(_TYPES, 0)
    for part in parse_names(counts):
        kind, number = part.split()
        expected[kind] = int(number)
    assert item["counts"] == expected, item
    assert item["total"] == total, item


@then("in the JSON files list each last_event_at is that of the path's last recorded event")
def step_json_files_times(context):
    for item in json.loads(_succeeded(context)):
        events = context.service.list_file_events(
            context.cli_session_id, file_path=item["file_path"]
        )
        assert item["last_event_at"] == format_timestamp(events[-1].created_at), item


@then("the events table lists, in the order recorded:")
def step_events_table(context):
    rows = _table_rows(context, "TIME                         MESSAGE  TYPE     DIFF LINES  PATH")
    shown = [_COLUMNS.split(line, maxsplit=4) for line in rows]
    times = [row[0] for row in shown]
    assert all(_ISO_Z.match(time) for time in times), times
    assert times == sorted(times) and len(set(times)) == len(times), times
    expected = [
        [row["message"], row["type"], row["diff lines"], row["path or command"]]
        for row in context.table
    ]
    assert [row[1:] for row in shown] == expected, f"{shown} != {expected}"


@then("the events table lists the events numbered {numbers} of the ones recorded")
def step_events_table_numbers(context, numbers):
    rows = _table_rows(context, "TIME")
    shown = [_COLUMNS.split(line, maxsplit=4)[0] for line in rows]
    recorded = _recorded(context, parse_sequences(numbers))
    assert shown == [event["created_at"] for event in recorded], (shown, recorded)


@then(
    "the JSON events are the export records of the events numbered {numbers} of the ones recorded"
)
def step_json_events(context, numbers):
    listed = json.loads(_succeeded(context))
    assert listed == _recorded(context, parse_sequences(numbers)), listed


@then('the lines under the message "{message}" are, indented:')
def step_lines_under_message(context, message):
    lines = _succeeded(context).splitlines()
    start = next(index for index, line in enumerate(lines) if line.endswith(message))
    indent = len(lines[start]) - len(lines[start].lstrip()) + 1
    under = []
    for line in lines[start + 1 :]:
        if len(line) - len(line.lstrip()) < indent:
            break
        under.append(line.strip())
    expected = [line.strip() for line in context.text.splitlines() if line.strip()]
    assert under == expected, f"{under} != {expected}"


@then('the output never shows "{text}"')
def step_output_never_shows(context, text):
    assert text not in _succeeded(context), context.cli_stdout


@then('the JSON messages hold the export records of the events numbered "{groups}"')
def step_json_messages_events(context, groups):
    messages = json.loads(_succeeded(context))["messages"]
    expected = [
        [] if group.strip() == "none" else _recorded(context, parse_sequences(group))
        for group in groups.split(";")
    ]
    assert [message["file_events"] for message in messages] == expected, messages


@then(
    'the sessions table shows the external id "{external_id}" for "{actor}" and none for "{other}"'
)
def step_sessions_table_external_id(context, external_id, actor, other):
    header, *rows = _succeeded(context).splitlines()
    column = header.index("EXTERNAL ID")
    cells = {row.split()[1]: row[column:].split("  ")[0].strip() for row in rows}
    assert cells[actor] == external_id, cells
    assert cells[other] == "", cells


@then('the JSON sessions give "{actor}" the external id "{external_id}" and "{other}" null')
def step_json_sessions_external_ids(context, actor, external_id, other):
    listed = {item["actor_name"]: item["external_id"] for item in json.loads(_succeeded(context))}
    assert listed == {actor: external_id, other: None}, listed


@then('the JSON session has the external id "{external_id}"')
def step_json_session_external_id(context, external_id):
    assert json.loads(_succeeded(context))["external_id"] == external_id, context.cli_stdout
