"""Checks of owners: who a session belongs to, the list filters, holds and ``erase_owner``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent_sessions.domain.entities import ERASURE_TABLES, Session
from agent_sessions.domain.errors import InvalidInputError, SessionNotFoundError
from agent_sessions.domain.service import SessionService
from agent_sessions.testing.check import conformance_check
from agent_sessions.testing.expectations import (
    calling,
    expect,
    expect_equal,
    expect_raises,
    expect_unchanged,
    expect_utc,
    store_state,
)

ACTOR = "support-bot"

_HOSTILE_OWNER_IDS: tuple[object, ...] = ("", "  \t ", "o" * 256, "a\x00b", "a\ud800b", 42)


def _newest_first(sessions: list[Session]) -> list[str]:
    ordered = sorted(sessions, key=lambda session: (session.created_at, session.id), reverse=True)
    return [session.id for session in ordered]


def _ids(sessions: list[Session]) -> list[str]:
    return [session.id for session in sessions]


def _with_messages(service: SessionService, owner: str | None, count: int) -> Session:
    session = service.create(ACTOR, owner_id=owner)
    for n in range(count):
        service.append_message(session.id, ("user", "assistant")[n % 2], f"turn {n}")
    return service.get(session.id)


@conformance_check
def owner_round_trips(service: SessionService) -> None:
    """create() and get_or_create() store the owner_id (None when not given); get_or_create() keeps the owner of the session it first created."""  # noqa: E501
    owned = service.create(ACTOR, owner_id="user-42")
    expect_equal(owned.owner_id, "user-42", "create(owner_id='user-42').owner_id")
    expect_equal(service.get(owned.id), owned, "get() of a session with an owner")
    expect_equal(service.create(ACTOR).owner_id, None, "create() without an owner: owner_id")
    longest = service.create(ACTOR, owner_id="o" * 255)
    expect_equal(service.get(longest.id).owner_id, "o" * 255, "owner_id of 255 characters")
    first = service.get_or_create(ACTOR, "ticket-7", owner_id="user-42")
    again = service.get_or_create(ACTOR, "ticket-7", owner_id="user-99")
    expect_equal(first.owner_id, "user-42", "get_or_create(owner_id='user-42').owner_id")
    expect_equal(again, first, "get_or_create() again, with another owner")


@conformance_check
def list_filters_by_owner(service: SessionService) -> None:
    """list(owner_id=...) returns that owner's sessions newest first, combined with actor_name, external_id and forked_from (a fork belongs to its source's owner), and pages through them by cursor without repeat or gap."""  # noqa: E501
    alice = [service.create(ACTOR, owner_id="alice", external_id=f"t-{n}") for n in range(5)]
    alice.append(service.create("other-bot", owner_id="alice", external_id="t-0"))
    bob = service.create(ACTOR, owner_id="bob")
    service.create(ACTOR)
    expect_equal(_ids(service.list(owner_id="alice")), _newest_first(alice), "list(alice)")
    expect_equal(service.list(owner_id="carol"), [], "list() of an owner without sessions")
    expect_equal(
        _ids(service.list(owner_id="alice", actor_name="other-bot")),
        [alice[-1].id],
        "list(owner_id, actor_name)",
    )
    expect_equal(
        _ids(service.list(owner_id="alice", external_id="t-0")),
        _newest_first([alice[0], alice[-1]]),
        "list(owner_id, external_id)",
    )
    fork = service.fork_session(bob.id)
    expect_equal(
        _ids(service.list(forked_from=bob.id, owner_id="alice")),
        [],
        "list(forked_from, owner_id of another owner)",
    )
    expect_equal(fork.owner_id, "bob", "the owner_id of a fork of bob's session")
    expect_equal(
        _ids(service.list(forked_from=bob.id, owner_id="bob")),
        [fork.id],
        "list(forked_from, owner_id)",
    )
    seen: list[str] = []
    page = service.list(owner_id="alice", limit=4)
    while True:
        seen += _ids(page)
        if page.next_cursor is None:
            break
        expect(len(seen) <= len(alice), "list(owner_id, after=...) pages never end")
        page = service.list(owner_id="alice", limit=4, after=page.next_cursor)
    expect_equal(seen, _newest_first(alice), "an owner's sessions seen by cursor, 4 at a time")


@conformance_check
def list_filters_by_time(service: SessionService) -> None:
    """list() filters by created_after, created_before, updated_after and updated_before, each a strict bound."""  # noqa: E501
    first, middle, last = (service.create(ACTOR, owner_id="alice") for _ in range(3))
    service.append_message(first.id, "user", "still here")
    first = service.get(first.id)
    expect(
        first.created_at < middle.created_at < last.created_at < first.updated_at,
        "three sessions created one after the other, then a message in the first",
    )
    cases: dict[str, tuple[dict[str, Any], list[Session]]] = {
        "created between the first and the last": (
            {"created_after": first.created_at, "created_before": last.created_at},
            [middle],
        ),
        "created after the middle": ({"created_after": middle.created_at}, [last]),
        "created before the middle": ({"created_before": middle.created_at}, [first]),
        "updated after the last was created": ({"updated_after": last.updated_at}, [first]),
        "updated before the last was created": ({"updated_before": last.updated_at}, [middle]),
        "updated from the middle to the first's message": (
            {"updated_after": middle.updated_at, "updated_before": first.updated_at},
            [last],
        ),
    }
    for what, (bounds, expected) in cases.items():
        for owner in (None, "alice"):
            listed = service.list(owner_id=owner, **bounds)
            expect_equal(_ids(listed), _newest_first(expected), f"list() {what}, owner {owner}")


@conformance_check
def owner_and_bounds_rejected(service: SessionService) -> None:
    """create(), get_or_create() and list() refuse an owner_id that is blank, over-long (256 characters), holds a NUL or a lone surrogate, or is no string, and list() a bound that is naive or no datetime, with InvalidInputError naming the argument; nothing is written."""  # noqa: E501
    service.create(ACTOR, owner_id="alice")
    before = store_state(service)
    for bad in _HOSTILE_OWNER_IDS:
        for what, call in (
            ("create", calling(service.create, ACTOR, owner_id=bad)),
            ("get_or_create", calling(service.get_or_create, ACTOR, "t-1", owner_id=bad)),
            ("list", calling(service.list, owner_id=bad)),
        ):
            expect_raises(InvalidInputError, call, f"{what}(owner_id={bad!r})", argument="owner_id")
    for bound in ("created_after", "created_before", "updated_after", "updated_before"):
        for bad in (datetime(2024, 1, 1, 12, 0), "2024-01-01T12:00:00Z", 1704110400):
            expect_raises(
                InvalidInputError,
                calling(service.list, **{bound: bad}),
                f"list({bound}={bad!r})",
                argument=bound,
            )
    expect_unchanged(service, before, "calls with a hostile owner_id")


@conformance_check
def holds_keep_updated_at(service: SessionService) -> None:
    """set_hold() puts a session under a hold with its reason and a UTC held_at, again replaces the reason, and release_hold() lifts it; neither moves updated_at, and a blank, over-long (4 KiB) or non-string reason is refused naming reason."""  # noqa: E501
    session = _with_messages(service, "alice", 2)
    held = service.set_hold(session.id, "legal hold")
    expect_equal((held.held, held.hold_reason), (True, "legal hold"), "set_hold() session")
    expect_utc(held.held_at, "held_at")
    expect_equal(held.updated_at, session.updated_at, "updated_at after set_hold()")
    expect_equal(service.get(session.id), held, "get() after set_hold()")
    again = service.set_hold(session.id, "dispute")
    expect_equal(again.hold_reason, "dispute", "hold_reason after a second set_hold()")
    for bad in ("", "  ", "x" * 4097, None, 42):
        expect_raises(
            InvalidInputError,
            calling(service.set_hold, session.id, bad),
            f"set_hold(reason={bad!r})",
            argument="reason",
        )
    expect_equal(service.get(session.id), again, "the session after refused holds")
    released = service.release_hold(session.id)
    expect_equal(
        (released.held, released.hold_reason, released.held_at),
        (False, None, None),
        "release_hold() session",
    )
    expect_equal(released.updated_at, session.updated_at, "updated_at after release_hold()")
    expect_equal(service.release_hold(session.id), released, "release_hold() when not held")
    expect_equal(service.get(session.id), released, "get() after release_hold()")


@conformance_check
def erase_owner_removes_everything_of_the_owner_and_nothing_of_others(
    service: SessionService,
) -> None:
    """erase_owner() deletes every session of the owner (forks included) with its messages, file events, token receipts, rewinds and compactions, counts them by table, and leaves other owners' sessions as they were."""  # noqa: E501
    full = _with_messages(service, "alice", 4)
    first = service.get_messages(full.id, limit=1)[0]
    service.record_file_event(full.id, first.id, "read", file_path="src/app.py")
    service.update_token_usage(full.id, prompt_tokens=3, completion_tokens=4, idempotency_key="k")
    service.compact(full.id, 2, "two turns")
    service.rewind(full.id, 3)
    small = _with_messages(service, "alice", 1)
    fork = service.fork_session(small.id)
    kept = [_with_messages(service, "bob", 2), _with_messages(service, None, 1)]
    message = service.get_messages(kept[0].id, limit=1)[0]
    service.record_file_event(kept[0].id, message.id, "edit", file_path="README.md")
    before = store_state(service)
    receipt = service.erase_owner("alice")
    expect_equal((receipt.owner_id, receipt.sessions), ("alice", 3), "receipt owner and sessions")
    expect_equal(
        dict(receipt.rows),
        {
            "sessions": 3,
            "session_messages": 6,
            "session_file_events": 1,
            "session_token_usage": 1,
            "session_rewinds": 1,
            "session_compactions": 1,
        },
        "erase_owner() receipt rows",
    )
    expect_utc(receipt.started_at, "receipt started_at")
    expect_utc(receipt.finished_at, "receipt finished_at")
    expect(receipt.started_at <= receipt.finished_at, "the receipt finishes before it starts")
    for gone in (full, small, fork):
        expect_raises(SessionNotFoundError, calling(service.get, gone.id), "get(an erased id)")
    expect_equal(service.list(owner_id="alice"), [], "list(owner_id) after erase_owner()")
    after = store_state(service)
    expect_equal(
        after.sessions,
        {key: rows for key, rows in before.sessions.items() if key in _ids(kept)},
        "the other owners' sessions after erase_owner()",
    )
    expect(service.verify().ok, "verify() after erase_owner() finds problems")


