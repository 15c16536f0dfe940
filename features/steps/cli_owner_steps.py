"""Steps for ``sessions list --owner`` and its time bounds, ``sessions hold|release`` and
``owners erase``.

The commands run through ``I run "..."`` of ``cli_steps.py``; these steps store owners' sessions
and holds through the public service and read what the commands print. ``{owner}`` in a command
line is the owner of the last sessions stored, unescaped (control characters and all).
"""

from __future__ import annotations

import json
import re

from behave import given, then

from agent_sessions.domain.entities import ERASURE_TABLES
from agent_sessions.domain.errors import SessionNotFoundError
from agent_sessions.domain.export_records import format_timestamp
from features.command_line_world import unescaped


def _output(context):
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)
    return context.cli_stdout


def _owned(context, owner):
    return [session.id for session in context.service.list(owner_id=owner, limit=1000)]


def _store_sessions(context, count, owner, messages):
    owner = unescaped(owner)
    ids = getattr(context, "owned_ids", {})
    for _ in range(count):
        session = context.service.create("assistant", title=f"a session of {owner}", owner_id=owner)
        for number in range(1, messages + 1):
            context.service.append_message(session.id, "user", f"message {number}")
        ids.setdefault(owner, []).append(session.id)
        context.cli_session_id = session.id
    context.owned_ids = ids
    if not hasattr(context, "cli_names"):
        context.cli_names = {}
    context.cli_names["owner"] = owner


@given('{count:d} sessions of owner "{owner}" with {messages:d} messages each')
def step_owner_sessions(context, count, owner, messages):
    _store_sessions(context, count, owner, messages)


@given('1 session of owner "{owner}" with {messages:d} messages')
def step_owner_session(context, owner, messages):
    _store_sessions(context, 1, owner, messages)


@given('the first session of owner "{owner}" is held because "{reason}"')
def step_first_held(context, owner, reason):
    context.service.set_hold(context.owned_ids[owner][0], reason)


@then('the table has an OWNER column and lists the {count:d} sessions of owner "{owner}" alone')
def step_table_of_owner(context, count, owner):
    header, *rows = _output(context).splitlines()
    assert re.search(r"\bOWNER\b", header), header
    listed = [row.split()[0] for row in rows]
    assert sorted(listed) == sorted(context.owned_ids[owner]), (listed, context.owned_ids)
    assert len(listed) == count
    assert all(f"  {owner}  " in row for row in rows), rows


@then("the table has no OWNER column")
def step_table_without_owner(context):
    header = _output(context).splitlines()[0]
    assert "ID" in header and "OWNER" not in header, header


@then('the JSON sessions are the {count:d} sessions of owner "{owner}", each naming its owner')
def step_json_of_owner(context, count, owner):
    records = json.loads(_output(context))
    assert sorted(record["id"] for record in records) == sorted(context.owned_ids[owner])
    assert len(records) == count
    assert all(record["owner_id"] == owner for record in records), records
    assert all(record["hold_reason"] is None for record in records), records


@then('the JSON sessions are the session alone, with the external id "{external_id}"')
def step_json_external_id(context, external_id):
    records = json.loads(_output(context))
    assert [record["id"] for record in records] == [context.cli_session_id], records
    assert records[0]["external_id"] == external_id, records


@then('the output says the session is held because "{reason}"')
def step_output_held(context, reason):
    held_at = context.service.get(context.cli_session_id).held_at
    assert held_at is not None
    expected = f"held session {context.cli_session_id} since {format_timestamp(held_at)}: {reason}"
    assert _output(context) == expected + "\n", context.cli_stdout


@then('the header says the session is held since its hold\'s time, because "{reason}"')
def step_header_held(context, reason):
    session = context.service.get(context.cli_session_id)
    assert session.held_at is not None
    line = f"  held since {format_timestamp(session.held_at)}: {reason}"
    header = _output(context).split("\n  [1]")[0]
    assert line in header.splitlines(), context.cli_stdout


@then("the JSON session has no hold")
def step_json_no_hold(context):
    record = json.loads(_output(context))
    assert record["id"] == context.cli_session_id
    assert (record["hold_reason"], record["held_at"]) == (None, None), record
    assert not context.service.get(context.cli_session_id).held


@then("the header says nothing of a hold")
def step_header_not_held(context):
    header = _output(context).split("\n  [1]")[0]
    assert "held" not in header, context.cli_stdout


@then('owner "{owner}" still has {count:d} sessions')
def step_owner_kept(context, owner, count):
    assert sorted(_owned(context, owner)) == sorted(context.owned_ids[owner])
    assert len(context.owned_ids[owner]) == count


@then(
    "the receipt says {count:d} sessions, {sessions:d} rows of sessions and "
    "{messages:d} rows of session_messages"
)
def step_receipt(context, count, sessions, messages):
    first, *tables = _output(context).splitlines()
    assert re.fullmatch(rf"erased owner \S+: {count} sessions in \d+\.\d{{3}} s", first), first
    rows = dict(line.split(None, 1) for line in tables)
    assert list(rows) == list(ERASURE_TABLES), tables
    assert rows["sessions"] == f"{sessions} rows", rows
    assert rows["session_messages"] == f"{messages} rows", rows
    assert all(rows[table] == "0 rows" for table in ERASURE_TABLES[2:]), rows


@then('owner "{owner}" has no session left and owner "{other}" still has {count:d}')
def step_owner_erased(context, owner, other, count):
    assert _owned(context, owner) == []
    for session_id in context.owned_ids[owner]:
        try:
            context.service.get(session_id)
        except SessionNotFoundError:
            continue
        raise AssertionError(f"session {session_id} of {owner} is still there")
    assert _owned(context, other) == context.owned_ids[other]
    assert len(context.owned_ids[other]) == count


@then("the JSON receipt counts 0 sessions and 0 rows in every table")
def step_json_receipt_empty(context):
    receipt = json.loads(_output(context))
    assert receipt["sessions"] == 0, receipt
    assert receipt["rows"] == dict.fromkeys(ERASURE_TABLES, 0), receipt
    assert receipt["started_at"] <= receipt["finished_at"], receipt
    assert receipt["seconds"] >= 0, receipt
