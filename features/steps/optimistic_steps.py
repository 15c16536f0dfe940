"""Steps about optimistic appends: appending only while the session ends where it is expected."""

from __future__ import annotations

import threading

from behave import then, when
from behave.runner import Context

from agent_sessions import NewMessage, SequenceConflictError, SessionMessage
from features.session_world import (
    attempt,
    expected_error,
    sample_value,
    unknown_session_id,
)


def _batch(count: int) -> list[NewMessage]:
    return [NewMessage("assistant", f"batch message {number}") for number in range(1, count + 1)]


# --- appending at an expected end -------------------------------------------------------------


@when('I append "{content}" expecting the session to end at sequence {expected:d}')
def step_append_expecting(context: Context, content: str, expected: int) -> None:
    context.appended = [
        context.service.append_message(
            context.session.id, "assistant", content, expected_sequence=expected
        )
    ]


@when(
    "I append a batch of {count:d} messages expecting the session to end at sequence {expected:d}"
)
def step_append_batch_expecting(context: Context, count: int, expected: int) -> None:
    context.batch = context.service.append_messages(
        context.session.id, _batch(count), expected_sequence=expected
    )


@when('I append a message "{content}" to it expecting it to end at sequence {expected:d}')
def step_append_breakable_expecting(context: Context, content: str, expected: int) -> None:
    context.returned = context.breakable.append_message(
        context.stored.id, "user", content, expected_sequence=expected
    )


@then('the message "{content}" is stored at sequence {sequence:d}')
def step_stored_at(context: Context, content: str, sequence: int) -> None:
    (appended,) = context.appended
    assert (appended.content, appended.sequence) == (content, sequence), appended
    stored = context.service.get_messages(context.session.id)
    assert stored[-1] == appended, f"the newest stored message is {stored[-1]}"


# --- a stale expectation ----------------------------------------------------------------------


@when('I try to append "{content}" expecting the session to end at sequence {expected:d}')
def step_try_append_expecting(context: Context, content: str, expected: int) -> None:
    session_id = context.session.id
    attempt(
        context,
        lambda: context.service.append_message(
            session_id, "assistant", content, expected_sequence=expected
        ),
    )


@when(
    "I try to append a batch of {count:d} messages expecting the session to end at sequence "
    "{expected:d}"
)
def step_try_batch_expecting(context: Context, count: int, expected: int) -> None:
    session_id = context.session.id
    attempt(
        context,
        lambda: context.service.append_messages(
            session_id, _batch(count), expected_sequence=expected
        ),
    )


@then(
    "the conflict names the session, the expected sequence {expected:d} "
    "and the actual sequence {actual:d}"
)
def step_conflict_names(context: Context, expected: int, actual: int) -> None:
    error = expected_error(context, SequenceConflictError)
    named = (error.session_id, error.expected, error.actual)
    assert named == (context.session.id, expected, actual), named
    assert context.session.id in str(error), f"the message does not name the session: {error}"


@when('I try to append "{content}" to an unknown session expecting sequence {expected:d}')
def step_try_unknown_expecting(context: Context, content: str, expected: int) -> None:
    unknown = unknown_session_id()
    attempt(
        context,
        lambda: context.service.append_message(
            unknown, "user", content, expected_sequence=expected
        ),
    )


@when("I try to append a batch with expected_sequence set to {value}")
def step_try_batch_with(context: Context, value: str) -> None:
    session_id = context.session.id
    expected = sample_value(value)
    attempt(
        context,
        lambda: context.service.append_messages(session_id, _batch(1), expected_sequence=expected),
    )


# --- racing workers ---------------------------------------------------------------------------


@when("{workers:d} workers each append their answer at once, all expecting sequence {expected:d}")
def step_race(context: Context, workers: int, expected: int) -> None:
    start = threading.Barrier(workers)
    outcomes: list[SessionMessage | Exception | None] = [None] * workers
    session_id = context.session.id

    def answer(worker: int) -> None:
        start.wait()
        try:
            outcomes[worker] = context.service.append_message(
                session_id, "assistant", f"answer of worker {worker}", expected_sequence=expected
            )
        except Exception as exc:
            outcomes[worker] = exc

    threads = [threading.Thread(target=answer, args=(worker,)) for worker in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    context.race_outcomes = outcomes


@then("exactly one worker's answer is stored, at sequence {sequence:d}")
def step_one_winner(context: Context, sequence: int) -> None:
    won = [o for o in context.race_outcomes if isinstance(o, SessionMessage)]
    assert len(won) == 1, f"{len(won)} workers appended: {context.race_outcomes}"
    assert won[0].sequence == sequence, won[0]
    stored = context.service.get_messages(context.session.id)
    assert [m.sequence for m in stored] == list(range(1, sequence + 1)), stored
    assert stored[-1] == won[0], f"the stored answer {stored[-1]} is not the winner's {won[0]}"


@then("every other worker got SequenceConflictError, expected {expected:d} and actual {actual:d}")
def step_others_conflict(context: Context, expected: int, actual: int) -> None:
    lost = [o for o in context.race_outcomes if not isinstance(o, SessionMessage)]
    assert len(lost) == len(context.race_outcomes) - 1, context.race_outcomes
    for outcome in lost:
        assert isinstance(outcome, SequenceConflictError), f"a worker failed with {outcome!r}"
        assert (outcome.expected, outcome.actual) == (expected, actual), outcome
