"""What a user reads: the errors' messages and fields, the verification report, list cursors.

Errors name what went wrong and carry it as attributes; a report's summary counts in words;
a list cursor is opaque, round-trips its key exactly and refuses anything list() did not make.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from agent_sessions import (
    ExternalIdConflictError,
    InvalidInputError,
    MigrationHistoryError,
    SchemaDriftError,
    SchemaMismatchError,
    Session,
    SessionNotFoundError,
    UnsupportedSchemaVersionError,
    VerificationProblem,
    VerificationReport,
)
from agent_sessions.domain.pagination import decode_cursor, encode_cursor

SESSION_ID = "01J0000000000000000000000A"
URL = "sqlite:///work.db"


def test_errors_carry_what_they_name() -> None:
    missing = SessionNotFoundError(SESSION_ID)
    assert missing.session_id == SESSION_ID
    assert str(missing) == f"session '{SESSION_ID}' does not exist"

    conflict = ExternalIdConflictError("bot", "ticket-7", SESSION_ID)
    assert (conflict.actor_name, conflict.external_id, conflict.session_id) == (
        "bot",
        "ticket-7",
        SESSION_ID,
    )
    assert conflict.argument == "external_id"
    assert str(conflict) == (
        f"invalid external_id: 'ticket-7' already names session {SESSION_ID} of actor 'bot'"
    )

    unsupported = UnsupportedSchemaVersionError(9, (1, 2))
    assert (unsupported.found, unsupported.supported) == (9, (1, 2))
    assert str(unsupported) == (
        "export schema_version 9 is not supported; this version of agent-sessions reads "
        "schema_version 1, 2"
    )

    drift = SchemaDriftError("the schema drifted", ("add_index ix",))
    assert (str(drift), drift.problems) == ("the schema drifted", ("add_index ix",))
    assert SchemaDriftError("plain").problems == ()

    history = MigrationHistoryError("edited", revision="abc123")
    assert (str(history), history.revision) == ("edited", "abc123")
    assert MigrationHistoryError("edited").revision is None


def test_a_database_behind_the_code_says_how_to_upgrade() -> None:
    behind = SchemaMismatchError("0001", "0005", URL)
    assert (behind.current, behind.expected, behind.newer) == ("0001", "0005", False)
    assert str(behind) == (
        f"database {URL} is at schema revision 0001, but this version of agent-sessions needs "
        f"revision 0005; run `agent-sessions db upgrade` (with --url '{URL}' or "
        f"AGENT_SESSIONS_URL set to it), or open it with migrate=True"
    )
    never = SchemaMismatchError(None, "0005", URL)
    assert "at schema revision none (the database has never been migrated)" in str(never)


def test_a_database_ahead_of_the_code_says_to_upgrade_the_library() -> None:
    ahead = SchemaMismatchError("0009", "0005", URL, newer=True)
    assert ahead.newer is True
    assert str(ahead) == (
        f"database {URL} is at schema revision 0009, which this version of agent-sessions "
        f"does not know (it needs 0005): a newer release wrote it; upgrade the library "
        f"(pip install -U agent-sessions)"
    )


def test_a_report_counts_in_words() -> None:
    clean = VerificationReport(sessions_checked=1, messages_checked=1)
    assert clean.ok is True
    assert clean.summary() == "checked 1 session and 1 message: no problems"
    assert clean.render() == clean.summary()

    problems = (
        VerificationProblem("sequence_gap", SESSION_ID, "sequence 3 is missing"),
        VerificationProblem("message_count_mismatch", SESSION_ID, "count is 4, rows are 3"),
    )
    broken = VerificationReport(2, 0, problems, session_id=SESSION_ID)
    assert broken.ok is False
    assert broken.summary() == (
        f"checked 2 sessions and 0 messages of session {SESSION_ID}: 2 problems"
    )
    assert broken.render().splitlines() == [
        f"sequence_gap: session {SESSION_ID}: sequence 3 is missing",
        f"message_count_mismatch: session {SESSION_ID}: count is 4, rows are 3",
        broken.summary(),
    ]
    one = VerificationReport(5, 12, problems[:1])
    assert one.summary() == "checked 5 sessions and 12 messages: 1 problem"


def test_a_report_as_a_dict() -> None:
    problem = VerificationProblem("sequence_gap", SESSION_ID, "sequence 3 is missing")
    report = VerificationReport(3, 7, (problem,), session_id=None)
    assert report.to_dict() == {
        "ok": False,
        "session_id": None,
        "sessions_checked": 3,
        "messages_checked": 7,
        "problems": [
            {"kind": "sequence_gap", "session_id": SESSION_ID, "detail": "sequence 3 is missing"}
        ],
    }
    assert VerificationReport(0, 0, session_id=SESSION_ID).to_dict()["ok"] is True


def _session(created_at: datetime, session_id: str = SESSION_ID) -> Session:
    return Session(
        id=session_id,
        actor_name="bot",
        title=None,
        metadata={},
        prompt_tokens=0,
        completion_tokens=0,
        message_count=0,
        created_at=created_at,
        updated_at=created_at,
    )


def test_a_cursor_names_its_session_exactly_in_utc() -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=timezone(timedelta(hours=2)))
    cursor = encode_cursor(_session(moment))
    assert "=" not in cursor and cursor.isascii()
    created_at, session_id = decode_cursor(cursor)
    assert created_at == moment
    assert created_at.tzinfo == UTC
    assert session_id == SESSION_ID


def test_a_cursor_in_lower_case_ids_reads_as_the_canonical_id() -> None:
    key = f"2026-01-01T00:00:00+00:00|{SESSION_ID.lower()}"
    cursor = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    assert decode_cursor(cursor) == (datetime(2026, 1, 1, tzinfo=UTC), SESSION_ID)


def _cursor_of(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x" * 201,
        "é" * 10,
        "not base64 at all!",
        _cursor_of("2026-01-01T00:00:00|" + SESSION_ID),  # a time without its zone
        _cursor_of("yesterday|" + SESSION_ID),
        _cursor_of("2026-01-01T00:00:00+00:00|not-an-id"),
        _cursor_of("2026-01-01T00:00:00+00:00"),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_anything_list_did_not_make_is_refused_as_after(value: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        decode_cursor(value)
    assert raised.value.argument == "after"
    assert raised.value.reason.endswith("is not a cursor returned by list()")


def test_a_refused_cursor_is_shown_in_the_error() -> None:
    with pytest.raises(InvalidInputError) as raised:
        decode_cursor("<b>no</b>")
    assert raised.value.reason == "'<b>no</b>' is not a cursor returned by list()"


def test_a_cursor_that_is_not_text_is_named_by_its_type() -> None:
    with pytest.raises(InvalidInputError) as raised:
        decode_cursor(42)
    assert (raised.value.argument, raised.value.reason) == (
        "after",
        "must be a cursor string, got int",
    )
