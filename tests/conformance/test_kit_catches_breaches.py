"""The kit fails a service that breaks the contract, and its report says which check and how.

Each broken service here is a small subclass of the library's own, as a team's customised
service would be, with one deliberate breach; the checks that see the breach must fail with a
message naming it, and the others must still pass.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC

import pytest

from agent_sessions import (
    AsyncPersistentSessionService,
    DatabaseError,
    InvalidInputError,
    PersistentSessionService,
    Rewind,
)
from agent_sessions.infrastructure.memory import InMemorySessionStore
from agent_sessions.testing import (
    ConformanceError,
    conformance_checks,
    run_conformance,
)
from tests.conformance.conftest import Store

pytestmark = pytest.mark.usefixtures("sqlite_run")

CHECKS = {check.name: check for check in conformance_checks()}


def _run(store: Store, cls: type, *names: str):
    """Run the named checks on services of ``cls`` (a PersistentSessionService subclass)."""
    return run_conformance(lambda: store.sync_service(cls), [CHECKS[name] for name in names])


def _run_in_memory(cls: type, *names: str):
    """Run the named checks on services of ``cls`` over in-memory stores."""
    checks = [CHECKS[name] for name in names]
    return run_conformance(lambda: cls(InMemorySessionStore()), checks)


def _message(report, name: str) -> str:
    return next(failure.message for failure in report.failures if failure.check == name)


class ReversedMessages(PersistentSessionService):
    """Returns get_messages() newest first."""

    def get_messages(self, session_id, **options):
        return super().get_messages(session_id, **options)[::-1]


class LosesCompletionTokens(PersistentSessionService):
    """Drops the completion tokens of every update."""

    def update_token_usage(self, session_id, *, prompt_tokens=0, completion_tokens=0, **options):
        return super().update_token_usage(session_id, prompt_tokens=prompt_tokens, **options)


def test_whole_kit_reports_the_checks_a_breach_fails(store: Store) -> None:
    report = run_conformance(lambda: store.sync_service(ReversedMessages))
    assert not report.ok
    assert {
        "append_message_sequences",
        "get_messages_pages",
        "concurrent_appends_are_gapless",
    } <= set(report.failed)
    assert {"create_session", "list_newest_first", "token_usage_adds"} <= set(report.passed)
    assert len(report.passed) + len(report.failures) == len(CHECKS)
    assert _message(report, "get_messages_pages").startswith(
        "get_messages(**{}) sequences: expected [1, 2, 3, 4, 5], got [5, 4, 3, 2, 1]"
    )
    # A long value is cut in the message rather than printed whole.
    assert "characters)" in _message(report, "concurrent_appends_are_gapless")
    text = report.render()
    assert text.endswith(
        f"{len(CHECKS)} conformance checks: {len(report.passed)} passed, "
        f"{len(report.failures)} failed"
    )
    assert "append_message_sequences: get_messages() after three appends: expected" in text
    with pytest.raises(ConformanceError, match="append_message_sequences") as raised:
        report.raise_on_failure()
    assert isinstance(raised.value, AssertionError)


def test_lost_token_usage_fails_the_token_checks(store: Store) -> None:
    report = _run(
        store,
        LosesCompletionTokens,
        "token_usage_adds",
        "concurrent_token_updates_add_up",
        "create_session",
    )
    assert report.failed == ("token_usage_adds", "concurrent_token_updates_add_up")
    assert report.passed == ("create_session",)
    assert _message(report, "token_usage_adds") == (
        "(prompt_tokens, completion_tokens) after adding (3, 4): expected (3, 4), got (3, 0)"
    )


def test_a_single_check_raises_what_pytest_reports(store: Store) -> None:
    with pytest.raises(ConformanceError, match=r"expected \(3, 4\), got \(3, 0\)"):
        CHECKS["token_usage_adds"].run(lambda: store.sync_service(LosesCompletionTokens))


class WrongErrorForUnknownIds(PersistentSessionService):
    """Raises KeyError instead of SessionNotFoundError."""

    def get(self, session_id):
        if session_id == session_id.upper() and session_id.startswith("0000000000"):
            raise KeyError(session_id)
        return super().get(session_id)


class AcceptsAnyRole(PersistentSessionService):
    """Stores an unknown role as a user message instead of refusing it."""

    def append_message(self, session_id, role, content, **options):
        known = role in {"system", "user", "assistant", "tool"}
        return super().append_message(session_id, role if known else "user", content, **options)


class NamesTheWrongArgument(PersistentSessionService):
    """Calls recent_messages()' n a limit in its errors."""

    def recent_messages(self, session_id, n):
        if not isinstance(n, int) or not 1 <= n <= 100_000:
            raise InvalidInputError("limit", "out of range")
        return super().recent_messages(session_id, n)


