"""Checks of appending messages one at a time, optimistically, and of the arguments refused."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from agent_sessions.domain.entities import MessageRole, NewMessage
from agent_sessions.domain.errors import (
    InvalidInputError,
    SequenceConflictError,
    SessionNotFoundError,
)
from agent_sessions.domain.service import SessionService
from agent_sessions.testing.check import conformance_check
from agent_sessions.testing.checks.sessions import ACTOR, ULID
from agent_sessions.testing.expectations import (
    calling,
    expect,
    expect_equal,
    expect_raises,
    expect_unchanged,
    expect_utc,
    in_threads,
    store_state,
    unknown_id,
)

RACERS = 8
"""How many threads race to append at one expected sequence."""


def _refused(
    service: SessionService,
    argument: str,
    calls: dict[str, Callable[[], object]],
) -> None:
    """Expect every call to raise InvalidInputError naming ``argument``, and to write nothing."""
    before = store_state(service)
    for what, call in calls.items():
        error = expect_raises(InvalidInputError, call, what, argument=argument)
        expect(isinstance(error, ValueError), f"{what}: InvalidInputError must be a ValueError")
    expect_unchanged(service, before, f"calls with a bad {argument}")


@conformance_check
def append_message_sequences(service: SessionService) -> None:
    """append_message() stores each message at the next sequence, 1, 2, 3, and returns it as get_messages() reads it back."""  # noqa: E501
    session = service.create(ACTOR)
    appended = [
        service.append_message(session.id, "system", "Be brief."),
        service.append_message(
            session.id, MessageRole.USER, "Hi", metadata={"lang": "en"}, token_count=1
        ),
        service.append_message(session.id, "assistant", "", token_count=0),
    ]
    expect_equal([m.sequence for m in appended], [1, 2, 3], "sequences of three appends")
    expect_equal(
        [(m.session_id, m.role, m.content, m.metadata, m.token_count) for m in appended],
        [
            (session.id, MessageRole.SYSTEM, "Be brief.", {}, None),
            (session.id, MessageRole.USER, "Hi", {"lang": "en"}, 1),
            (session.id, MessageRole.ASSISTANT, "", {}, 0),
        ],
        "appended (session_id, role, content, metadata, token_count)",
    )
    expect(
        all(ULID.fullmatch(m.id) for m in appended) and len({m.id for m in appended}) == 3,
        f"message ids must be distinct ULIDs, got {[m.id for m in appended]}",
    )
    for message in appended:
        expect_utc(message.created_at, f"message {message.sequence} created_at")
    expect(
        appended[0].created_at <= appended[1].created_at <= appended[2].created_at,
        "a message's created_at must never be earlier than its predecessor's",
    )
    expect_equal(service.get_messages(session.id), appended, "get_messages() after three appends")


@conformance_check
def append_message_updates_session(service: SessionService) -> None:
    """append_message() bumps the session's message_count and moves its updated_at forward, leaving created_at."""  # noqa: E501
    session = service.create(ACTOR)
    for count in (1, 2):
        message = service.append_message(session.id, "user", f"message {count}")
        after = service.get(session.id)
        expect_equal(after.message_count, count, f"message_count after {count} append(s)")
        expect_equal(after.created_at, session.created_at, "created_at after an append")
        expect(
            after.updated_at >= message.created_at and after.updated_at >= session.updated_at,
            f"updated_at must move to the append ({message.created_at}), got {after.updated_at}",
        )
        session = after


