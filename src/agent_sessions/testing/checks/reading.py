"""Checks of batches of messages and of reading messages back: pages, the last n, iteration."""

from __future__ import annotations

from typing import Any

from agent_sessions.domain.entities import MessageRole, NewMessage, SessionMessage
from agent_sessions.domain.errors import InvalidInputError, SessionNotFoundError
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
    unknown_id,
)


def _sequences(messages: list[SessionMessage]) -> list[int]:
    return [message.sequence for message in messages]


def _read_all(service: SessionService, session_id: str, batch_size: int) -> list[SessionMessage]:
    return list(service.iter_messages(session_id, batch_size=batch_size))


def _session_with(service: SessionService, count: int) -> str:
    session = service.create(ACTOR)
    for number in range(1, count + 1):
        service.append_message(session.id, "user", f"message {number}")
    return session.id


@conformance_check
def append_messages_batch(service: SessionService) -> None:
    """append_messages() stores NewMessage objects and mappings at consecutive sequences after the last one, with one created_at, and counts them; an empty batch returns [] and writes nothing."""  # noqa: E501
    session = service.create(ACTOR)
    service.append_message(session.id, "system", "Be brief.")
    batch: list[NewMessage | dict[str, Any]] = [
        NewMessage("user", "Summarise the logs."),
        {"role": "tool", "content": "line 1", "metadata": {"n": 1}, "token_count": 3},
        NewMessage(MessageRole.ASSISTANT, "All green.", token_count=4),
    ]
    stored = service.append_messages(session.id, batch)
    expect_equal(_sequences(stored), [2, 3, 4], "append_messages() sequences after one message")
    expect_equal(
        [(m.role, m.content, m.metadata, m.token_count) for m in stored],
        [
            (MessageRole.USER, "Summarise the logs.", {}, None),
            (MessageRole.TOOL, "line 1", {"n": 1}, 3),
            (MessageRole.ASSISTANT, "All green.", {}, 4),
        ],
        "append_messages() (role, content, metadata, token_count)",
    )
    expect(
        len({message.created_at for message in stored}) == 1,
        f"a batch has one created_at, got {[m.created_at for m in stored]}",
    )
    after = service.get(session.id)
    expect_equal(after.message_count, 4, "message_count after a batch of 3")
    expect(
        after.updated_at >= stored[0].created_at,
        f"updated_at must move to the batch's time {stored[0].created_at}, got {after.updated_at}",
    )
    expect_equal(service.get_messages(session.id)[1:], stored, "get_messages() after the batch")
    before = store_state(service)
    expect_equal(service.append_messages(session.id, []), [], "append_messages([])")
    expect_equal(service.append_messages(session.id, ()), [], "append_messages(())")
    expect_unchanged(service, before, "append_messages() of an empty batch")


@conformance_check
def append_messages_all_or_nothing(service: SessionService) -> None:
    """append_messages() with one bad item raises InvalidInputError naming it (messages[i].field, messages[i] or messages) and writes none of the batch."""  # noqa: E501
    session_id = _session_with(service, 1)
    good = NewMessage("user", "fine")
    cases: list[tuple[str, object]] = [
        ("messages[2].role", [good, good, {"role": "robot", "content": "x"}]),
        ("messages[1].content", [good, NewMessage("user", "a\x00b")]),
        ("messages[1].metadata", [good, {"role": "user", "content": "x", "metadata": [1]}]),
        ("messages[0].token_count", [NewMessage("user", "x", token_count=-1), good]),
        ("messages[1]", [good, {"role": "user"}]),
        ("messages[1]", [good, {"role": "user", "content": "x", "colour": "red"}]),
        ("messages[1]", [good, 42]),
        ("messages", (message for message in [good])),
        ("messages", "not a list"),
    ]
    before = store_state(service)
    for argument, messages in cases:
        expect_raises(
            InvalidInputError,
            calling(service.append_messages, session_id, messages),
            f"append_messages({messages!r})",
            argument=argument,
        )
    expect_unchanged(service, before, "append_messages() with a bad item")


@conformance_check
def get_messages_pages(service: SessionService) -> None:
    """get_messages(limit, offset) returns a slice of the messages in ascending sequence; it refuses a limit outside 1 to 100000 and a negative offset."""  # noqa: E501
    session_id = _session_with(service, 5)
    pages: tuple[tuple[dict[str, Any], list[int]], ...] = (
        ({}, [1, 2, 3, 4, 5]),
        ({"limit": 2}, [1, 2]),
        ({"limit": 2, "offset": 2}, [3, 4]),
        ({"offset": 4}, [5]),
        ({"limit": 10, "offset": 1}, [2, 3, 4, 5]),
        ({"offset": 5}, []),
    )
    for arguments, expected in pages:
        got = service.get_messages(session_id, **arguments)
        expect_equal(_sequences(got), expected, f"get_messages(**{arguments!r}) sequences")
    empty = service.create(ACTOR)
    expect_equal(service.get_messages(empty.id), [], "get_messages() of a session without any")
    for argument, bad in (
        ("limit", {"limit": 0}),
        ("limit", {"limit": 100_001}),
        ("limit", {"limit": "2"}),
        ("offset", {"offset": -1}),
    ):
        expect_raises(
            InvalidInputError,
            calling(service.get_messages, session_id, **bad),
            f"get_messages(**{bad!r})",
            argument=argument,
        )


