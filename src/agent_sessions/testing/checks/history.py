"""Checks of rewinds and compactions, and of what each one leaves visible.

A session's transcript is every message it ever held, numbered without gap; its visible
history is the transcript minus the messages a rewind hid. The checks here hold a service to
"nothing is ever deleted": a rewind hides and a compaction summarises.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from agent_sessions.domain.entities import (
    Compaction,
    FileEventType,
    MessageRole,
    Rewind,
    SessionMessage,
)
from agent_sessions.domain.errors import InvalidInputError, SequenceConflictError
from agent_sessions.domain.service import SessionService
from agent_sessions.testing.check import conformance_check
from agent_sessions.testing.checks.reading import session_of_roles
from agent_sessions.testing.checks.sessions import ACTOR, ULID
from agent_sessions.testing.expectations import (
    calling,
    expect,
    expect_equal,
    expect_raises,
    expect_unchanged,
    expect_utc,
    store_state,
)

BAD_SEQUENCES: tuple[object, ...] = (-1, True, "2", 1.5, 2**53)
"""Values no sequence argument accepts, whatever the session holds."""


def _sequences(messages: list[SessionMessage]) -> list[int]:
    return [message.sequence for message in messages]


def _hidden_by(messages: list[SessionMessage]) -> list[str | None]:
    return [message.rewound_by for message in messages]


def _summary(compaction: Compaction, role: MessageRole = MessageRole.SYSTEM) -> SessionMessage:
    """Return the message that stands for ``compaction`` in ``context_messages()``."""
    return SessionMessage(
        id=compaction.id,
        session_id=compaction.session_id,
        sequence=compaction.through_sequence,
        role=role,
        content=compaction.summary,
        metadata={**compaction.metadata, "compaction_id": compaction.id},
        token_count=compaction.token_count,
        created_at=compaction.created_at,
    )


@conformance_check
def rewind_hides_without_deleting(service: SessionService) -> None:
    """rewind(to_sequence) hides the later messages from the visible history (get_messages, recent_messages, context_messages) but keeps them, marked with the rewind's id, in the transcript (get_messages(include_rewound=True), iter_messages); message_count stays, and the next append takes the next number never used."""  # noqa: E501
    session = session_of_roles(service, "uauau")
    originals = service.get_messages(session)
    before = service.get(session)
    rewind = service.rewind(session, 2, reason="wrong turn")
    expect(isinstance(rewind, Rewind), f"rewind() returned {rewind!r}, expected a Rewind")
    assert rewind is not None
    expect(ULID.fullmatch(rewind.id) is not None, f"rewind().id {rewind.id!r} is not a ULID")
    expect_equal(
        (rewind.session_id, rewind.to_sequence, rewind.through_sequence, rewind.reason),
        (session, 2, 5, "wrong turn"),
        "rewind(2) (session_id, to_sequence, through_sequence, reason)",
    )
    expect_utc(rewind.created_at, "rewind().created_at")
    expect_equal((rewind.undone_at, rewind.undone), (None, False), "rewind() (undone_at, undone)")
    after = service.get(session)
    expect_equal(after.message_count, 5, "message_count after rewind(2) of 5 messages")
    expect(after.updated_at >= before.updated_at, "updated_at moved backwards on rewind()")
    expect_equal(service.get_messages(session), originals[:2], "get_messages() after rewind(2)")
    transcript = originals[:2] + [
        dataclasses.replace(message, rewound_by=rewind.id) for message in originals[2:]
    ]
    expect_equal(
        service.get_messages(session, include_rewound=True),
        transcript,
        "get_messages(include_rewound=True) after rewind(2)",
    )
    expect(all(m.rewound for m in transcript[2:]), "a rewound message's .rewound must be True")
    expect_equal(list(service.iter_messages(session, batch_size=2)), transcript, "iter_messages()")
    expect_equal(service.recent_messages(session, 10), originals[:2], "recent_messages(10)")
    expect_equal(service.context_messages(session), originals[:2], "context_messages()")
    appended = service.append_message(session, "assistant", "another answer")
    expect_equal(appended.sequence, 6, "the sequence of an append after rewind(2) of 5")
    expect_equal(
        _sequences(service.get_messages(session)), [1, 2, 6], "visible sequences after the append"
    )
    expect_equal(
        _sequences(service.get_messages(session, limit=2, offset=1)), [2, 6], "a visible page"
    )
    expect_equal(
        _sequences(service.get_messages(session, include_rewound=True, limit=2, offset=2)),
        [3, 4],
        "get_messages(include_rewound=True, limit=2, offset=2)",
    )
    expect_equal(service.list_rewinds(session), [rewind], "list_rewinds()")
    for bad in ("yes", None, 1):
        expect_raises(
            InvalidInputError,
            calling(service.get_messages, session, include_rewound=bad),
            f"get_messages(include_rewound={bad!r})",
            argument="include_rewound",
        )


