"""Steps of the integrity verifier: damage the rows by hand, then verify the store.

The damage is raw SQL on a plain SQLAlchemy engine (not the library's), with the backend's
safety checks relaxed where a step says so: foreign keys off, and MariaDB's CHECK constraints
(its JSON columns are text with a ``json_valid`` check) off.
"""

from __future__ import annotations

import re
from typing import Any

from behave import given, then, when
from behave.runner import Context
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DataError
from ulid import ULID

from agent_sessions import VerificationProblem
from agent_sessions.infrastructure.database import create_database_engine, upgrade
from features.session_world import (
    attempt,
    parse_sequences,
    remember,
    session_of,
    unknown_session_id,
)

_RELAXED = {
    "sqlite": ("PRAGMA foreign_keys = OFF",),
    "postgresql": ("SET session_replication_role = replica",),
    "mariadb": ("SET SESSION foreign_key_checks = 0", "SET SESSION check_constraint_checks = 0"),
}
"""Per backend, what turns off foreign keys and CHECK constraints for one connection."""

_COPIED_COLUMNS = "sequence, role, content, metadata, token_count, created_at"
_PLACEHOLDER = re.compile(r"<([^>]+)>")
_MESSAGE_PLACEHOLDER = re.compile(r"message (\d+)")
_HISTORY_PLACEHOLDER = re.compile(r"(rewind|compaction) of (.+)")


def _damage(context: Context, *statements: tuple[str, dict[str, Any]], relax: bool = False) -> None:
    engine = create_engine(context.database_url)
    try:
        with engine.begin() as connection:
            for relaxation in _RELAXED[context.backend] if relax else ():
                connection.execute(text(relaxation))
            for statement, parameters in statements:
                connection.execute(text(statement), parameters)
    finally:
        engine.dispose()


def _remember_message_ids(context: Context, actor: str) -> None:
    """Keep the ids of the session's messages by sequence, before damage makes them unreadable."""
    session_id = session_of(context, actor).id
    messages = context.service.get_messages(session_id, include_rewound=True)
    context.message_ids = {message.sequence: message.id for message in messages}


def _resolve(context: Context, text_: str) -> str:
    """Replace the placeholders of an expected text by the ids they name.

    ``<actor>`` is that actor's session, ``<message N>`` the message at sequence N of the
    session whose message ids were remembered last, ``<rewind of actor>`` and ``<compaction
    of actor>`` the rewind and the compaction that actor's session made last.
    """

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if (number := _MESSAGE_PLACEHOLDER.fullmatch(name)) is not None:
            return str(context.message_ids[int(number.group(1))])
        if (history := _HISTORY_PLACEHOLDER.fullmatch(name)) is not None:
            kind, actor = history.groups()
            return str(context.history_rows[(kind, actor)].id)
        return str(session_of(context, name).id)

    return _PLACEHOLDER.sub(value, text_)


# --- the world --------------------------------------------------------------------------------


@given("the scenario works on a migrated database of its own")
def step_own_database(context: Context) -> None:
    url = context.provision_database()
    engine = create_database_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    context.database_url = url
    context.service = context.open_service(url)


# --- history made through the library ----------------------------------------------------------


def _history_row(context: Context, kind: str, actor: str) -> Any:
    return context.history_rows[(kind, actor)]


@given('"{actor}" rewound its session to sequence {point:d}')
def step_actor_rewound(context: Context, actor: str, point: int) -> None:
    rewind = context.service.rewind(session_of(context, actor).id, point)
    assert rewind is not None, f"the rewind of {actor} to {point} hid nothing"
    context.history_rows = {**getattr(context, "history_rows", {}), ("rewind", actor): rewind}


@given('"{actor}" compacted its session through sequence {point:d}')
def step_actor_compacted(context: Context, actor: str, point: int) -> None:
    compaction = context.service.compact(
        session_of(context, actor).id, point, f"what {actor} said up to {point}"
    )
    context.history_rows = {
        **getattr(context, "history_rows", {}),
        ("compaction", actor): compaction,
    }


