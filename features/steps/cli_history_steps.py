"""Steps for ``agent-sessions sessions fork|rewind|compact|tree`` and the marks of ``show``.

The commands run through ``I run "..."`` of ``cli_steps.py``; these steps prepare families,
rewinds and summaries through the public service and read what the commands print. A fork's
title names its id in command lines and expected output (``{Route B}``), as ``{session}``
names the session of ``the session "..." with N messages``.
"""

from __future__ import annotations

import io
import json
import re
import sys

from behave import given, then, when

from agent_sessions.domain.export_records import format_timestamp
from agent_sessions.domain.validation import MAX_CONTENT_BYTES
from features.command_line_world import run_command_line, scratch_file, unescaped
from features.session_world import parse_sequences

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_FORKED = re.compile(r"forked session (\w{26}) from (\w{26}) at message (\d+) \((\d+) messages\)")
_FIRST_LINE = re.compile(r"^  \[(\d+)\] +\w+(?: \[(rewound|compacted) by (\w+)\])?: ")


def _names(context):
    if not hasattr(context, "cli_names"):
        context.cli_names = {}
    return context.cli_names


def _output(context):
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)
    return context.cli_stdout


def _fork(context, source_id, sequence, title):
    fork = context.service.fork_session(source_id, at_sequence=sequence, title=unescaped(title))
    _names(context)[title] = fork.id


class _EncodedOutput(io.TextIOWrapper):
    """Standard output with bytes underneath, in ``encoding``, strict: what it lacks fails."""

    def __init__(self, encoding):
        super().__init__(io.BytesIO(), encoding=encoding, errors="strict")

    def getvalue(self):
        self.flush()
        return self.buffer.getvalue().decode(self.encoding)


@given('its session was forked at message {sequence:d} as "{title}"')
def step_session_forked(context, sequence, title):
    _fork(context, context.cli_session_id, sequence, title)


@given('the fork "{source}" was forked at message {sequence:d} as "{title}"')
def step_fork_forked(context, source, sequence, title):
    _fork(context, _names(context)[source], sequence, title)


@given("its session was rewound to message {sequence:d}")
def step_session_rewound(context, sequence):
    assert context.service.rewind(context.cli_session_id, sequence) is not None


@given('its session was rewound to message {sequence:d} because "{reason}"')
def step_session_rewound_because(context, sequence, reason):
    rewind = context.service.rewind(context.cli_session_id, sequence, reason=unescaped(reason))
    assert rewind is not None


@given("a message was appended to its session")
def step_message_appended(context):
    context.service.append_message(context.cli_session_id, "user", "one more")


@given('the session "{actor}" with messages from {roles}')
def step_session_with_roles(context, actor, roles):
    session = context.service.create(actor, title=f"{actor} session")
    for number, role in enumerate(roles.split(", "), start=1):
        context.service.append_message(session.id, role, f"message {number}")
    context.cli_session_id = session.id


@given('the summary file "{{file}}" holds "{text}"')
def step_summary_file(context, text):
    scratch_file(context).write_text(unescaped(text), encoding="utf-8")


@given('the summary file "{{file}}" holds bytes that are not UTF-8')
def step_summary_file_not_utf8(context):
    scratch_file(context).write_bytes(b"Caf\xff")


@given('the summary file "{{file}}" holds 7 MiB and one byte')
def step_summary_file_too_large(context):
    scratch_file(context).write_bytes(b"x" * (MAX_CONTENT_BYTES + 1))


@given("its session was deleted")
def step_session_deleted(context):
    context.service.delete(context.cli_session_id)


@given('the summary "{text}" is on standard input')
def step_summary_on_stdin(context, text):
    previous = sys.stdin
    sys.stdin = io.StringIO(unescaped(text))
    context.scenario_stack.callback(setattr, sys, "stdin", previous)


@when('I run "{command_line}" on an output encoded as {encoding}')
def step_run_encoded(context, command_line, encoding):
    run_command_line(context, command_line, stdout=_EncodedOutput(encoding))


@then(
    "the output names the new fork of the session, at message {sequence:d} with {count:d} messages"
)
def step_output_names_fork(context, sequence, count):
    line = _output(context).strip()
    match = _FORKED.fullmatch(line)
    assert match is not None, line
    fork_id, parent, at, messages = match.groups()
    assert (parent, int(at), int(messages)) == (context.cli_session_id, sequence, count), line
    context.cli_fork_id = fork_id