@conformance_check
def recent_messages_last_n(service: SessionService) -> None:
    """recent_messages(n) returns the last n messages in ascending sequence (all when fewer); n outside 1 to 100000 raises InvalidInputError naming n."""  # noqa: E501
    session_id = _session_with(service, 5)
    expect_equal(_sequences(service.recent_messages(session_id, 2)), [4, 5], "recent_messages(2)")
    expect_equal(
        service.recent_messages(session_id, 10),
        service.get_messages(session_id),
        "recent_messages(10) of 5 messages",
    )
    empty = service.create(ACTOR)
    expect_equal(service.recent_messages(empty.id, 3), [], "recent_messages() of no messages")
    for bad in (0, -1, 100_001, "2"):
        expect_raises(
            InvalidInputError,
            calling(service.recent_messages, session_id, bad),
            f"recent_messages({bad!r})",
            argument="n",
        )


def session_of_roles(service: SessionService, roles: str) -> str:
    """Create a session whose messages have these roles, one letter each (s, u, a, t)."""
    names = {"s": "system", "u": "user", "a": "assistant", "t": "tool"}
    session = service.create(ACTOR)
    batch = [NewMessage(names[letter], f"{names[letter]} {n}") for n, letter in enumerate(roles)]
    service.append_messages(session.id, batch)
    return session.id


@conformance_check
def recent_messages_reach_back_past_tool_results(service: SessionService) -> None:
    """recent_messages(n) never starts on a tool message: it reaches back to the nearest earlier message of another role, so it may return more than n; it returns exactly n when the n-th newest is not a tool result, and from the first message when only tool results precede the cut."""  # noqa: E501
    session_id = session_of_roles(service, "uat" + "t" * 40 + "a")
    window = service.recent_messages(session_id, 2)
    expect_equal(
        [(m.sequence, m.role) for m in window[:2]],
        [(2, MessageRole.ASSISTANT), (3, MessageRole.TOOL)],
        "recent_messages(2) whose oldest would be a tool result: its first two",
    )
    expect_equal(window, service.get_messages(session_id)[1:], "recent_messages(2) grown back")
    expect_equal(_sequences(service.recent_messages(session_id, 1)), [44], "recent_messages(1)")
    expect_equal(
        _sequences(service.recent_messages(session_id, 43)),
        list(range(2, 45)),
        "recent_messages(43) starting on the assistant message",
    )
    orphans = session_of_roles(service, "tttta")
    expect_equal(
        service.recent_messages(orphans, 3),
        service.get_messages(orphans),
        "recent_messages(3) of a session that starts with tool results",
    )
    only_tools = session_of_roles(service, "t" * 3)
    expect_equal(
        _sequences(service.recent_messages(only_tools, 1)),
        [1, 2, 3],
        "recent_messages(1) of a session of tool results only",
    )


@conformance_check
def iter_messages_in_batches(service: SessionService) -> None:
    """iter_messages(batch_size) yields every message in ascending sequence; an unknown session raises SessionNotFoundError at the call, a batch_size outside 1 to 100000 InvalidInputError."""  # noqa: E501
    session_id = _session_with(service, 5)
    expected = service.get_messages(session_id)
    for batch_size in (1, 2, 5, 1000):
        got = list(service.iter_messages(session_id, batch_size=batch_size))
        expect_equal(got, expected, f"iter_messages(batch_size={batch_size})")
    expect_raises(
        SessionNotFoundError,
        lambda: service.iter_messages(unknown_id()),
        "iter_messages(an unknown id), at the call before any next()",
    )
    for bad in (0, 100_001, "2"):
        expect_raises(
            InvalidInputError,
            calling(_read_all, service, session_id, batch_size=bad),
            f"iter_messages(batch_size={bad!r})",
            argument="batch_size",
        )


@conformance_check
def iter_messages_sees_later_appends(service: SessionService) -> None:
    """iter_messages() also yields messages appended while it runs, after the last batch it read."""
    session_id = _session_with(service, 3)
    iterator = service.iter_messages(session_id, batch_size=2)
    first = next(iterator)
    service.append_message(session_id, "user", "message 4")
    expect_equal(
        [first.sequence, *(message.sequence for message in iterator)],
        [1, 2, 3, 4],
        "sequences yielded when message 4 is appended after the first batch",
    )