@given('"{actor}" forked its session at sequence {point:d} for "{fork}"')
def step_actor_forked(context: Context, actor: str, point: int, fork: str) -> None:
    session_id = session_of(context, actor).id
    remember(context, context.service.fork_session(session_id, at_sequence=point, actor_name=fork))


# --- damage -----------------------------------------------------------------------------------


@given('the "{actor}" message numbered {sequence:d} was made visible behind the library\'s back')
def step_message_made_visible(context: Context, actor: str, sequence: int) -> None:
    _remember_message_ids(context, actor)
    _damage(
        context,
        (
            "UPDATE session_messages SET rewound_by = NULL "
            "WHERE session_id = :session AND sequence = :sequence",
            {"session": session_of(context, actor).id, "sequence": sequence},
        ),
    )


@given(
    'the "{actor}" message numbered {sequence:d} was marked as hidden by the rewind of '
    '"{other}" behind the library\'s back'
)
def step_message_hidden_by(context: Context, actor: str, sequence: int, other: str) -> None:
    _remember_message_ids(context, actor)
    _damage(
        context,
        (
            "UPDATE session_messages SET rewound_by = :rewind "
            "WHERE session_id = :session AND sequence = :sequence",
            {
                "rewind": _history_row(context, "rewind", other).id,
                "session": session_of(context, actor).id,
                "sequence": sequence,
            },
        ),
    )


@given('the rewind of "{actor}" was marked undone behind the library\'s back')
def step_rewind_marked_undone(context: Context, actor: str) -> None:
    _remember_message_ids(context, actor)
    _damage(
        context,
        (
            "UPDATE session_rewinds SET undone_at = created_at WHERE id = :rewind",
            {"rewind": _history_row(context, "rewind", actor).id},
        ),
    )


@given(
    'the compaction of "{actor}" was marked as hidden by the rewind of "{other}" '
    "behind the library's back"
)
def step_compaction_hidden_by(context: Context, actor: str, other: str) -> None:
    _damage(
        context,
        (
            "UPDATE session_compactions SET rewound_by = :rewind WHERE id = :compaction",
            {
                "rewind": _history_row(context, "rewind", other).id,
                "compaction": _history_row(context, "compaction", actor).id,
            },
        ),
    )


@given(
    'the compaction of "{actor}" was set to end at sequence {sequence:d} behind the library\'s back'
)
def step_compaction_end_moved(context: Context, actor: str, sequence: int) -> None:
    _damage(
        context,
        (
            "UPDATE session_compactions SET through_sequence = :sequence WHERE id = :compaction",
            {"sequence": sequence, "compaction": _history_row(context, "compaction", actor).id},
        ),
    )


@given('the fork point of "{actor}" was set to {sequence:d} behind the library\'s back')
def step_fork_point_moved(context: Context, actor: str, sequence: int) -> None:
    _damage(
        context,
        (
            "UPDATE sessions SET forked_at_sequence = :sequence WHERE id = :session",
            {"sequence": sequence, "session": session_of(context, actor).id},
        ),
    )


@given('"{actor}" was made its own parent behind the library\'s back')
def step_own_parent(context: Context, actor: str) -> None:
    _damage(
        context,
        (
            "UPDATE sessions SET parent_session_id = id, forked_at_sequence = 0 "
            "WHERE id = :session",
            {"session": session_of(context, actor).id},
        ),
    )


@given('the "{actor}" messages numbered {sequences} were deleted behind the library\'s back')
def step_delete_messages(context: Context, actor: str, sequences: str) -> None:
    session_id = session_of(context, actor).id
    _damage(
        context,
        *(
            (
                "DELETE FROM session_messages WHERE session_id = :session AND sequence = :sequence",
                {"session": session_id, "sequence": sequence},
            )
            for sequence in parse_sequences(sequences)
        ),
    )


@given('the "{actor}" message numbered {sequence:d} read "{path}" twice')
def step_read_twice(context: Context, actor: str, sequence: int, path: str) -> None:
    session = session_of(context, actor)
    message = context.service.get_messages(session.id)[sequence - 1]
    for _ in range(2):
        context.service.record_file_event(session.id, message.id, "read", file_path=path)


