"""Steps about the token usage a session accumulates."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from behave import given, then, when
from behave.runner import Context

from features.session_world import attempt, sample_value


@given("the session has used {prompt:d} prompt and {completion:d} completion tokens")
@when("I record {prompt:d} prompt and {completion:d} completion tokens")
def step_record_usage(context: Context, prompt: int, completion: int) -> None:
    context.recorded = context.service.update_token_usage(
        context.session.id, prompt_tokens=prompt, completion_tokens=completion
    )


@when("I record {completion:d} completion tokens only")
def step_record_completion_only(context: Context, completion: int) -> None:
    context.recorded = context.service.update_token_usage(
        context.session.id, completion_tokens=completion
    )


@when(
    "{threads:d} threads each record {prompt:d} prompt and {completion:d} completion tokens"
    " {times:d} times at the same time"
)
def step_concurrent_usage(
    context: Context, threads: int, prompt: int, completion: int, times: int
) -> None:
    session_id = context.session.id
    start = threading.Barrier(threads)

    def record(_thread: int) -> None:
        start.wait()
        for _ in range(times):
            context.service.update_token_usage(
                session_id, prompt_tokens=prompt, completion_tokens=completion
            )

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(record, range(threads)))


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


@then("the last recording returned those same totals")
def step_returned_totals(context: Context) -> None:
    stored = context.service.get(context.session.id)
    assert context.recorded == stored, f"returned {context.recorded!r}, stored {stored!r}"