@conformance_check
def expected_sequence_guards_appends(service: SessionService) -> None:
    """append_message() and append_messages() with an expected_sequence append only while the session ends there (0 when empty); a stale one raises SequenceConflictError naming both numbers, and writes nothing."""  # noqa: E501
    session = service.create(ACTOR)
    first = service.append_message(session.id, "user", "first", expected_sequence=0)
    expect_equal(first.sequence, 1, "append_message(expected_sequence=0).sequence")
    batch = service.append_messages(
        session.id, [NewMessage("assistant", "a"), NewMessage("user", "b")], expected_sequence=1
    )
    expect_equal([m.sequence for m in batch], [2, 3], "append_messages(expected_sequence=1)")
    expect_equal(
        service.append_messages(session.id, [], expected_sequence=3),
        [],
        "append_messages([], expected_sequence=3)",
    )
    before = store_state(service)
    stale: list[tuple[str, int, Callable[[], object]]] = [
        (
            f"append_message(expected_sequence={expected})",
            expected,
            calling(service.append_message, session.id, "user", "x", expected_sequence=expected),
        )
        for expected in (0, 2, 4)
    ]
    for shown, messages in (("[one message]", [NewMessage("user", "x")]), ("[]", [])):
        stale.append(
            (
                f"append_messages({shown}, expected_sequence=2)",
                2,
                calling(service.append_messages, session.id, messages, expected_sequence=2),
            )
        )
    for what, expected, call in stale:
        error = expect_raises(SequenceConflictError, call, what)
        expect_equal(
            (error.session_id, error.expected, error.actual),
            (session.id, expected, 3),
            f"{what}: SequenceConflictError's (session_id, expected, actual)",
        )
        expect(
            isinstance(error, RuntimeError) and f"{expected}" in str(error) and "3" in str(error),
            f"{what}: SequenceConflictError must be a RuntimeError naming both numbers: {error}",
        )
    expect_unchanged(service, before, "appends with a stale expected_sequence")
    expect_raises(
        SessionNotFoundError,
        calling(service.append_message, unknown_id(), "user", "x", expected_sequence=0),
        "append_message(an unknown session id, expected_sequence=0)",
    )


@conformance_check
def racing_expected_sequences_one_wins(service: SessionService) -> None:
    """Of 8 threads appending at once with the same expected_sequence (one message or a batch of 2), exactly one appends; the others get SequenceConflictError naming the winner's end, and the sequences stay gapless."""  # noqa: E501
    session = service.create(ACTOR)
    service.append_message(session.id, "user", "the question")

    def append(thread: int) -> list[int] | SequenceConflictError:
        answer = f"thread {thread}"
        try:
            if thread % 2:
                batch = [NewMessage("assistant", answer), NewMessage("assistant", answer)]
                stored = service.append_messages(session.id, batch, expected_sequence=1)
            else:
                stored = [
                    service.append_message(session.id, "assistant", answer, expected_sequence=1)
                ]
        except SequenceConflictError as conflict:
            return conflict
        return [message.sequence for message in stored]

    outcomes = in_threads(RACERS, append)
    won = [outcome for outcome in outcomes if isinstance(outcome, list)]
    expect(len(won) == 1, f"exactly one of {RACERS} racing appends must win, got {outcomes}")
    winner = outcomes.index(won[0])
    last = won[0][-1]
    expect_equal(won[0], list(range(2, last + 1)), f"thread {winner}'s sequences")
    for outcome in outcomes:
        if isinstance(outcome, SequenceConflictError):
            expect_equal(
                (outcome.expected, outcome.actual), (1, last), "a losing thread's conflict"
            )
    stored = service.get_messages(session.id)
    expect_equal([m.sequence for m in stored], list(range(1, last + 1)), "stored sequences")
    expect(
        all(m.content == f"thread {winner}" for m in stored[1:]),
        f"only thread {winner}'s answer may be stored, got {[m.content for m in stored[1:]]}",
    )


@conformance_check
def roles_accept_strings(service: SessionService) -> None:
    """Every MessageRole is accepted as the member and as its plain string, and read back as the member."""  # noqa: E501
    session = service.create(ACTOR)
    for role in MessageRole:
        for given in (role, role.value):
            message = service.append_message(session.id, given, "text")
            expect(
                message.role is role,
                f"append_message(role={given!r}).role: expected {role!r}, got {message.role!r}",
            )
    stored = [message.role for message in service.get_messages(session.id)]
    expect_equal(stored, [role for role in MessageRole for _ in (1, 2)], "roles read back")


@conformance_check
def metadata_round_trips(service: SessionService) -> None:
    """Metadata is stored as a copy and read back equal (nested values, unicode, floats; tuples as lists)."""  # noqa: E501
    metadata: dict[str, Any] = {
        "nested": {"list": [1, 2.5, "x", None, True], "empty": {}},
        "unicode": "héllo ✓ 𝄞",
        "pair": (1, 2),
        "big": 2**53 - 1,
    }
    expected = {**copy.deepcopy(metadata), "pair": [1, 2]}
    session = service.create(ACTOR, metadata=metadata)
    message = service.append_message(session.id, "tool", "{}", metadata=metadata)
    metadata["nested"]["list"].append("changed later")
    metadata["unicode"] = "changed later"
    expect_equal(service.get(session.id).metadata, expected, "session metadata read back")
    expect_equal(message.metadata, expected, "append_message().metadata")
    expect_equal(
        service.get_messages(session.id)[0].metadata, expected, "message metadata read back"
    )


