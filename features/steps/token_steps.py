"""Steps about the token usage a session accumulates."""

from __future__ import annotations

from behave import given, then, when
from behave.runner import Context

from features.session_world import attempt, sample_value


@given("the session has used {prompt:d} prompt and {completion:d} completion tokens")
def step_record_usage(context: Context, prompt: int, completion: int) -> None:
    context.recorded = context.service.update_token_usage(
        context.session.id, prompt_tokens=prompt, completion_tokens=completion
    )


@when("I try to record token usage with {argument:w} set to {value}")
def step_try_record(context: Context, argument: str, value: str) -> None:
    arguments = {argument: sample_value(value)}
    session_id = context.session.id
    attempt(context, lambda: context.service.update_token_usage(session_id, **arguments))


@then(
    "the session has used {prompt:d} prompt, {completion:d} completion and {total:d} total tokens"
)
def step_usage_is(context: Context, prompt: int, completion: int, total: int) -> None:
    stored = context.service.get(context.session.id)
    got = (stored.prompt_tokens, stored.completion_tokens, stored.total_tokens)
    assert got == (prompt, completion, total), f"usage is {got}"