@conformance_check
def rewind_to_the_end_writes_nothing(service: SessionService) -> None:
    """rewind() to the last visible message (or to 0 when none is visible) returns None and writes nothing; rewind(0) hides every message."""  # noqa: E501
    session = session_of_roles(service, "uau")
    empty = service.create(ACTOR)
    before = store_state(service)
    for session_id, point in ((session, 3), (empty.id, 0)):
        expect_equal(
            service.rewind(session_id, point, reason="x"), None, f"rewind({point}) at the end"
        )
    expect_unchanged(service, before, "rewind() to the end")
    service.rewind(session, 1)
    hidden = store_state(service)
    expect_equal(service.rewind(session, 1), None, "rewind(1) again")
    expect_unchanged(service, hidden, "rewind() to the end of the visible history")
    everything = service.rewind(session, 0)
    expect(everything is not None, "rewind(0) of a visible message returned None")
    expect_equal(service.get_messages(session), [], "get_messages() after rewind(0)")
    expect_equal(
        len(service.get_messages(session, include_rewound=True)), 3, "the transcript's length"
    )
    expect_equal(service.rewind(session, 0), None, "rewind(0) with nothing visible")


@conformance_check
def undo_rewind_while_nothing_appended(service: SessionService) -> None:
    """undo_rewind() shows the latest holding rewind's messages again and returns it undone, then the one before; with no rewind to undo it raises InvalidInputError naming session_id, and after an append SequenceConflictError; neither writes anything."""  # noqa: E501
    session = session_of_roles(service, "uauaua")
    originals = service.get_messages(session)
    first = service.rewind(session, 4)
    second = service.rewind(session, 2)
    assert first is not None and second is not None
    undone = service.undo_rewind(session)
    expect_utc(undone.undone_at, "undo_rewind().undone_at")
    expect_equal(undone, dataclasses.replace(second, undone_at=undone.undone_at), "undo_rewind()")
    expect(undone.undone, "an undone rewind's .undone must be True")
    expect_equal(service.get_messages(session), originals[:4], "visible after one undo")
    expect_equal(
        _hidden_by(service.get_messages(session, include_rewound=True)),
        [None] * 4 + [first.id] * 2,
        "rewound_by after one undo",
    )
    again = service.undo_rewind(session)
    expect_equal(again.id, first.id, "the second undo_rewind() undoes the earlier rewind")
    expect_equal(service.get_messages(session), originals, "visible after both undos")
    expect_equal(
        [(r.id, r.undone) for r in service.list_rewinds(session)],
        [(first.id, True), (second.id, True)],
        "list_rewinds() (id, undone) after both undos",
    )
    nothing = store_state(service)
    expect_raises(
        InvalidInputError,
        calling(service.undo_rewind, session),
        "undo_rewind() with every rewind undone",
        argument="session_id",
    )
    expect_unchanged(service, nothing, "undo_rewind() without a rewind to undo")
    third = service.rewind(session, 3)
    assert third is not None
    service.append_message(session, "user", "a new turn")
    appended = store_state(service)
    conflict = expect_raises(
        SequenceConflictError,
        calling(service.undo_rewind, session),
        "undo_rewind() after an append",
    )
    expect_equal(
        (conflict.session_id, conflict.expected, conflict.actual),
        (session, third.through_sequence, 7),
        "undo_rewind() after an append: SequenceConflictError (session_id, expected, actual)",
    )
    expect_unchanged(service, appended, "undo_rewind() after an append")