@conformance_check
def erase_owner_refused_while_held(service: SessionService) -> None:
    """erase_owner() refuses, with InvalidInputError naming owner_id and writing nothing, while a session of the owner is held; released, it erases them all."""  # noqa: E501
    sessions = [_with_messages(service, "alice", 1) for _ in range(3)]
    service.create(ACTOR, owner_id="bob")
    service.set_hold(sessions[1].id, "legal hold")
    before = store_state(service)
    expect_raises(
        InvalidInputError,
        calling(service.erase_owner, "alice"),
        "erase_owner() while a session is held",
        argument="owner_id",
    )
    expect_unchanged(service, before, "erase_owner() of an owner with a held session")
    service.release_hold(sessions[1].id)
    expect_equal(service.erase_owner("alice").sessions, 3, "erase_owner() after release_hold()")
    expect_equal(service.list(owner_id="alice"), [], "list(owner_id) after erase_owner()")


@conformance_check
def erase_owner_without_sessions(service: SessionService) -> None:
    """erase_owner() of an owner without sessions returns a receipt of zeros in every table, and refuses a hostile owner_id naming it; neither writes anything."""  # noqa: E501
    service.create(ACTOR, owner_id="alice")
    before = store_state(service)
    receipt = service.erase_owner("carol")
    expect_equal(
        (receipt.owner_id, receipt.sessions, dict(receipt.rows)),
        ("carol", 0, dict.fromkeys(ERASURE_TABLES, 0)),
        "erase_owner() of an owner without sessions",
    )
    for bad in (*_HOSTILE_OWNER_IDS, None):
        expect_raises(
            InvalidInputError,
            calling(service.erase_owner, bad),
            f"erase_owner({bad!r})",
            argument="owner_id",
        )
    expect_unchanged(service, before, "erase_owner() of nobody's sessions")