def test_wrong_missing_and_misnamed_errors_are_reported(store: Store) -> None:
    unknown = _run(store, WrongErrorForUnknownIds, "unknown_session_raises_not_found")
    assert re.fullmatch(
        r"get\(an unknown session id\) raised KeyError: '0{10}\w{16}', "
        r"expected SessionNotFoundError",
        _message(unknown, "unknown_session_raises_not_found"),
    )
    accepted = _run(store, AcceptsAnyRole, "invalid_role_rejected")
    assert _message(accepted, "invalid_role_rejected").startswith(
        "append_message(role='robot') returned SessionMessage("
    )
    assert _message(accepted, "invalid_role_rejected").endswith(
        "expected it to raise InvalidInputError"
    )
    misnamed = _run(store, NamesTheWrongArgument, "recent_messages_last_n")
    assert _message(misnamed, "recent_messages_last_n") == (
        "recent_messages(0) raised InvalidInputError naming the argument 'limit', expected 'n': "
        "invalid limit: out of range"
    )


class WritesHalfABatch(PersistentSessionService):
    """Appends the good messages of a batch before refusing the bad one."""

    def append_messages(self, session_id, messages):
        if isinstance(messages, list) and len(messages) == 3:
            self.append_message(session_id, "user", "half of a refused batch")
        return super().append_messages(session_id, messages)


class CreatesBeforeChecking(PersistentSessionService):
    """Stores a session before it checks the metadata."""

    def create(self, actor_name, *, metadata=None, **options):
        if isinstance(actor_name, str) and not isinstance(metadata, dict | None):
            super().create(actor_name, **options)
        return super().create(actor_name, metadata=metadata, **options)


def test_writes_before_a_refusal_are_reported(store: Store) -> None:
    half = _run(store, WritesHalfABatch, "append_messages_all_or_nothing")
    assert re.match(
        r"append_messages\(\) with a bad item must write nothing, but the store changed: "
        r"session \w{26} was \(Session\(",
        _message(half, "append_messages_all_or_nothing"),
    )
    created = _run(store, CreatesBeforeChecking, "invalid_metadata_rejected")
    assert re.match(
        r"calls with a bad metadata must write nothing, but the store changed: "
        r"sessions \[\] went and \['\w{26}'(, '\w{26}')+\] came",
        _message(created, "invalid_metadata_rejected"),
    )


class IgnoresExpectedSequence(PersistentSessionService):
    """Appends wherever the session ends, whatever expected_sequence says."""

    def append_message(self, session_id, role, content, *, expected_sequence=None, **options):
        return super().append_message(session_id, role, content, **options)

    def append_messages(self, session_id, messages, *, expected_sequence=None):
        return super().append_messages(session_id, messages)


def test_appends_that_ignore_expected_sequence_are_reported(store: Store) -> None:
    report = _run(
        store,
        IgnoresExpectedSequence,
        "expected_sequence_guards_appends",
        "racing_expected_sequences_one_wins",
        "append_message_sequences",
    )
    assert report.failed == (
        "expected_sequence_guards_appends",
        "racing_expected_sequences_one_wins",
    )
    assert report.passed == ("append_message_sequences",)
    assert _message(report, "expected_sequence_guards_appends").startswith(
        "append_message(expected_sequence=0) returned SessionMessage("
    )
    assert _message(report, "racing_expected_sequences_one_wins").startswith(
        "exactly one of 8 racing appends must win, got [["
    )


class NaiveTimes(PersistentSessionService):
    """Returns sessions whose datetimes have lost their time zone."""

    def create(self, actor_name, **options):
        session = super().create(actor_name, **options)
        naive = session.created_at.astimezone(UTC).replace(tzinfo=None)
        return dataclasses.replace(session, created_at=naive, updated_at=naive)


class DatabaseDownForUsage(PersistentSessionService):
    """Fails every token update."""

    def update_token_usage(self, session_id, **options):
        raise DatabaseError("the database is down")