@given('the file events of "{actor}" were moved to "{other}" behind the library\'s back')
def step_move_file_events(context: Context, actor: str, other: str) -> None:
    _damage(
        context,
        (
            "UPDATE session_file_events SET session_id = :other WHERE session_id = :session",
            {"other": session_of(context, other).id, "session": session_of(context, actor).id},
        ),
    )


@given('the message_count of "{actor}" was set to {count:d} behind the library\'s back')
def step_set_message_count(context: Context, actor: str, count: int) -> None:
    _damage(
        context,
        (
            "UPDATE sessions SET message_count = :count WHERE id = :session",
            {"count": count, "session": session_of(context, actor).id},
        ),
    )


@given(
    'the unique index on (session_id, sequence) was dropped and the "{actor}" message '
    "numbered {sequence:d} copied"
)
def step_duplicate_sequence(context: Context, actor: str, sequence: int) -> None:
    drop = "DROP INDEX ix_session_messages_session_id_sequence"
    statements: list[tuple[str, dict[str, Any]]] = []
    if context.backend == "mariadb":
        # The foreign key needs an index that starts with session_id: give it another first.
        statements.append(
            ("CREATE INDEX ix_verify_session_id ON session_messages (session_id)", {})
        )
        drop += " ON session_messages"
    statements.append((drop, {}))
    statements.append(
        (
            f"INSERT INTO session_messages (id, session_id, {_COPIED_COLUMNS}) "
            f"SELECT :copy, session_id, {_COPIED_COLUMNS} FROM session_messages "
            f"WHERE session_id = :session AND sequence = :sequence",
            {"copy": str(ULID()), "session": session_of(context, actor).id, "sequence": sequence},
        )
    )
    _damage(context, *statements)


@given(
    'with foreign keys off, the "{actor}" messages numbered {sequences} were copied to a '
    "session id that does not exist"
)
def step_orphan_messages(context: Context, actor: str, sequences: str) -> None:
    context.orphan_session_id = unknown_session_id()
    _damage(
        context,
        *(
            (
                f"INSERT INTO session_messages (id, session_id, {_COPIED_COLUMNS}) "
                f"SELECT :copy, :orphan, {_COPIED_COLUMNS} FROM session_messages "
                f"WHERE session_id = :session AND sequence = :sequence",
                {
                    "copy": str(ULID()),
                    "orphan": context.orphan_session_id,
                    "session": session_of(context, actor).id,
                    "sequence": sequence,
                },
            )
            for sequence in parse_sequences(sequences)
        ),
        relax=True,
    )


@given(
    'the session\'s metadata of "{actor}" was set to the JSON text "{value}" '
    "behind the library's back"
)
def step_session_metadata(context: Context, actor: str, value: str) -> None:
    _damage(
        context,
        (
            "UPDATE sessions SET metadata = :value WHERE id = :session",
            {"value": value, "session": session_of(context, actor).id},
        ),
        relax=True,
    )


def _overwrite_message_metadata(context: Context, actor: str, sequence: int, value: str) -> None:
    _remember_message_ids(context, actor)
    _damage(
        context,
        (
            "UPDATE session_messages SET metadata = :value "
            "WHERE session_id = :session AND sequence = :sequence",
            {"value": value, "session": session_of(context, actor).id, "sequence": sequence},
        ),
        relax=True,
    )


@given(
    'the metadata of message {sequence:d} of "{actor}" was set to the JSON text "{value}" '
    "behind the library's back"
)
def step_message_metadata(context: Context, sequence: int, actor: str, value: str) -> None:
    _overwrite_message_metadata(context, actor, sequence, value)


@when(
    'the metadata of the "{actor}" message numbered {sequence:d} is overwritten '
    'with the text "{value}"'
)
def step_message_metadata_not_json(context: Context, actor: str, sequence: int, value: str) -> None:
    try:
        _overwrite_message_metadata(context, actor, sequence, value)
    except DataError:
        context.json_kept = False
    else:
        context.json_kept = True
    # Only PostgreSQL's jsonb checks what it stores; the others keep JSON as text.
    assert context.json_kept == (context.backend != "postgresql"), context.backend
    context.report = context.service.verify()


