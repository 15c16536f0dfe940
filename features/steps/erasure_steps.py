"""Steps about erasing an owner: the owner's sessions with all their rows, and the receipt.

The Background files each owner's sessions in ``context.owner_sessions`` (in creation order)
and what the other owners' sessions read before the erasure in ``context.before``.
"""

from __future__ import annotations

from behave import given, then, when
from behave.runner import Context

from agent_sessions import Session, SessionNotFoundError
from features.session_world import assert_utc, attempt, sample_value

_ORDINALS = {"first": 0, "second": 1}


def _own(context: Context, owner: str, session: Session) -> Session:
    if not hasattr(context, "owner_sessions"):
        context.owner_sessions = {}
    context.owner_sessions.setdefault(owner, []).append(session)
    return session


def _owned_session(context: Context, owner: str, messages: int) -> Session:
    service = context.service
    session = service.create("support-bot", title=f"{owner}'s", owner_id=owner)
    service.append_messages(
        session.id,
        [{"role": ("user", "assistant")[n % 2], "content": f"turn {n}"} for n in range(messages)],
    )
    return _own(context, owner, session)


def _nth(context: Context, ordinal: str, owner: str) -> Session:
    return context.owner_sessions[owner][_ORDINALS[ordinal]]


@given(
    '"{owner:Text}" owns a session with {messages:d} messages, a file event, a token receipt,'
    " a rewind and a compaction"
)
def step_owner_with_everything(context: Context, owner: str, messages: int) -> None:
    service = context.service
    session = _owned_session(context, owner, messages)
    first = service.get_messages(session.id, limit=1)[0]
    service.record_file_event(session.id, first.id, "read", file_path="src/app.py")
    service.update_token_usage(
        session.id, prompt_tokens=10, completion_tokens=5, idempotency_key="turn-1"
    )
    service.compact(session.id, 2, "the first two turns")
    service.rewind(session.id, messages - 1, reason="a wrong answer")


@given('"{owner:Text}" owns a second session with {messages:d} messages')
def step_owner_second(context: Context, owner: str, messages: int) -> None:
    _owned_session(context, owner, messages)


@given('"{owner:Text}" owns a session with {messages:d} messages and a file event')
def step_owner_with_file_event(context: Context, owner: str, messages: int) -> None:
    session = _owned_session(context, owner, messages)
    first = context.service.get_messages(session.id, limit=1)[0]
    context.service.record_file_event(session.id, first.id, "edit", file_path="README.md")
    context.before = {
        owner: (
            context.service.get(session.id),
            context.service.get_messages(session.id, include_rewound=True),
            context.service.list_file_events(session.id),
        )
    }


@given('"{owner:Text}" owns {count:d} sessions of one message each')
def step_owner_many(context: Context, owner: str, count: int) -> None:
    for _ in range(count):
        _owned_session(context, owner, 1)


@given('the first session of "{owner:Text}" was forked at sequence {point:d}')
def step_fork_owned(context: Context, owner: str, point: int) -> None:
    fork = context.service.fork_session(_nth(context, "first", owner).id, at_sequence=point)
    _own(context, owner, fork)


@given('the {ordinal:w} session of "{owner:Text}" is under a hold for "{reason:Text}"')
def step_hold_owned(context: Context, ordinal: str, owner: str, reason: str) -> None:
    context.service.set_hold(_nth(context, ordinal, owner).id, reason)


@when('I release the hold of the {ordinal:w} session of "{owner:Text}"')
def step_release_owned(context: Context, ordinal: str, owner: str) -> None:
    context.service.release_hold(_nth(context, ordinal, owner).id)


@when('I erase the owner "{owner:Text}"')
def step_erase(context: Context, owner: str) -> None:
    context.receipt = context.service.erase_owner(owner)


@when('I try to erase the owner "{owner:Text}"')
def step_try_erase(context: Context, owner: str) -> None:
    attempt(context, lambda: context.service.erase_owner(owner))


@when("I try to erase the owner given as {value}")
def step_try_erase_value(context: Context, value: str) -> None:
    owner = sample_value(value)
    attempt(context, lambda: context.service.erase_owner(owner))


@then("the receipt counts {sessions:d} sessions and these rows:")
def step_receipt_rows(context: Context, sessions: int) -> None:
    receipt = context.receipt
    expected = {row["table"]: int(row["rows"]) for row in context.table}
    assert receipt.sessions == sessions, receipt
    assert dict(receipt.rows) == expected, f"counted {dict(receipt.rows)}"


@then("the receipt counts {sessions:d} sessions")
def step_receipt_sessions(context: Context, sessions: int) -> None:
    assert context.receipt.sessions == sessions == context.receipt.rows["sessions"], context.receipt


@then("the receipt counts {sessions:d} sessions and {messages:d} messages")
def step_receipt_messages(context: Context, sessions: int, messages: int) -> None:
    step_receipt_sessions(context, sessions)
    assert context.receipt.rows["session_messages"] == messages, context.receipt


@then("the receipt counts 0 sessions and 0 rows in each of the six tables")
def step_receipt_zero(context: Context) -> None:
    receipt = context.receipt
    assert receipt.sessions == 0, receipt
    assert len(receipt.rows) == 6 and set(receipt.rows.values()) == {0}, receipt


@then("the receipt's finish is not before its start")
def step_receipt_times(context: Context) -> None:
    receipt = context.receipt
    assert_utc(receipt.started_at, "started_at")
    assert_utc(receipt.finished_at, "finished_at")
    assert receipt.started_at <= receipt.finished_at, receipt


@then('no session of "{owner:Text}" remains')
def step_nothing_remains(context: Context, owner: str) -> None:
    assert context.service.list(owner_id=owner) == [], "the owner still has sessions"
    for session in context.owner_sessions[owner]:
        attempt(context, lambda session=session: context.service.get(session.id))
        assert isinstance(context.error, SessionNotFoundError), f"{session.id} of {owner} remains"
    stored = context.service.list(limit=1000)
    gone = {session.id for session in context.owner_sessions[owner]}
    assert not gone & {session.id for session in stored}, "a session of the owner is listed"


@then(
    'the session of "{owner:Text}" reads as it did before, with its {messages:d} messages'
    " and its file event"
)
def step_other_untouched(context: Context, owner: str, messages: int) -> None:
    session, transcript, events = context.before[owner]
    assert context.service.get(session.id) == session
    assert context.service.get_messages(session.id, include_rewound=True) == transcript
    assert len(transcript) == messages
    assert context.service.list_file_events(session.id) == events and len(events) == 1
