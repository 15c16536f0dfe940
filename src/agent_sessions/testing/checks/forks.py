"""Checks of forks: what a fork copies, where it may start, and how a family of forks reads.

A fork copies the visible history of its source up to a point into a new session, which
remembers its parent; the source is left as it was.
"""

from __future__ import annotations

import dataclasses

from agent_sessions.domain.entities import FileEventType, NewMessage, SessionMessage
from agent_sessions.domain.errors import ExternalIdConflictError, InvalidInputError
from agent_sessions.domain.service import SessionService
from agent_sessions.testing.check import conformance_check
from agent_sessions.testing.checks.reading import session_of_roles
from agent_sessions.testing.checks.sessions import ACTOR, ULID
from agent_sessions.testing.expectations import (
    calling,
    expect,
    expect_equal,
    expect_raises,
    expect_unchanged,
    expect_utc,
    in_threads,
    store_state,
)


def _expect_copies(
    service: SessionService, fork_id: str, originals: list[SessionMessage], what: str
) -> list[SessionMessage]:
    """Expect the fork's messages to be ``originals`` renumbered 1..k under new ids."""
    copies = service.get_messages(fork_id, include_rewound=True)
    expect_equal(
        [dataclasses.replace(c, id="", session_id="") for c in copies],
        [
            dataclasses.replace(o, id="", session_id="", sequence=n, rewound_by=None)
            for n, o in enumerate(originals, start=1)
        ],
        f"{what}: the copies without their ids",
    )
    expect(
        all(c.session_id == fork_id and ULID.fullmatch(c.id) for c in copies)
        and not {c.id for c in copies} & {o.id for o in originals},
        f"{what}: copies must belong to the fork and have new ULIDs, got {copies}",
    )
    return copies


@conformance_check
def fork_copies_visible_history(service: SessionService) -> None:
    """fork_session() starts a session with copies of the source's messages up to at_sequence (all by default), renumbered from 1 under new ids with the same role, content, metadata, token_count and created_at, and with their file events; it records parent_session_id and forked_at_sequence, starts its token counters at zero, takes the source's actor, title and metadata unless given others, and leaves the source unchanged."""  # noqa: E501
    source = service.create(ACTOR, title="Source", metadata={"team": "a"})
    originals = service.append_messages(
        source.id,
        [
            NewMessage("user", "Fix the bug.", {"n": 1}, 3),
            NewMessage("assistant", "Edited app.py.", token_count=4),
            NewMessage("user", "Now the docs."),
            NewMessage("assistant", "Edited README."),
        ],
    )
    edit = service.record_file_event(source.id, originals[1].id, "edit", file_path="app.py")
    service.record_file_event(source.id, originals[3].id, "command", command="make docs")
    service.update_token_usage(source.id, prompt_tokens=5, completion_tokens=7)
    before = store_state(service)
    fork = service.fork_session(source.id, at_sequence=2)
    expect(ULID.fullmatch(fork.id) is not None and fork.id != source.id, f"fork id {fork.id!r}")
    expect_equal(
        (fork.actor_name, fork.title, fork.metadata, fork.external_id),
        (ACTOR, "Source", {"team": "a"}, None),
        "fork_session(at_sequence=2) (actor_name, title, metadata, external_id)",
    )
    expect_equal(
        (fork.parent_session_id, fork.forked_at_sequence, fork.message_count),
        (source.id, 2, 2),
        "fork_session(at_sequence=2) (parent_session_id, forked_at_sequence, message_count)",
    )
    expect_equal((fork.prompt_tokens, fork.completion_tokens), (0, 0), "the fork's token totals")
    expect_utc(fork.created_at, "fork_session().created_at")
    expect_equal(fork.updated_at, fork.created_at, "fork_session().updated_at")
    expect_equal(service.get(fork.id), fork, "get() of the fork")
    copies = _expect_copies(service, fork.id, originals[:2], "fork_session(at_sequence=2)")
    events = service.list_file_events(fork.id)
    expect_equal(
        [(e.session_id, e.message_id, e.event_type, e.file_path, e.created_at) for e in events],
        [(fork.id, copies[1].id, FileEventType.EDIT, "app.py", edit.created_at)],
        "the fork's file events (session_id, message_id, event_type, file_path, created_at)",
    )
    expect(events[0].id != edit.id, "a copied file event must have a new id")
    expect_equal(
        {k: v for k, v in store_state(service).sessions.items() if k != fork.id},
        before.sessions,
        "the store other than the fork after fork_session()",
    )
    whole = service.fork_session(
        source.id, actor_name="other-bot", title="Try B", external_id="fork-1"
    )
    expect_equal(
        (whole.actor_name, whole.title, whole.external_id, whole.forked_at_sequence),
        ("other-bot", "Try B", "fork-1", 4),
        "fork_session() of everything (actor_name, title, external_id, forked_at_sequence)",
    )
    _expect_copies(service, whole.id, originals, "fork_session() of everything")
    expect_equal(len(service.list_file_events(whole.id)), 2, "file events of the whole fork")
    empty = service.fork_session(source.id, at_sequence=0)
    expect_equal(
        (empty.forked_at_sequence, empty.message_count, service.get_messages(empty.id)),
        (0, 0, []),
        "fork_session(at_sequence=0) (forked_at_sequence, message_count, messages)",
    )
    expect_equal(
        service.append_message(fork.id, "user", "Try another way.").sequence,
        3,
        "the sequence of a fork's first own message",
    )
    unchanged = store_state(service)
    expect_raises(
        ExternalIdConflictError,
        calling(service.fork_session, source.id, actor_name="other-bot", external_id="fork-1"),
        "fork_session() with an external_id the actor already uses",
        argument="external_id",
    )
    expect_unchanged(service, unchanged, "fork_session() with a taken external_id")