def test_naive_datetimes_and_failing_concurrent_calls_are_reported(store: Store) -> None:
    report = _run(store, NaiveTimes, "create_session")
    assert _message(report, "create_session").startswith(
        "create().created_at must be a timezone-aware UTC datetime, got datetime.datetime("
    )
    down = _run(store, DatabaseDownForUsage, "concurrent_token_updates_add_up")
    assert _message(down, "concurrent_token_updates_add_up") == (
        "8 of 8 concurrent calls failed, the first with DatabaseError: the database is down"
    )
    assert isinstance(down.failures[0].error.__cause__, DatabaseError)


class CrashesOnFilesTouched(PersistentSessionService):
    """Has a bug that raises an unexpected error."""

    def files_touched(self, session_id):
        raise ZeroDivisionError("division by zero")


def test_unexpected_errors_are_reported_and_propagate_from_run(store: Store) -> None:
    report = _run(store, CrashesOnFilesTouched, "files_touched_counts")
    assert report.failures[0].message == ("raised ZeroDivisionError unexpectedly: division by zero")
    assert isinstance(report.failures[0].error, ZeroDivisionError)
    with pytest.raises(ZeroDivisionError):
        CHECKS["files_touched_counts"].run(lambda: store.sync_service(CrashesOnFilesTouched))


class SwallowsErrors(PersistentSessionService):
    """Swallows any error raised in its ``with`` block."""

    def __exit__(self, *exc_info):
        self.close()
        return True


class EntersAnotherObject(PersistentSessionService):
    """Gives ``with ... as`` something else than itself."""

    def __enter__(self):
        return object()


class AsyncSwallowsErrors(AsyncPersistentSessionService):
    """Swallows any error raised in its ``async with`` block."""

    async def __aexit__(self, *exc_info):
        await self.close()
        return True


def test_context_manager_breaches_are_reported(store: Store) -> None:
    swallowing = _run(store, SwallowsErrors, "context_manager_closes")
    assert _message(swallowing, "context_manager_closes") == (
        "leaving the `with` block swallowed the error raised in it"
    )
    other = _run(store, EntersAnotherObject, "context_manager_closes")
    assert re.fullmatch(
        r"the context manager gave <object object at \w+>, not the service",
        _message(other, "context_manager_closes"),
    )
    async_report = run_conformance(
        lambda: store.async_service(AsyncSwallowsErrors), [CHECKS["context_manager_closes"]]
    )
    assert _message(async_report, "context_manager_closes") == (
        "leaving the `async with` block swallowed the error raised in it"
    )


def test_a_passing_report_raises_nothing(store: Store) -> None:
    report = _run(store, PersistentSessionService, "create_session", "list_pages_by_offset")
    assert report.ok
    assert report.failed == ()
    assert report.render() == "2 conformance checks: 2 passed, 0 failed"
    assert report.raise_on_failure() is None


class DeletesOnRewind(PersistentSessionService):
    """Rewinds by popping the messages after the point: they are gone from the transcript."""

    def rewind(self, session_id, to_sequence, *, reason=None):
        session = self.get(session_id)
        while self.get(session_id).message_count > to_sequence:
            self.pop_message(session_id)
        after = self.get(session_id)
        return Rewind(
            self._new_id(), after.id, to_sequence, session.message_count, reason, after.updated_at
        )


class SendsEverythingAsContext(PersistentSessionService):
    """Ignores compactions: context_messages() sends the whole visible history."""

    def context_messages(self, session_id, *, limit=None, summary_role="system"):
        if limit is None:
            return self.get_messages(session_id)
        return self.recent_messages(session_id, limit)


def test_a_rewind_that_deletes_and_a_context_without_summary_are_reported() -> None:
    deleting = _run_in_memory(
        DeletesOnRewind,
        "rewind_hides_without_deleting",
        "undo_rewind_while_nothing_appended",
        "fork_skips_rewound_messages",
        "compaction_sends_summary_then_window",
    )
    assert deleting.failed == (
        "rewind_hides_without_deleting",
        "undo_rewind_while_nothing_appended",
        "fork_skips_rewound_messages",
    )
    assert _message(deleting, "rewind_hides_without_deleting") == (
        "message_count after rewind(2) of 5 messages: expected 5, got 2"
    )
    assert _message(deleting, "fork_skips_rewound_messages") == (
        "visible sequences after rewind(2), append: expected [1, 2, 6], got [1, 2, 3]"
    )
    summaries = _run_in_memory(
        SendsEverythingAsContext,
        "compaction_sends_summary_then_window",
        "rewind_hides_without_deleting",
    )
    assert summaries.failed == ("compaction_sends_summary_then_window",)
    assert _message(summaries, "compaction_sends_summary_then_window").startswith(
        "context_messages(): expected [SessionMessage(id="
    )
