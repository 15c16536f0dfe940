"""Steps about owners: creating sessions for an owner and listing with the owner's filters.

Sessions of these scenarios are filed by title (``context.titled``), since several share an
actor; the listing steps leave their page in ``context.listed`` for session_steps' checks.
"""

from __future__ import annotations

from typing import Any

from behave import given, then, when
from behave.runner import Context

from agent_sessions import Session
from features.session_world import remember


def _file(context: Context, session: Session) -> Session:
    if not hasattr(context, "titled"):
        context.titled = {}
    context.titled[session.title] = session
    return remember(context, session)


def _titled(context: Context, title: str) -> Session:
    """The session called ``title``, as stored now."""
    return context.service.get(context.titled[title].id)


# --- creating ---------------------------------------------------------------------------------


@when('I create a session for actor "{actor:Text}" owned by "{owner:Text}"')
def step_create_owned(context: Context, actor: str, owner: str) -> None:
    remember(context, context.service.create(actor, owner_id=owner))


@when('I create a session for actor "{actor:Text}" owned by an owner id of {length:d} characters')
def step_create_long_owner(context: Context, actor: str, length: int) -> None:
    context.owner = "o" * length
    remember(context, context.service.create(actor, owner_id=context.owner))


@when(
    'I get or create the session "{external_id:Text}" of actor "{actor:Text}"'
    ' for owner "{owner:Text}"'
)
def step_get_or_create_owned(context: Context, external_id: str, actor: str, owner: str) -> None:
    if not hasattr(context, "got"):
        context.got = []
    got = context.service.get_or_create(actor, external_id, owner_id=owner)
    context.got.append(got)
    remember(context, got)


@given("these sessions were created in this order, with owners:")
def step_created_with_owners(context: Context) -> None:
    for row in context.table:
        external_id = row["external id"] if "external id" in row.headings else ""
        _file(
            context,
            context.service.create(
                row["actor"],
                title=row["title"],
                owner_id=row["owner"] or None,
                external_id=external_id or None,
            ),
        )


@given(
    '"{first:Text}" was forked as "{first_fork:Text}"'
    ' and "{second:Text}" was forked as "{second_fork:Text}"'
)
def step_two_forks(
    context: Context, first: str, first_fork: str, second: str, second_fork: str
) -> None:
    for parent, title in ((first, first_fork), (second, second_fork)):
        _file(context, context.service.fork_session(context.titled[parent].id, title=title))


@given('a message was appended to "{title:Text}" after "{later:Text}" was created')
def step_append_later(context: Context, title: str, later: str) -> None:
    context.service.append_message(context.titled[title].id, "user", "still here")
    assert _titled(context, title).updated_at > context.titled[later].created_at


@given(
    '{mine:d} sessions owned by "{owner:Text}" and {theirs:d} owned by "{other:Text}"'
    " were created alternately"
)
def step_created_alternately(
    context: Context, mine: int, owner: str, theirs: int, other: str
) -> None:
    context.owned = []
    for n in range(max(mine, theirs)):
        if n < mine:
            mine_now = context.service.create("bot", title=f"{owner} {n}", owner_id=owner)
            context.owned.append(mine_now)
        if n < theirs:
            context.service.create("bot", title=f"{other} {n}", owner_id=other)


# --- listing ----------------------------------------------------------------------------------


def _list(context: Context, **filters: Any) -> None:
    context.listed = context.service.list(**filters)


@when('I list the sessions owned by "{owner:Text}"')
def step_list_owner(context: Context, owner: str) -> None:
    _list(context, owner_id=owner)


@when('I list the sessions owned by "{owner:Text}" of actor "{actor:Text}"')
def step_list_owner_actor(context: Context, owner: str, actor: str) -> None:
    _list(context, owner_id=owner, actor_name=actor)


@when('I list the sessions owned by "{owner:Text}" with external id "{external_id:Text}"')
def step_list_owner_external(context: Context, owner: str, external_id: str) -> None:
    _list(context, owner_id=owner, external_id=external_id)


@when('I list the sessions with external id "{external_id:Text}"')
def step_list_external(context: Context, external_id: str) -> None:
    _list(context, external_id=external_id)


@when('I list the forks of "{title:Text}" owned by "{owner:Text}"')
def step_list_forks_owner(context: Context, title: str, owner: str) -> None:
    _list(context, forked_from=context.titled[title].id, owner_id=owner)


@when(
    'I list the sessions owned by "{owner:Text}" created after "{first:Text}"'
    ' and before "{last:Text}" was created'
)
def step_list_created_between(context: Context, owner: str, first: str, last: str) -> None:
    _list(
        context,
        owner_id=owner,
        created_after=context.titled[first].created_at,
        created_before=context.titled[last].created_at,
    )


@when('I list the sessions owned by "{owner:Text}" last active {side:w} "{title:Text}" was created')
def step_list_active(context: Context, owner: str, side: str, title: str) -> None:
    bound = context.titled[title].created_at
    assert side in ("after", "before"), side
    _list(context, owner_id=owner, **{f"updated_{side}": bound})


@when('I list the sessions owned by "{owner:Text}" {size:d} at a time by following next_cursor')
def step_walk_owner(context: Context, owner: str, size: int) -> None:
    context.pages = [context.service.list(owner_id=owner, limit=size)]
    while (cursor := context.pages[-1].next_cursor) is not None:
        assert len(context.pages) < 100, "the pages never end"
        context.pages.append(context.service.list(owner_id=owner, limit=size, after=cursor))


# --- outcomes ---------------------------------------------------------------------------------


@then('the session belongs to "{owner:Text}"')
def step_belongs_to(context: Context, owner: str) -> None:
    assert context.session.owner_id == owner, context.session
    assert context.service.get(context.session.id).owner_id == owner


@then("the session belongs to no owner")
def step_belongs_to_none(context: Context) -> None:
    assert context.service.get(context.session.id).owner_id is None


@then("both calls return the same session")
def step_same_session(context: Context) -> None:
    first, second = context.got
    assert first == second, f"{first} != {second}"


@then("listing by that owner finds the session")
def step_listing_finds(context: Context) -> None:
    listed = context.service.list(owner_id=context.owner)
    assert [session.id for session in listed] == [context.session.id], listed


@then('together the pages list the {count:d} sessions of "{owner:Text}", newest first, each once')
def step_pages_cover_owner(context: Context, count: int, owner: str) -> None:
    walked = [session for page in context.pages for session in page]
    expected = sorted(context.owned, key=lambda s: (s.created_at, s.id), reverse=True)
    assert len(expected) == count
    assert [s.id for s in walked] == [s.id for s in expected], "pages differ from the owner's"
    assert all(session.owner_id == owner for session in walked)


@then("the pages hold {sizes} sessions")
def step_page_sizes(context: Context, sizes: str) -> None:
    wanted = [int(part) for part in sizes.replace(" and ", ", ").split(", ")]
    assert [len(page) for page in context.pages] == wanted, [len(p) for p in context.pages]