@conformance_check
def fork_skips_rewound_messages(service: SessionService) -> None:
    """fork_session() copies only the visible messages up to its point, renumbered without the rewound ones; forking at a rewound message, past the end, or in a fork's rewound part raises InvalidInputError naming at_sequence, and writes nothing."""  # noqa: E501
    source = session_of_roles(service, "uauau")
    service.rewind(source, 2)
    later = service.append_message(source, "assistant", "after the rewind")
    visible = service.get_messages(source)
    expect_equal(
        [m.sequence for m in visible], [1, 2, 6], "visible sequences after rewind(2), append"
    )
    fork = service.fork_session(source, at_sequence=6)
    expect_equal(
        (fork.forked_at_sequence, fork.message_count), (6, 3), "fork_session(at_sequence=6)"
    )
    _expect_copies(service, fork.id, visible, "fork_session(at_sequence=6)")
    whole = service.fork_session(source)
    expect_equal(whole.forked_at_sequence, later.sequence, "fork_session() forked_at_sequence")
    _expect_copies(service, whole.id, visible, "fork_session() after a rewind")
    service.rewind(fork.id, 1)
    before = store_state(service)
    for session_id, point in ((source, 3), (source, 5), (source, 7), (fork.id, 2), (fork.id, 4)):
        expect_raises(
            InvalidInputError,
            calling(service.fork_session, session_id, at_sequence=point),
            f"fork_session(at_sequence={point}) of a session visible up to "
            f"{service.get_messages(session_id)[-1].sequence}",
            argument="at_sequence",
        )
    expect_unchanged(service, before, "fork_session() at a rewound or absent message")
    again = service.fork_session(fork.id, at_sequence=1)
    expect_equal(
        [s.id for s in service.lineage(again.id)], [fork.id, source], "lineage of a fork's fork"
    )


@conformance_check
def lineage_and_forks_listed(service: SessionService) -> None:
    """lineage() returns a fork's parents nearest first (empty for a session that is not a fork) and stops at a deleted parent, whose id the fork keeps; list(forked_from=id) returns the session's direct forks newest first, by page and by cursor."""  # noqa: E501
    root = session_of_roles(service, "ua")
    child = service.fork_session(root)
    grandchild = service.fork_session(child.id, at_sequence=1)
    sibling = service.fork_session(root, at_sequence=0)
    expect_equal(service.lineage(root), [], "lineage() of a session that is not a fork")
    expect_equal(
        service.lineage(grandchild.id),
        [service.get(child.id), service.get(root)],
        "lineage() of a fork's fork",
    )
    newest_first = sorted([child, sibling], key=lambda s: (s.created_at, s.id), reverse=True)
    expect_equal(
        service.list(forked_from=root), newest_first, "list(forked_from=root), newest first"
    )
    expect_equal(service.list(forked_from=child.id), [grandchild], "list(forked_from=child)")
    expect_equal(service.list(forked_from=grandchild.id), [], "list() of a session's no forks")
    expect_equal(
        service.list(forked_from=root, actor_name="nobody"), [], "list(forked_from, actor_name)"
    )
    first = service.list(forked_from=root, limit=1)
    expect(first.next_cursor is not None, "a full page of forks must carry a next_cursor")
    expect_equal(
        service.list(forked_from=root, limit=1, after=first.next_cursor),
        newest_first[1:],
        "list(forked_from=root, limit=1) after the first page",
    )
    service.delete(root)
    expect_equal(
        service.lineage(grandchild.id), [service.get(child.id)], "lineage() past a deleted root"
    )
    expect_equal(service.lineage(child.id), [], "lineage() of a fork whose parent is deleted")
    expect_equal(service.get(child.id).parent_session_id, root, "a fork's deleted parent's id")
    for bad in ("not-a-ulid", 7):
        expect_raises(
            InvalidInputError,
            calling(service.list, forked_from=bad),
            f"list(forked_from={bad!r})",
            argument="forked_from",
        )


@conformance_check
def forks_racing_appends_copy_whole_batches(service: SessionService) -> None:
    """fork_session() from 4 threads while 4 others append batches of 5 to the source copies a prefix of the source that holds whole batches only, and every store passes verify()."""  # noqa: E501
    source = service.create(ACTOR)

    def work(thread: int) -> str | None:
        if thread % 2:
            return service.fork_session(source.id).id
        batch = [NewMessage("user", f"thread {thread} item {n}") for n in range(5)]
        service.append_messages(source.id, batch)
        return None

    forks = [fork for fork in in_threads(8, work) if fork is not None]
    contents = [m.content for m in service.get_messages(source.id)]
    expect_equal(len(contents), 20, "messages of the source after 4 batches of 5")
    for fork_id in forks:
        fork = service.get(fork_id)
        point = fork.forked_at_sequence or 0
        copied = [m.content for m in service.get_messages(fork_id)]
        expect(
            point % 5 == 0 and copied == contents[:point] and fork.message_count == point,
            f"fork at {point} must copy whole batches, the source's first {point} messages: "
            f"got {copied}",
        )
    expect(service.verify().ok, f"verify() after racing forks: {service.verify()}")