@conformance_check
def history_points_refuse_bad_sequences(service: SessionService) -> None:
    """fork_session(), rewind() and compact() refuse a sequence that is negative, not an integer, too large, past the session's end or a rewound message (and compact() also 0, or a point whose messages are all tool results), with InvalidInputError naming it, as they refuse a bad reason, summary, metadata or token_count, and write nothing."""  # noqa: E501
    session = session_of_roles(service, "uaua")
    service.rewind(session, 2)
    service.append_message(session, "user", "after the rewind")
    tools_first = session_of_roles(service, "attu")
    before = store_state(service)
    points: tuple[tuple[str, str, Callable[..., object]], ...] = (
        ("at_sequence", "fork_session", lambda s, p: service.fork_session(s, at_sequence=p)),
        ("to_sequence", "rewind", service.rewind),
        ("through_sequence", "compact", lambda s, p: service.compact(s, p, "summary")),
    )
    refused = [
        (argument, f"{name}({point!r})", calling(method, session, point))
        for point in (*BAD_SEQUENCES, 3, 4, 6)
        for argument, name, method in points
    ]
    compact = functools.partial(service.compact, session)
    refused += [
        ("through_sequence", "compact(0)", calling(compact, 0, "summary")),
        (
            "through_sequence",
            "compact(2) of an assistant turn and its tool results",
            calling(service.compact, tools_first, 2, "summary"),
        ),
        (
            "reason",
            "rewind(reason=4097 bytes)",
            calling(service.rewind, session, 1, reason="x" * 4097),
        ),
        ("reason", "rewind(reason=5)", calling(service.rewind, session, 1, reason=5)),
        *(("summary", f"compact(summary={bad!r})", calling(compact, 1, bad)) for bad in ("", " ")),
        ("summary", "compact(summary=None)", calling(compact, 1, None)),
        ("metadata", "compact(metadata=[1])", calling(compact, 1, "s", metadata=[1])),
        ("token_count", "compact(token_count=-1)", calling(compact, 1, "s", token_count=-1)),
    ]
    for argument, what, call in refused:
        expect_raises(InvalidInputError, call, what, argument=argument)
    expect_unchanged(service, before, "fork_session(), rewind() and compact() with bad arguments")


