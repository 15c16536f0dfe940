"""Steps about holds: putting a session under a hold, releasing it, and refused reasons."""

from __future__ import annotations

from behave import then, when
from behave.runner import Context

from features.session_world import assert_utc, attempt, sample_value


@when('I put the session under a hold for "{reason:Text}"')
def step_hold(context: Context, reason: str) -> None:
    context.held = context.service.set_hold(context.session.id, reason)


@when("I release the session's hold")
def step_release(context: Context) -> None:
    context.released = context.service.release_hold(context.session.id)


@when("I try to hold the session with the reason set to {value}")
def step_try_hold(context: Context, value: str) -> None:
    reason = sample_value(value)
    attempt(context, lambda: context.service.set_hold(context.session.id, reason))


@then('the session is held for "{reason:Text}"')
def step_is_held(context: Context, reason: str) -> None:
    stored = context.service.get(context.session.id)
    assert stored == context.held, f"set_hold returned {context.held}, get reads {stored}"
    assert stored.held and stored.hold_reason == reason, stored
    assert stored.held_at is not None
    assert_utc(stored.held_at, "held_at")
    assert stored.held_at >= stored.updated_at, "the hold was set before the last activity"


@then("the session is not held")
def step_not_held(context: Context) -> None:
    stored = context.service.get(context.session.id)
    assert not stored.held, stored
    assert (stored.hold_reason, stored.held_at) == (None, None), stored
    released = getattr(context, "released", None)
    assert released is None or released == stored, f"release_hold returned {released}"


@then("its updated_at has not moved")
def step_updated_at_kept(context: Context) -> None:
    stored = context.service.get(context.session.id)
    assert stored.updated_at == context.session.updated_at, (
        f"updated_at moved from {context.session.updated_at} to {stored.updated_at}"
    )