# --- verifying --------------------------------------------------------------------------------


@when("I verify the store")
def step_verify_store(context: Context) -> None:
    context.report = context.service.verify()


@when('I verify only the session of "{actor}"')
def step_verify_session(context: Context, actor: str) -> None:
    context.report = context.service.verify(session_of(context, actor).id)


@when("I verify only the missing session")
def step_verify_missing_session(context: Context) -> None:
    context.report = context.service.verify(context.orphan_session_id)


@when('I try to verify the session "{value}"')
def step_try_verify(context: Context, value: str) -> None:
    attempt(context, lambda: context.service.verify(value))


@when("I try to verify a session id that names nothing")
def step_try_verify_unknown(context: Context) -> None:
    attempt(context, lambda: context.service.verify(unknown_session_id()))


@when('the command line names the session of "{actor}"')
def step_cli_names_session(context: Context, actor: str) -> None:
    context.cli_session_id = session_of(context, actor).id


# --- the report -------------------------------------------------------------------------------


@then("the report is clean, having checked {sessions:d} session and {messages:d} messages")
@then("the report is clean, having checked {sessions:d} sessions and {messages:d} messages")
def step_report_clean(context: Context, sessions: int, messages: int) -> None:
    report = context.report
    assert report.ok and report.problems == (), report.render()
    assert (report.sessions_checked, report.messages_checked) == (sessions, messages), report


def _assert_names(context: Context, kind: str, session_id: str, detail: str) -> None:
    expected = VerificationProblem(kind, session_id, _resolve(context, detail))
    assert not context.report.ok
    assert expected in context.report.problems, (
        f"expected {expected.render()}\ngot:\n{context.report.render()}"
    )


@then('the report names the {kind} of "{actor}": "{detail}"')
def step_report_names(context: Context, kind: str, actor: str, detail: str) -> None:
    _assert_names(context, kind, session_of(context, actor).id, detail)


@then('the report names the orphan_message of the missing session: "{detail}"')
def step_report_names_orphan(context: Context, detail: str) -> None:
    _assert_names(context, "orphan_message", context.orphan_session_id, detail)


@then('where the backend kept the text, the report names the {kind} of "{actor}": "{detail}"')
def step_report_names_where_kept(context: Context, kind: str, actor: str, detail: str) -> None:
    if context.json_kept:
        _assert_names(context, kind, session_of(context, actor).id, detail)
        assert len(context.report.problems) == 1, context.report.render()


@then("where the backend refused the text, the store still verifies clean")
def step_clean_where_refused(context: Context) -> None:
    if not context.json_kept:
        assert context.report.ok, context.report.render()


@then("the report holds {count:d} problem")
@then("the report holds {count:d} problems")
def step_report_holds(context: Context, count: int) -> None:
    assert len(context.report.problems) == count, context.report.render()


# --- the command line -------------------------------------------------------------------------


@then("the printed verification holds the lines:")
def step_printed_lines(context: Context) -> None:
    expected = [_resolve(context, row["line"]) for row in context.table]
    assert context.cli_stdout.splitlines() == expected, context.cli_stdout


@then('the verification printed is exactly "{text_}"')
def step_printed_exactly(context: Context, text_: str) -> None:
    assert context.cli_status == 0, (context.cli_status, context.cli_stderr)
    assert context.cli_stdout == _resolve(context, text_) + "\n", context.cli_stdout


@then("the JSON report is ok, having checked {sessions:d} session and {messages:d} messages")
def step_json_ok(context: Context, sessions: int, messages: int) -> None:
    assert context.json_report == {
        "ok": True,
        "session_id": None,
        "sessions_checked": sessions,
        "messages_checked": messages,
        "problems": [],
    }, context.json_report


@then('the JSON report is not ok and lists the {kind} of "{actor}"')
def step_json_problem(context: Context, kind: str, actor: str) -> None:
    report = context.json_report
    assert report["ok"] is False, report
    listed = [(item["kind"], item["session_id"]) for item in report["problems"]]
    assert listed == [(kind, session_of(context, actor).id)], report
    assert all(isinstance(item["detail"], str) and item["detail"] for item in report["problems"])
