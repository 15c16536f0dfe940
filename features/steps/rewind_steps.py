"""Steps about rewinding a session: what a rewind hides and keeps, undoing it, and refusals.

The scenario's rewinds are kept in ``context.rewinds`` (oldest first) and the latest in
``context.rewind``; "marked with the rewind" means ``rewound_by`` is that latest rewind's id.
"""

from __future__ import annotations

from behave import given, then, when
from behave.runner import Context

from agent_sessions import MessageRole, Rewind, SessionMessage
from agent_sessions.domain.history import POP_REWIND_REASON
from features.session_world import (
    ULID_PATTERN,
    assert_utc,
    attempt,
    parse_names,
    parse_sequences,
    remember,
    sample_value,
)

# --- rewinding --------------------------------------------------------------------------------


def _rewind(context: Context, point: int, reason: str | None = None) -> Rewind | None:
    rewind = context.service.rewind(context.session.id, point, reason=reason)
    context.rewind = rewind
    if rewind is not None:
        context.rewinds = [*getattr(context, "rewinds", []), rewind]
    return rewind


@given("the session was rewound to sequence {point:d}")
def step_rewound(context: Context, point: int) -> None:
    assert _rewind(context, point) is not None, "the rewind wrote nothing"
    remember(context, context.service.get(context.session.id))


@when('I rewind the session to sequence {point:d} because "{reason:Text}"')
def step_rewind_because(context: Context, point: int, reason: str) -> None:
    _rewind(context, point, reason)


@when("I rewind the session to sequence {point:d}")
def step_rewind(context: Context, point: int) -> None:
    _rewind(context, point)


@when("I try to rewind the session to sequence {value}")
def step_try_rewind(context: Context, value: str) -> None:
    session_id = context.session.id
    point = sample_value(value)
    attempt(context, lambda: context.service.rewind(session_id, point))


@when("I try to rewind the session with a reason of {size:d} characters")
def step_try_rewind_reason(context: Context, size: int) -> None:
    session_id = context.session.id
    attempt(context, lambda: context.service.rewind(session_id, 1, reason="r" * size))


@given("{count:d} message was appended to the session after the rewind")
@given("{count:d} messages were appended to the session after the rewind")
def step_appended_after_rewind(context: Context, count: int) -> None:
    for number in range(1, count + 1):
        role = (MessageRole.USER, MessageRole.ASSISTANT)[number % 2]
        context.service.append_message(context.session.id, role, f"after the rewind {number}")
    remember(context, context.service.get(context.session.id))


@given("a tool result was appended to the session after the rewind")
def step_tool_result_after_rewind(context: Context) -> None:
    context.service.append_message(context.session.id, MessageRole.TOOL, "tool after the rewind")
    remember(context, context.service.get(context.session.id))


# --- undoing ----------------------------------------------------------------------------------


@when("I undo the session's rewind")
def step_undo(context: Context) -> None:
    context.undone = context.service.undo_rewind(context.session.id)


@when("I try to undo the session's rewind")
def step_try_undo(context: Context) -> None:
    session_id = context.session.id
    attempt(context, lambda: context.service.undo_rewind(session_id))


# --- the visible history ----------------------------------------------------------------------


@then("the visible messages are those at the sequences {sequences}")
def step_visible(context: Context, sequences: str) -> None:
    visible = context.service.get_messages(context.session.id)
    got = [message.sequence for message in visible]
    assert got == parse_sequences(sequences), f"the visible messages are at {got}"
    assert not [message for message in visible if message.rewound], "a visible one is rewound"


@then("the {count:d} most recent messages are those at the sequences {sequences}")
def step_recent_visible(context: Context, count: int, sequences: str) -> None:
    recent = context.service.recent_messages(context.session.id, count)
    got = [message.sequence for message in recent]
    assert got == parse_sequences(sequences), f"the recent messages are at {got}"


@then("the session has no visible message")
def step_nothing_visible(context: Context) -> None:
    session_id = context.session.id
    assert context.service.get_messages(session_id) == []
    assert context.service.recent_messages(session_id, 10) == []
    assert context.service.context_messages(session_id) == []


@then('the files the session touched are "{paths}"')
def step_files_touched_paths(context: Context, paths: str) -> None:
    touched = [touch.file_path for touch in context.service.files_touched(context.session.id)]
    assert touched == parse_names(paths), f"the session touched {touched}"


@then("listing its file events still gives the events recorded in rows {rows}")
def step_events_kept(context: Context, rows: str) -> None:
    listed = context.service.list_file_events(context.session.id)
    expected = [context.recorded[number - 1] for number in parse_sequences(rows)]
    assert listed == expected, f"listed {listed}"


# --- the transcript ---------------------------------------------------------------------------


@when("I read the messages including the rewound ones")
def step_read_transcript(context: Context) -> None:
    context.transcript = context.service.get_messages(context.session.id, include_rewound=True)


def _check_marks(
    transcript: list[SessionMessage], sequences: str, hidden: list[int], mark: str | None
) -> None:
    """Fail unless ``transcript`` is at ``sequences`` with exactly ``hidden`` rewound.

    ``mark`` is the id the hidden ones must carry, or None for any rewind.
    """
    got = [message.sequence for message in transcript]
    assert got == parse_sequences(sequences), f"the transcript is at {got}"
    marked = [message.sequence for message in transcript if message.rewound]
    assert marked == hidden, f"the messages at {marked} are marked as rewound"
    if mark is not None:
        wrong = [m.sequence for m in transcript if m.rewound and m.rewound_by != mark]
        assert not wrong, f"the messages at {wrong} are marked with another rewind"


def _latest_rewind_id(context: Context) -> str:
    rewind: Rewind = context.rewinds[-1]
    return rewind.id