@then('the new fork holds copies of messages {sequences} of the session, titled "{title}"')
def step_fork_holds_copies(context, sequences, title):
    fork = context.service.get(context.cli_fork_id)
    assert fork.title == title, fork
    source = context.service.get_messages(context.cli_session_id)
    wanted = [message for message in source if message.sequence in parse_sequences(sequences)]
    copied = context.service.get_messages(fork.id)
    assert [(m.sequence, m.role, m.content) for m in copied] == [
        (m.sequence, m.role, m.content) for m in wanted
    ], copied
    assert {m.id for m in copied}.isdisjoint(m.id for m in wanted)


@then("the JSON sessions are the new fork alone, forked at {sequence:d} from the session")
def step_json_fork_alone(context, sequence):
    (listed,) = json.loads(_output(context))
    assert listed["id"] == context.cli_fork_id, listed
    assert listed["parent_session_id"] == context.cli_session_id, listed
    assert listed["forked_at_sequence"] == sequence, listed


@then(
    'the JSON session is a fork of the session at {sequence:d}, of actor "{actor}", '
    "with {count:d} messages"
)
def step_json_fork(context, sequence, actor, count):
    record = json.loads(_output(context))
    assert (record["parent_session_id"], record["forked_at_sequence"]) == (
        context.cli_session_id,
        sequence,
    ), record
    assert (record["actor_name"], record["message_count"]) == (actor, count), record
    assert (record["prompt_tokens"], record["completion_tokens"]) == (0, 0), record
    _names(context)["fork"] = record["id"]


@then("the header says it was forked from the session at message {sequence:d}")
def step_header_forked_from(context, sequence):
    lines = _output(context).splitlines()
    assert lines[1] == f"  forked from {context.cli_session_id} at message {sequence}", lines


@then("the output is the tree:")
def step_output_tree(context):
    expected = context.text
    for name, value in {"session": context.cli_session_id, **_names(context)}.items():
        expected = expected.replace(f"{{{name}}}", value)
    assert _output(context) == expected + "\n", f"{context.cli_stdout!r} != {expected!r}"


@then("the output holds no control character")
def step_no_control(context):
    assert _CONTROL.search(_output(context).replace("\n", "")) is None, context.cli_stdout


@then("the output says the session was rewound to message {sequence:d}")
def step_output_rewound(context, sequence):
    (rewind,) = context.service.list_rewinds(context.cli_session_id)
    assert _output(context).startswith(
        f"rewound session {context.cli_session_id} to message {sequence} by rewind {rewind.id}:"
    ), context.cli_stdout


@then("its session's visible messages are {sequences}")
def step_visible_messages(context, sequences):
    visible = context.service.get_messages(context.cli_session_id)
    assert [m.sequence for m in visible] == parse_sequences(sequences), visible


def _marks(context):
    """Return each message line's sequence with its mark: (kind, id) or None."""
    marks = {}
    for line in _output(context).splitlines():
        if (match := _FIRST_LINE.match(line)) is not None:
            sequence, kind, named = match.groups()
            marks[int(sequence)] = None if kind is None else (kind, named)
    return marks


def _assert_marks(context, sequences, kind, marked_by):
    """Assert that the messages ``sequences``, and no other, carry the mark ``kind`` by id."""
    marked = set(parse_sequences(sequences))
    marks = _marks(context)
    expected = {sequence: (kind, marked_by) if sequence in marked else None for sequence in marks}
    assert marks == expected, context.cli_stdout


@then("the conversation marks messages {sequences} as rewound by the rewind, and no other")
def step_marks_rewound(context, sequences):
    (rewind,) = context.service.list_rewinds(context.cli_session_id)
    _assert_marks(context, sequences, "rewound", rewind.id)


@then("the conversation marks messages {sequences} as compacted by the compaction, and no other")
def step_marks_compacted(context, sequences):
    (compaction,) = context.service.list_compactions(context.cli_session_id)
    _assert_marks(context, sequences, "compacted", compaction.id)


@then('the rewind\'s line in the header ends with its reason escaped, "{reason}"')
def step_rewind_reason(context, reason):
    (rewind,) = context.service.list_rewinds(context.cli_session_id)
    (line,) = [line for line in _output(context).splitlines() if f"rewind {rewind.id}" in line]
    assert line.startswith(f"  rewind {rewind.id} to message {rewind.to_sequence}, "), line
    assert line.endswith(f": {reason}"), line


