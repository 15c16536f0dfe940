"""Checks of ``list()``: newest first, by actor, by cursor and by offset, and its bad arguments."""

from __future__ import annotations

from agent_sessions.domain.entities import Session
from agent_sessions.domain.errors import InvalidInputError
from agent_sessions.domain.service import SessionService
from agent_sessions.testing.check import conformance_check
from agent_sessions.testing.expectations import calling, expect, expect_equal, expect_raises


def _newest_first(sessions: list[Session]) -> list[str]:
    ordered = sorted(sessions, key=lambda session: (session.created_at, session.id), reverse=True)
    return [session.id for session in ordered]


def _ids(sessions: list[Session]) -> list[str]:
    return [session.id for session in sessions]


@conformance_check
def list_newest_first(service: SessionService) -> None:
    """list() returns every session newest first (created_at, then id, descending), or only one actor's when actor_name is given."""  # noqa: E501
    mine = [service.create("alpha") for _ in range(3)]
    theirs = [service.create("beta") for _ in range(2)]
    page = service.list()
    expect_equal(_ids(page), _newest_first(mine + theirs), "list() ids")
    expect_equal(page.next_cursor, None, "list().next_cursor of a page that is not full")
    expect_equal(page, [service.get(id_) for id_ in _ids(page)], "list() sessions against get()")
    expect_equal(_ids(service.list(actor_name="alpha")), _newest_first(mine), "list(alpha)")
    expect_equal(service.list(actor_name="nobody"), [], "list() of an actor without sessions")


@conformance_check
def list_pages_by_cursor(service: SessionService) -> None:
    """list(after=page.next_cursor) walks the sessions page by page, without repeat or gap; next_cursor is None after a short page, and a full last page leads to an empty one."""  # noqa: E501
    sessions = [service.create("alpha") for _ in range(5)]
    service.create("beta")
    expected = _newest_first(sessions)
    seen: list[str] = []
    page = service.list(actor_name="alpha", limit=2)
    sizes = []
    while True:
        sizes.append(len(page))
        seen += _ids(page)
        if page.next_cursor is None:
            break
        expect(len(sizes) < 10, "list() pages never end: next_cursor is never None")
        page = service.list(actor_name="alpha", limit=2, after=page.next_cursor)
    expect_equal(sizes, [2, 2, 1], "page sizes of 5 sessions by 2")
    expect_equal(seen, expected, "sessions seen by cursor")
    full = service.list(actor_name="alpha", limit=5)
    expect(full.next_cursor is not None, "a full page must carry a next_cursor")
    last = service.list(actor_name="alpha", limit=5, after=full.next_cursor)
    expect_equal((list(last), last.next_cursor), ([], None), "the page after a full last page")


@conformance_check
def list_pages_by_offset(service: SessionService) -> None:
    """list(limit, offset) skips offset sessions of the newest-first order and returns at most limit."""  # noqa: E501
    expected = _newest_first([service.create("alpha") for _ in range(4)])
    expect_equal(_ids(service.list(limit=2, offset=1)), expected[1:3], "list(limit=2, offset=1)")
    expect_equal(_ids(service.list(offset=3)), expected[3:], "list(offset=3)")
    expect_equal(service.list(offset=4), [], "list(offset=4) of 4 sessions")


@conformance_check
def list_rejects_bad_arguments(service: SessionService) -> None:
    """list() refuses a limit outside 1 to 1000, a negative offset, a string that is not a cursor, and after with an offset, with InvalidInputError naming the argument."""  # noqa: E501
    service.create("alpha")
    cursor = service.list(limit=1).next_cursor
    expect(cursor is not None, "list(limit=1) of 1 session must carry a next_cursor")
    bad_calls: dict[str, list[dict[str, object]]] = {
        "limit": [{"limit": 0}, {"limit": 1001}, {"limit": "10"}, {"limit": True}],
        "offset": [{"offset": -1}, {"offset": "1"}, {"after": cursor, "offset": 1}],
        "after": [{"after": "not a cursor"}, {"after": 7}],
    }
    for argument, calls in bad_calls.items():
        for arguments in calls:
            expect_raises(
                InvalidInputError,
                calling(service.list, **arguments),
                f"list(**{arguments!r})",
                argument=argument,
            )