@conformance_check
def compaction_sends_summary_then_window(service: SessionService) -> None:
    """compact() records a summary of the visible messages up to through_sequence and removes nothing; context_messages() then returns a message standing for the summary (the compaction's id, sequence and time, role summary_role, metadata plus compaction_id) followed by the visible messages after it, or the last limit of them; without a compaction it returns what get_messages() and recent_messages(limit) return."""  # noqa: E501
    session = session_of_roles(service, "uauaua")
    originals = service.get_messages(session)
    expect_equal(service.context_messages(session), originals, "context_messages() uncompacted")
    expect_equal(
        service.context_messages(session, limit=2),
        service.recent_messages(session, 2),
        "context_messages(limit=2) uncompacted",
    )
    compaction = service.compact(
        session, 3, "The user asked twice.", metadata={"model": "m"}, token_count=5
    )
    expect(isinstance(compaction, Compaction), f"compact() returned {compaction!r}")
    expect(ULID.fullmatch(compaction.id) is not None, f"compact().id {compaction.id!r}")
    expect_equal(
        (
            compaction.session_id,
            compaction.through_sequence,
            compaction.summary,
            compaction.metadata,
            compaction.token_count,
            compaction.rewound_by,
        ),
        (session, 3, "The user asked twice.", {"model": "m"}, 5, None),
        "compact(3) (session_id, through_sequence, summary, metadata, token_count, rewound_by)",
    )
    expect_utc(compaction.created_at, "compact().created_at")
    expect_equal(service.get_messages(session), originals, "get_messages() after compact()")
    expect_equal(service.get(session).message_count, 6, "message_count after compact()")
    summary = _summary(compaction)
    expect_equal(service.context_messages(session), [summary, *originals[3:]], "context_messages()")
    expect_equal(
        service.context_messages(session, limit=2),
        [summary, *originals[4:]],
        "context_messages(limit=2)",
    )
    expect_equal(
        service.context_messages(session, limit=10),
        [summary, *originals[3:]],
        "context_messages(limit=10): never the messages the summary covers",
    )
    for role in (MessageRole.USER, "user"):
        expect_equal(
            service.context_messages(session, summary_role=role)[0],
            _summary(compaction, MessageRole.USER),
            f"context_messages(summary_role={role!r})[0]",
        )
    expect_equal(service.list_compactions(session), [compaction], "list_compactions()")
    for argument, bad in (("limit", {"limit": 0}), ("limit", {"limit": "2"})):
        expect_raises(
            InvalidInputError,
            calling(service.context_messages, session, **bad),
            f"context_messages(**{bad!r})",
            argument=argument,
        )
    expect_raises(
        InvalidInputError,
        calling(service.context_messages, session, summary_role="robot"),
        "context_messages(summary_role='robot')",
    )


@conformance_check
def compaction_never_leaves_a_tool_result_first(service: SessionService) -> None:
    """compact() at a point whose next visible message is a tool result ends before the assistant turn that made the call, and says so in its through_sequence; context_messages(limit) reaches back past tool results as recent_messages() does, never into the summary."""  # noqa: E501
    session = session_of_roles(service, "uattatt")
    originals = service.get_messages(session)
    compaction = service.compact(session, 2, "The user asked.")
    expect_equal(compaction.through_sequence, 1, "compact(2) before two tool results: its end")
    summary = _summary(compaction)
    expect_equal(service.context_messages(session), [summary, *originals[1:]], "context_messages()")
    expect_equal(
        service.context_messages(session, limit=1),
        [summary, *originals[4:]],
        "context_messages(limit=1) whose newest message is a tool result",
    )
    expect_equal(
        service.context_messages(session, limit=5),
        [summary, *originals[1:]],
        "context_messages(limit=5) starting on a tool result",
    )


@conformance_check
def compaction_may_cover_an_earlier_one(service: SessionService) -> None:
    """compact() may cover as much as or more than the compaction in force, whose place it takes in context_messages(); a compaction that covers less raises InvalidInputError naming through_sequence and writes nothing."""  # noqa: E501
    session = session_of_roles(service, "uauaua")
    originals = service.get_messages(session)
    first = service.compact(session, 2, "first")
    second = service.compact(session, 4, "second")
    expect_equal(
        service.context_messages(session),
        [_summary(second), *originals[4:]],
        "context_messages() after a compaction covering an earlier one",
    )
    before = store_state(service)
    expect_raises(
        InvalidInputError,
        calling(service.compact, session, 3, "short"),
        "compact(3) after a compaction through 4",
        argument="through_sequence",
    )
    expect_unchanged(service, before, "compact() short of the compaction in force")
    third = service.compact(session, 4, "second, better")
    expect_equal(
        service.context_messages(session)[0], _summary(third), "the summary of a recompaction"
    )
    expect_equal(service.list_compactions(session), [first, second, third], "list_compactions()")