@then("the conversation marks no message")
def step_marks_none(context):
    marks = _marks(context)
    assert marks and set(marks.values()) == {None}, context.cli_stdout


@then("the JSON rewind is the session's rewind, undone")
def step_json_rewind_undone(context):
    (rewind,) = context.service.list_rewinds(context.cli_session_id)
    record = json.loads(_output(context))
    assert rewind.undone_at is not None, rewind
    assert record["id"] == rewind.id, record
    assert record["undone_at"] == format_timestamp(rewind.undone_at), record


@then("the rewind's line in the header says when it was undone, and no reason")
def step_rewind_line_undone(context):
    (rewind,) = context.service.list_rewinds(context.cli_session_id)
    assert rewind.undone_at is not None, rewind
    expected = (
        f"  rewind {rewind.id} to message {rewind.to_sequence}, "
        f"{format_timestamp(rewind.created_at)}, undone {format_timestamp(rewind.undone_at)}"
    )
    assert expected in _output(context).splitlines(), context.cli_stdout


@then("the JSON messages {sequences} name the rewind in rewound_by, and the others null")
def step_json_rewound_by(context, sequences):
    (rewind,) = context.service.list_rewinds(context.cli_session_id)
    marked = set(parse_sequences(sequences))
    messages = json.loads(_output(context))["messages"]
    assert [m["rewound_by"] for m in messages] == [
        rewind.id if m["sequence"] in marked else None for m in messages
    ], messages


@then("the JSON rewinds are the session's one rewind")
def step_json_rewinds(context):
    (rewind,) = context.service.list_rewinds(context.cli_session_id)
    (listed,) = json.loads(_output(context))["rewinds"]
    assert listed["id"] == rewind.id, listed
    assert (listed["to_sequence"], listed["through_sequence"]) == (
        rewind.to_sequence,
        rewind.through_sequence,
    ), listed
    assert listed["undone_at"] is None, listed


@then("the output says the session was compacted through message {sequence:d}")
def step_output_compacted(context, sequence):
    (compaction,) = context.service.list_compactions(context.cli_session_id)
    assert _output(context) == (
        f"compacted session {context.cli_session_id} through message {sequence} by compaction "
        f"{compaction.id}\n"
    ), context.cli_stdout


@then("the model's context of its session is the summary, then messages {sequences}")
def step_context_messages(context, sequences):
    (compaction,) = context.service.list_compactions(context.cli_session_id)
    summary, *rest = context.service.context_messages(context.cli_session_id)
    assert summary.content == compaction.summary and summary.id == compaction.id, summary
    assert compaction.token_count == 12, compaction
    assert [m.sequence for m in rest] == parse_sequences(sequences), rest


@then("the summary follows message {sequence:d}, escaped, its second line under its first")
def step_summary_follows(context, sequence):
    (compaction,) = context.service.list_compactions(context.cli_session_id)
    lines = _output(context).splitlines()
    (index,) = [i for i, line in enumerate(lines) if line.startswith(f"  [{sequence}] ")]
    prefix = f"  [summary up to {sequence} by {compaction.id}]: "
    first, second = compaction.summary.split("\n")
    assert lines[index + 1] == prefix + first, lines
    escaped = second.replace("\x1b", "\\x1b")
    assert lines[index + 2] == " " * len(prefix) + escaped, lines
    assert lines[index + 3].startswith(f"  [{sequence + 1}] "), lines


@then('the last line is the summary "{summary}"')
def step_last_line_summary(context, summary):
    (compaction,) = context.service.list_compactions(context.cli_session_id)
    last = _output(context).splitlines()[-1]
    expected = f"  [summary up to {compaction.through_sequence} by {compaction.id}]: {summary}"
    assert last == expected, context.cli_stdout


@then('the JSON compaction stands for messages up to {sequence:d} with the summary "{summary}"')
def step_json_compaction(context, sequence, summary):
    record = json.loads(_output(context))
    (compaction,) = context.service.list_compactions(context.cli_session_id)
    assert record["id"] == compaction.id, record
    assert (record["through_sequence"], record["summary"]) == (sequence, summary), record
    assert record["rewound_by"] is None, record