@then("I get the sequences {sequences}, of which {hidden} are marked with the rewind")
def step_transcript_read(context: Context, sequences: str, hidden: str) -> None:
    _check_marks(context.transcript, sequences, parse_sequences(hidden), _latest_rewind_id(context))


def _transcript(context: Context) -> list[SessionMessage]:
    transcript: list[SessionMessage] = context.service.get_messages(
        context.session.id, include_rewound=True
    )
    return transcript


@then("the transcript holds the sequences {sequences}, all marked with the rewind")
def step_transcript_all_marked(context: Context, sequences: str) -> None:
    _check_marks(
        _transcript(context), sequences, parse_sequences(sequences), _latest_rewind_id(context)
    )


@then(
    "the transcript holds the sequences {sequences}, of which {hidden} are marked with the rewind"
)
def step_transcript_marked_with(context: Context, sequences: str, hidden: str) -> None:
    _check_marks(
        _transcript(context), sequences, parse_sequences(hidden), _latest_rewind_id(context)
    )


@then("the transcript holds the sequences {sequences}, of which {hidden} are marked as rewound")
@then("the transcript holds the sequences {sequences}, of which {hidden} is marked as rewound")
def step_transcript_marked(context: Context, sequences: str, hidden: str) -> None:
    _check_marks(_transcript(context), sequences, parse_sequences(hidden), None)


@then("no message of the transcript is marked as rewound")
def step_nothing_marked(context: Context) -> None:
    marked = [message.sequence for message in _transcript(context) if message.rewound]
    assert not marked, f"the messages at {marked} are still marked as rewound"


@then("iterating over the session's messages gives the same transcript")
def step_iterated_transcript(context: Context) -> None:
    iterated = list(context.service.iter_messages(context.session.id, batch_size=2))
    assert iterated == context.transcript, f"iterated {iterated}"


@then("the messages kept their content")
def step_content_kept(context: Context) -> None:
    actor = context.session.actor_name
    contents = [message.content for message in context.transcript]
    expected = [f"message {message.sequence} of {actor}" for message in context.transcript]
    assert contents == expected, f"the contents are {contents}"


@then("the new message is stored at sequence {sequence:d}")
def step_new_message_at(context: Context, sequence: int) -> None:
    assert context.new_message.sequence == sequence, context.new_message
    assert context.service.get(context.session.id).message_count == sequence


# --- the rewinds recorded ---------------------------------------------------------------------


@then('the rewind records the point {point:d}, the end {end:d} and the reason "{reason:Text}"')
def step_rewind_recorded(context: Context, point: int, end: int, reason: str) -> None:
    rewind: Rewind = context.rewind
    assert ULID_PATTERN.match(rewind.id), f"{rewind.id!r} is not a ULID"
    recorded = (rewind.session_id, rewind.to_sequence, rewind.through_sequence, rewind.reason)
    assert recorded == (context.session.id, point, end, reason), recorded
    assert rewind.undone_at is None, rewind
    assert_utc(rewind.created_at, "the rewind's created_at")
    assert context.service.list_rewinds(context.session.id) == [rewind]


@then("the rewind returned nothing")
def step_rewind_nothing(context: Context) -> None:
    assert context.rewind is None, f"the rewind returned {context.rewind}"


@then("the session has {count:d} rewind")
@then("the session has {count:d} rewinds, in the order recorded")
def step_rewinds_listed(context: Context, count: int) -> None:
    listed = context.service.list_rewinds(context.session.id)
    assert listed == context.rewinds, f"listed {listed}, recorded {context.rewinds}"
    assert len(listed) == count, f"{len(listed)} rewinds"


@then("the session's rewinds are listed with the last one undone")
def step_last_undone(context: Context) -> None:
    listed = context.service.list_rewinds(context.session.id)
    assert [rewind.id for rewind in listed] == [rewind.id for rewind in context.rewinds]
    assert listed[-1] == context.undone, (listed[-1], context.undone)
    assert context.undone.undone_at is not None, context.undone
    assert_utc(context.undone.undone_at, "undone_at")
    assert not [rewind for rewind in listed[:-1] if rewind.undone], listed


@then("the session's rewinds are listed with none undone")
def step_none_undone(context: Context) -> None:
    listed = context.service.list_rewinds(context.session.id)
    assert listed == context.rewinds, f"listed {listed}, recorded {context.rewinds}"


# --- popping after a rewind -------------------------------------------------------------------


@then("the pop returned the message at sequence {sequence:d}, marked as rewound")
def step_pop_hid(context: Context, sequence: int) -> None:
    popped: SessionMessage = context.popped
    assert popped is not None and popped.sequence == sequence, popped
    assert popped.rewound, f"the popped message is not marked: {popped}"
    stored = {m.sequence: m for m in _transcript(context)}
    assert stored[sequence] == popped, f"the transcript holds {stored.get(sequence)}"


@then("the pop returned the message at sequence {sequence:d}, not marked as rewound")
def step_pop_deleted(context: Context, sequence: int) -> None:
    popped: SessionMessage = context.popped
    assert popped is not None and popped.sequence == sequence, popped
    assert not popped.rewound, f"the popped message is marked: {popped}"
    assert context.service.get(context.session.id).message_count == sequence - 1


@then('the session\'s last rewind goes back to sequence {point:d} for the reason "{reason:Text}"')
def step_pop_rewind(context: Context, point: int, reason: str) -> None:
    last = context.service.list_rewinds(context.session.id)[-1]
    assert reason == POP_REWIND_REASON, f"the library's pop reason is {POP_REWIND_REASON!r}"
    assert (last.to_sequence, last.reason) == (point, reason), last
    assert context.popped.rewound_by == last.id, (context.popped.rewound_by, last.id)
