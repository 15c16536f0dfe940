"""Checks of taking back the newest message (``pop_message``) and of token usage."""

from __future__ import annotations

from agent_sessions.domain.errors import InvalidInputError
from agent_sessions.domain.service import SessionService
from agent_sessions.testing.check import conformance_check
from agent_sessions.testing.checks.sessions import ACTOR
from agent_sessions.testing.expectations import (
    calling,
    expect,
    expect_equal,
    expect_raises,
    expect_unchanged,
    store_state,
)


@conformance_check
def pop_message_removes_newest(service: SessionService) -> None:
    """pop_message() removes and returns the newest message; message_count steps back, token totals stay, and the next append reuses its sequence."""  # noqa: E501
    session = service.create(ACTOR)
    appended = [
        service.append_message(session.id, "user", "question", token_count=2),
        service.append_message(session.id, "assistant", "first answer", metadata={"draft": 1}),
    ]
    service.update_token_usage(session.id, prompt_tokens=2, completion_tokens=3)
    before = service.get(session.id)
    popped = service.pop_message(session.id)
    expect_equal(popped, appended[1], "pop_message() result")
    after = service.get(session.id)
    expect_equal(after.message_count, 1, "message_count after pop_message()")
    expect_equal((after.prompt_tokens, after.completion_tokens), (2, 3), "token totals after a pop")
    expect(
        after.updated_at >= before.updated_at,
        f"updated_at moved backwards on pop_message(): {before.updated_at} -> {after.updated_at}",
    )
    expect_equal(service.get_messages(session.id), appended[:1], "messages after pop_message()")
    again = service.append_message(session.id, "assistant", "second answer")
    expect_equal(again.sequence, 2, "sequence of the append after a pop")
    expect(again.id != appended[1].id, "the append after a pop reused the popped message's id")
    expect_equal(
        [m.content for m in service.get_messages(session.id)],
        ["question", "second answer"],
        "contents after pop and append",
    )


@conformance_check
def pop_message_empty_session(service: SessionService) -> None:
    """pop_message() on a session without messages returns None and writes nothing, also once popped empty."""  # noqa: E501
    session = service.create(ACTOR)
    before = store_state(service)
    expect_equal(service.pop_message(session.id), None, "pop_message() of a new session")
    expect_unchanged(service, before, "pop_message() of a session without messages")
    service.append_message(session.id, "user", "only one")
    expect(service.pop_message(session.id) is not None, "pop_message() of 1 message gave None")
    emptied = store_state(service)
    expect_equal(service.pop_message(session.id), None, "pop_message() of a popped-empty session")
    expect_unchanged(service, emptied, "pop_message() of a popped-empty session")
    expect_equal(service.get(session.id).message_count, 0, "message_count when popped empty")


@conformance_check
def pop_message_takes_its_file_events(service: SessionService) -> None:
    """pop_message() deletes the popped message's file events and keeps the other messages' events."""  # noqa: E501
    session = service.create(ACTOR)
    first = service.append_message(session.id, "assistant", "read it")
    kept = service.record_file_event(session.id, first.id, "read", file_path="src/kept.py")
    second = service.append_message(session.id, "assistant", "edited it")
    service.record_file_event(session.id, second.id, "edit", file_path="src/gone.py")
    service.pop_message(session.id)
    expect_equal(service.list_file_events(session.id), [kept], "file events after pop_message()")
    expect_equal(
        [touch.file_path for touch in service.files_touched(session.id)],
        ["src/kept.py"],
        "files_touched() after pop_message()",
    )


@conformance_check
def token_usage_adds(service: SessionService) -> None:
    """update_token_usage() adds to the counters (never replaces them), returns the session as get() reads it, and moves updated_at forward."""  # noqa: E501
    session = service.create(ACTOR)
    service.append_message(session.id, "user", "hello")
    last = service.get(session.id)
    for prompt, completion, totals in ((3, 4, (3, 4)), (2, 0, (5, 4)), (0, 1, (5, 5))):
        updated = service.update_token_usage(
            session.id, prompt_tokens=prompt, completion_tokens=completion
        )
        expect_equal(
            (updated.prompt_tokens, updated.completion_tokens),
            totals,
            f"(prompt_tokens, completion_tokens) after adding ({prompt}, {completion})",
        )
        expect_equal(updated.total_tokens, sum(totals), "total_tokens")
        expect_equal(service.get(session.id), updated, "get() after update_token_usage()")
        expect(
            updated.updated_at >= last.updated_at,
            f"updated_at moved backwards: {last.updated_at} -> {updated.updated_at}",
        )
        expect_equal(updated.message_count, 1, "message_count after update_token_usage()")
        last = updated


@conformance_check
def token_usage_idempotency_key(service: SessionService) -> None:
    """update_token_usage() with an idempotency key already recorded adds nothing; the same key with other amounts raises InvalidInputError naming idempotency_key."""  # noqa: E501
    session = service.create(ACTOR)
    first = service.update_token_usage(
        session.id, prompt_tokens=2, completion_tokens=3, idempotency_key="turn-1"
    )
    repeat = service.update_token_usage(
        session.id, prompt_tokens=2, completion_tokens=3, idempotency_key="turn-1"
    )
    expect_equal(
        (repeat.prompt_tokens, repeat.completion_tokens), (2, 3), "totals after a repeated key"
    )
    expect_equal(repeat, first, "the session returned for a repeated key")
    before = store_state(service)
    expect_raises(
        InvalidInputError,
        lambda: service.update_token_usage(
            session.id, prompt_tokens=9, completion_tokens=9, idempotency_key="turn-1"
        ),
        "update_token_usage() repeating a key with other amounts",
        argument="idempotency_key",
    )
    for bad in ("", "   ", "k" * 256, 5):
        expect_raises(
            InvalidInputError,
            calling(service.update_token_usage, session.id, prompt_tokens=1, idempotency_key=bad),
            f"update_token_usage(idempotency_key={bad!r})",
            argument="idempotency_key",
        )
    expect_unchanged(service, before, "refused update_token_usage() calls")
    other = service.update_token_usage(session.id, prompt_tokens=1, idempotency_key="turn-2")
    expect_equal(other.prompt_tokens, 3, "prompt_tokens after another key")