@conformance_check
def rewind_hides_the_compactions_it_passes(service: SessionService) -> None:
    """rewind() hides the compactions that cover any message it hides (they keep its id in rewound_by) and context_messages() falls back to the one before; undo_rewind() puts them back in force."""  # noqa: E501
    session = session_of_roles(service, "uauaua")
    originals = service.get_messages(session)
    first = service.compact(session, 2, "first")
    second = service.compact(session, 4, "second")
    rewind = service.rewind(session, 3)
    assert rewind is not None
    expect_equal(
        service.list_compactions(session),
        [first, dataclasses.replace(second, rewound_by=rewind.id)],
        "list_compactions() after rewind(3)",
    )
    expect_equal(
        service.context_messages(session),
        [_summary(first), originals[2]],
        "context_messages() after rewind(3)",
    )
    service.undo_rewind(session)
    expect_equal(service.list_compactions(session), [first, second], "compactions after undo")
    expect_equal(
        service.context_messages(session),
        [_summary(second), *originals[4:]],
        "context_messages() after undo_rewind()",
    )
    service.rewind(session, 1)
    expect_equal(service.context_messages(session), originals[:1], "context after rewind(1)")


@conformance_check
def pop_after_a_rewind_hides(service: SessionService) -> None:
    """pop_message() hides (not deletes) its message when rewound messages follow it or a compaction in force covers it: by a rewind to the visible message before it with the reason "pop_message", returning the message with rewound_by set; message_count stays."""  # noqa: E501
    session = session_of_roles(service, "uaua")
    originals = service.get_messages(session)
    first = service.rewind(session, 2)
    popped = service.pop_message(session)
    expect(popped is not None and popped.rewound_by is not None, f"pop_message() gave {popped}")
    assert popped is not None and first is not None
    expect_equal(
        popped,
        dataclasses.replace(originals[1], rewound_by=popped.rewound_by),
        "pop_message() after rewind(2)",
    )
    expect_equal(service.get(session).message_count, 4, "message_count after the hiding pop")
    expect_equal(service.get_messages(session), originals[:1], "visible after the hiding pop")
    expect_equal(
        _hidden_by(service.get_messages(session, include_rewound=True)),
        [None, popped.rewound_by, first.id, first.id],
        "rewound_by of the transcript after the hiding pop",
    )
    rewinds = service.list_rewinds(session)
    expect_equal(
        [(r.id, r.to_sequence, r.through_sequence, r.reason) for r in rewinds[1:]],
        [(popped.rewound_by, 1, 4, "pop_message")],
        "the pop's rewind (id, to_sequence, through_sequence, reason)",
    )
    expect_equal(service.append_message(session, "user", "next").sequence, 5, "the next append")
    covered = session_of_roles(service, "uau")
    compaction = service.compact(covered, 3, "everything")
    hidden = service.pop_message(covered)
    expect(hidden is not None and hidden.rewound_by is not None, f"pop of a covered: {hidden}")
    assert hidden is not None
    expect_equal((hidden.sequence, service.get(covered).message_count), (3, 3), "the covered pop")
    expect_equal(
        service.list_compactions(covered),
        [dataclasses.replace(compaction, rewound_by=hidden.rewound_by)],
        "a compaction of the popped message",
    )
    service.rewind(covered, 0)
    before = store_state(service)
    expect_equal(service.pop_message(covered), None, "pop_message() with nothing visible")
    expect_unchanged(service, before, "pop_message() with nothing visible")


@conformance_check
def files_touched_ignores_rewound_messages(service: SessionService) -> None:
    """files_touched() counts only the events of visible messages, list_file_events() every event; undo_rewind() brings the rewound messages' events back."""  # noqa: E501
    session = session_of_roles(service, "aaa")
    first, _, third = service.get_messages(session)
    service.record_file_event(session, first.id, "edit", file_path="a.py")
    service.record_file_event(session, third.id, "edit", file_path="b.py")
    service.record_file_event(session, third.id, "read", file_path="a.py")

    def touched() -> list[tuple[str, dict[FileEventType, int]]]:
        return [(touch.file_path, touch.counts) for touch in service.files_touched(session)]

    everything = touched()
    service.rewind(session, 2)
    expect_equal(touched(), [("a.py", {FileEventType.EDIT: 1})], "files_touched() after rewind")
    expect_equal(len(service.list_file_events(session)), 3, "list_file_events() after rewind")
    service.undo_rewind(session)
    expect_equal(touched(), everything, "files_touched() after undo_rewind()")
