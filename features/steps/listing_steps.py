"""Steps about keyset pagination of session listings (``list(after=cursor)``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from behave import given, then, when
from behave.runner import Context

from agent_sessions import PersistentSessionService
from agent_sessions.infrastructure.database import open_store
from features.session_world import attempt


@given('{number:d} sessions of actor "{actor}" were created, some within the same microsecond')
def step_sessions_with_ties(context: Context, number: int, actor: str) -> None:
    # Pairs of sessions share a created_at, so that the listing must order them by id.
    base = datetime.now(UTC).replace(microsecond=0)
    ticks = count()
    tied = PersistentSessionService(
        open_store(context.database_url),
        clock=lambda: base + timedelta(microseconds=next(ticks) // 2),
    )
    context.add_cleanup(tied.close)
    context.walked_actor = actor
    context.created = [tied.create(actor, title=f"{actor} {n}") for n in range(number)]


def _walk(context: Context, actor: str, size: int, *, create_after_first: bool = False) -> None:
    context.pages = [context.service.list(actor_name=actor, limit=size)]
    if create_after_first:
        context.service.create(actor, title="created while paging")
    while context.pages[-1].next_cursor is not None:
        cursor = context.pages[-1].next_cursor
        context.pages.append(context.service.list(actor_name=actor, limit=size, after=cursor))
    context.page_size = size


@when('I list the sessions of "{actor}" {size:d} at a time by following next_cursor')
def step_walk(context: Context, actor: str, size: int) -> None:
    _walk(context, actor, size)


@when(
    'I list the sessions of "{actor}" {size:d} at a time, creating a session after the first page'
)
def step_walk_while_creating(context: Context, actor: str, size: int) -> None:
    _walk(context, actor, size, create_after_first=True)


@when("I try to continue the listing with offset {offset:d} as well")
def step_cursor_and_offset(context: Context, offset: int) -> None:
    cursor = context.pages[0].next_cursor
    assert cursor is not None, "the first page should have a cursor"
    attempt(context, lambda: context.service.list(limit=2, offset=offset, after=cursor))


def _walked(context: Context) -> list[str]:
    return [session.id for page in context.pages for session in page]


@then("together the pages list the {number:d} sessions that existed before, each once")
def step_walked_before(context: Context, number: int) -> None:
    before = {session.id for session in context.created}
    walked = _walked(context)
    assert len(walked) == len(set(walked)), "a session was listed twice"
    assert set(walked) == before, "the pages do not list exactly the sessions created before"
    assert len(before) == number
