"""Checks of integrity under load and at rest: concurrent writers, ``verify()``, closing."""

from __future__ import annotations

from agent_sessions.domain.async_service import AsyncSessionService
from agent_sessions.domain.entities import NewMessage
from agent_sessions.domain.errors import SessionNotFoundError
from agent_sessions.domain.service import SessionService
from agent_sessions.testing.bridge import BlockingAsyncService
from agent_sessions.testing.check import conformance_check
from agent_sessions.testing.checks.sessions import ACTOR
from agent_sessions.testing.expectations import (
    expect,
    expect_equal,
    expect_raises,
    fail,
    in_threads,
    unknown_id,
)

THREADS = 8
APPENDS_PER_THREAD = 10


@conformance_check
def concurrent_appends_are_gapless(service: SessionService) -> None:
    """append_message() from 8 threads at once to one session gives the sequences 1..80, each once, each thread's in the order it appended."""  # noqa: E501
    session = service.create(ACTOR)

    def append(thread: int) -> list[int]:
        return [
            service.append_message(session.id, "user", f"thread {thread} message {n}").sequence
            for n in range(APPENDS_PER_THREAD)
        ]

    sequences = in_threads(THREADS, append)
    total = THREADS * APPENDS_PER_THREAD
    every = sorted(sequence for mine in sequences for sequence in mine)
    expect_equal(every, list(range(1, total + 1)), "sequences given to concurrent appends")
    for thread, mine in enumerate(sequences):
        expect(mine == sorted(mine), f"thread {thread} got its sequences out of order: {mine}")
    stored = service.get_messages(session.id)
    expect_equal([m.sequence for m in stored], every, "stored sequences")
    expect_equal(service.get(session.id).message_count, total, "message_count")


@conformance_check
def concurrent_batches_stay_whole(service: SessionService) -> None:
    """append_messages() batches from 4 threads at once each get consecutive sequences: no other message lands inside a batch."""  # noqa: E501
    session = service.create(ACTOR)

    def append(thread: int) -> list[int]:
        batch = [NewMessage("user", f"thread {thread} item {n}") for n in range(5)]
        return [m.sequence for m in service.append_messages(session.id, batch)]

    batches = in_threads(4, append)
    for thread, sequences in enumerate(batches):
        expect_equal(
            sequences,
            list(range(sequences[0], sequences[0] + 5)),
            f"thread {thread}'s batch sequences",
        )
    expect_equal(sorted(s for batch in batches for s in batch), list(range(1, 21)), "all sequences")
    for message in service.get_messages(session.id):
        thread = int(message.content.split()[1])
        expect(
            message.sequence in batches[thread],
            f"message {message.content!r} stored at sequence {message.sequence}, "
            f"outside its batch {batches[thread]}",
        )


@conformance_check
def concurrent_token_updates_add_up(service: SessionService) -> None:
    """update_token_usage() from 8 threads at once loses no increment."""
    session = service.create(ACTOR)

    def add(_: int) -> None:
        for _ in range(5):
            service.update_token_usage(session.id, prompt_tokens=1, completion_tokens=2)

    in_threads(THREADS, add)
    after = service.get(session.id)
    expect_equal(
        (after.prompt_tokens, after.completion_tokens),
        (THREADS * 5, THREADS * 10),
        "token totals after 40 concurrent additions of (1, 2)",
    )


@conformance_check
def verify_reports_a_healthy_store(service: SessionService) -> None:
    """verify() of a store written through the service reports no problem, with the sessions and messages it checked, for the whole store or one session."""  # noqa: E501
    sessions = [service.create(ACTOR) for _ in range(2)]
    for session in sessions:
        service.append_messages(
            session.id, [NewMessage("user", "hi", token_count=2), NewMessage("assistant", "yo")]
        )
        service.update_token_usage(session.id, prompt_tokens=2)
    service.pop_message(sessions[0].id)
    whole = service.verify()
    expect(whole.ok, f"verify() of a healthy store found problems:\n{whole.render()}")
    expect_equal(
        (whole.sessions_checked, whole.messages_checked, whole.session_id),
        (2, 3, None),
        "verify() (sessions_checked, messages_checked, session_id)",
    )
    one = service.verify(sessions[1].id)
    expect(one.ok, f"verify(id) of a healthy session found problems:\n{one.render()}")
    expect_equal(
        (one.sessions_checked, one.messages_checked, one.session_id),
        (1, 2, sessions[1].id),
        "verify(id) (sessions_checked, messages_checked, session_id)",
    )
    expect_raises(SessionNotFoundError, lambda: service.verify(unknown_id()), "verify(unknown)")


@conformance_check
def verify_finds_tokens_below_messages(service: SessionService) -> None:
    """verify() reports tokens_below_messages for a session whose messages record more tokens than its totals, until the usage is recorded."""  # noqa: E501
    session = service.create(ACTOR)
    service.append_message(session.id, "assistant", "answer", token_count=10)
    report = service.verify(session.id)
    expect_equal(
        [(problem.kind, problem.session_id) for problem in report.problems],
        [("tokens_below_messages", session.id)],
        "verify() problems of 10 message tokens and no usage",
    )
    expect(not report.ok, "verify().ok must be False when a problem is reported")
    service.update_token_usage(session.id, completion_tokens=10)
    expect(service.verify(session.id).ok, "verify() after the usage is recorded found problems")


class _CloseProbeError(Exception):
    """Raised inside a ``with`` block to see that leaving it closes and does not swallow."""


_SWALLOWED = "leaving the `{}` block swallowed the error raised in it"


def _leave_with_error(manager: SessionService) -> object:
    """Enter ``manager``, raise inside the block, and return what ``with ... as`` gave."""
    try:
        with manager as entered:
            raise _CloseProbeError
    except _CloseProbeError:
        return entered
    fail(_SWALLOWED.format("with"))


async def _leave_async_with_error(manager: AsyncSessionService) -> object:
    """Enter ``manager`` with ``async with``, raise inside the block, return what it gave."""
    try:
        async with manager as entered:
            raise _CloseProbeError
    except _CloseProbeError:
        return entered
    fail(_SWALLOWED.format("async with"))


@conformance_check
def context_manager_closes(service: SessionService) -> None:
    """`with service as s` (`async with` for an async service) gives the service itself and closes it once on leaving the block, even when the block raises, without swallowing the error."""  # noqa: E501
    closes: list[str] = []
    target: SessionService | AsyncSessionService
    if isinstance(service, BlockingAsyncService):
        target = service.async_service

        async def record_async_close() -> None:
            closes.append("close")

        target.close = record_async_close  # type: ignore[method-assign]
        try:
            entered = service.run(_leave_async_with_error(target))
        finally:
            del target.close
    else:
        target = service
        target.close = lambda: closes.append("close")  # type: ignore[method-assign]
        try:
            entered = _leave_with_error(target)
        finally:
            del target.close
    expect(entered is target, f"the context manager gave {entered!r}, not the service")
    expect_equal(len(closes), 1, "close() calls on leaving the block")