@conformance_check
def invalid_role_rejected(service: SessionService) -> None:
    """append_message() refuses a role outside MessageRole (InvalidInputError naming role) and writes nothing."""  # noqa: E501
    session = service.create(ACTOR)
    _refused(
        service,
        "role",
        {
            f"append_message(role={role!r})": calling(service.append_message, session.id, role, "x")
            for role in ("robot", "", None, 3)
        },
    )


@conformance_check
def invalid_metadata_rejected(service: SessionService) -> None:
    """create() and append_message() refuse metadata that is not a JSON object (a list, a string, a non-string key, NaN, a set, an object) with InvalidInputError naming metadata, and write nothing."""  # noqa: E501
    session = service.create(ACTOR)
    bad_values: list[object] = [
        [1, 2],
        "text",
        {1: "x"},
        {"x": float("nan")},
        {"x": {1, 2}},
        {"x": object()},
    ]
    calls: dict[str, Callable[[], object]] = {}
    for bad in bad_values:
        calls[f"create(metadata={bad!r})"] = calling(service.create, ACTOR, metadata=bad)
        calls[f"append_message(metadata={bad!r})"] = calling(
            service.append_message, session.id, "user", "x", metadata=bad
        )
    _refused(service, "metadata", calls)


@conformance_check
def invalid_actor_name_rejected(service: SessionService) -> None:
    """create() and get_or_create() refuse an empty, blank, over-long (256 characters) or non-string actor_name with InvalidInputError naming actor_name, and write nothing."""  # noqa: E501
    calls: dict[str, Callable[[], object]] = {}
    for bad in ("", "   ", "x" * 256, None, 7):
        calls[f"create({bad!r})"] = calling(service.create, bad)
        calls[f"get_or_create({bad!r}, 'ses-1')"] = calling(service.get_or_create, bad, "ses-1")
    _refused(service, "actor_name", calls)


@conformance_check
def invalid_token_counts_rejected(service: SessionService) -> None:
    """append_message() and update_token_usage() refuse a negative, boolean, string, fractional or too large (2**53) token count with InvalidInputError naming token_count, prompt_tokens or completion_tokens, and write nothing."""  # noqa: E501
    session = service.create(ACTOR)
    for bad in (-1, True, "3", 2**53, 1.5):
        _refused(
            service,
            "token_count",
            {
                f"append_message(token_count={bad!r})": calling(
                    service.append_message, session.id, "user", "x", token_count=bad
                )
            },
        )
        for argument in ("prompt_tokens", "completion_tokens"):
            _refused(
                service,
                argument,
                {
                    f"update_token_usage({argument}={bad!r})": calling(
                        service.update_token_usage, session.id, **{argument: bad}
                    )
                },
            )


@conformance_check
def invalid_content_rejected(service: SessionService) -> None:
    """append_message() refuses content that is not a string, or holds a NUL character or a lone surrogate, with InvalidInputError naming content, and writes nothing."""  # noqa: E501
    session = service.create(ACTOR)
    _refused(
        service,
        "content",
        {
            f"append_message(content={bad!r})": calling(
                service.append_message, session.id, "user", bad
            )
            for bad in (None, 5, b"bytes", "a\x00b", "lone \ud800 surrogate")
        },
    )


@conformance_check
def invalid_expected_sequence_rejected(service: SessionService) -> None:
    """append_message() and append_messages() refuse an expected_sequence that is negative, boolean, a string, fractional or too large (2**53) with InvalidInputError naming expected_sequence, and write nothing."""  # noqa: E501
    session = service.create(ACTOR)
    calls: dict[str, Callable[[], object]] = {}
    for bad in (-1, True, "0", 1.5, 2**53):
        calls[f"append_message(expected_sequence={bad!r})"] = calling(
            service.append_message, session.id, "user", "x", expected_sequence=bad
        )
        calls[f"append_messages(expected_sequence={bad!r})"] = calling(
            service.append_messages, session.id, [NewMessage("user", "x")], expected_sequence=bad
        )
    _refused(service, "expected_sequence", calls)
