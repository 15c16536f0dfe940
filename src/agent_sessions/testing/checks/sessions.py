"""Checks of sessions: creating, reading, finding by external id, deleting, and bad ids."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from agent_sessions.domain.entities import Session
from agent_sessions.domain.errors import (
    ExternalIdConflictError,
    InvalidInputError,
    SessionNotFoundError,
)
from agent_sessions.domain.service import SessionService
from agent_sessions.testing.check import conformance_check
from agent_sessions.testing.expectations import (
    expect,
    expect_equal,
    expect_raises,
    expect_unchanged,
    expect_utc,
    in_threads,
    store_state,
    unknown_id,
)

ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")

ACTOR = "conformance-bot"


def _calls_on(service: SessionService, session_id: str) -> dict[str, Callable[[], object]]:
    """Every method that takes a session id, called on ``session_id`` with valid arguments."""
    message_id = unknown_id()
    return {
        "get": lambda: service.get(session_id),
        "delete": lambda: service.delete(session_id),
        "append_message": lambda: service.append_message(session_id, "user", "hello"),
        "append_messages": lambda: service.append_messages(session_id, []),
        "pop_message": lambda: service.pop_message(session_id),
        "iter_messages": lambda: list(service.iter_messages(session_id)),
        "get_messages": lambda: service.get_messages(session_id),
        "recent_messages": lambda: service.recent_messages(session_id, 5),
        "fork_session": lambda: service.fork_session(session_id),
        "lineage": lambda: service.lineage(session_id),
        "rewind": lambda: service.rewind(session_id, 0),
        "undo_rewind": lambda: service.undo_rewind(session_id),
        "list_rewinds": lambda: service.list_rewinds(session_id),
        "compact": lambda: service.compact(session_id, 1, "a summary"),
        "list_compactions": lambda: service.list_compactions(session_id),
        "context_messages": lambda: service.context_messages(session_id, limit=5),
        "export_session": lambda: service.export_session(session_id),
        "export_session_to": lambda: service.export_session_to(session_id, io.BytesIO()),
        "update_token_usage": lambda: service.update_token_usage(session_id, prompt_tokens=1),
        "record_file_event": lambda: service.record_file_event(
            session_id, message_id, "read", file_path="a.py"
        ),
        "list_file_events": lambda: service.list_file_events(session_id),
        "files_touched": lambda: service.files_touched(session_id),
        "verify": lambda: service.verify(session_id),
        "set_hold": lambda: service.set_hold(session_id, "legal hold"),
        "release_hold": lambda: service.release_hold(session_id),
    }


@conformance_check
def create_session(service: SessionService) -> None:
    """create() returns a new session: a ULID id, the given fields, zero counters, created_at equal to updated_at (UTC); get() returns it unchanged."""  # noqa: E501
    session = service.create(
        ACTOR, title="Printer help", metadata={"channel": "web"}, external_id="ses-1"
    )
    expect(isinstance(session, Session), f"create() returned {type(session).__name__}")
    expect(ULID.fullmatch(session.id) is not None, f"create().id {session.id!r} is not a ULID")
    expect_equal(
        (session.actor_name, session.title, session.metadata, session.external_id),
        (ACTOR, "Printer help", {"channel": "web"}, "ses-1"),
        "create() (actor_name, title, metadata, external_id)",
    )
    expect_equal(
        (session.prompt_tokens, session.completion_tokens, session.message_count),
        (0, 0, 0),
        "create() (prompt_tokens, completion_tokens, message_count)",
    )
    expect_utc(session.created_at, "create().created_at")
    expect_equal(session.updated_at, session.created_at, "create().updated_at")
    expect_equal(service.get(session.id), session, "get() of the new session")
    bare = service.create(ACTOR)
    expect_equal(
        (bare.title, bare.metadata, bare.external_id),
        (None, {}, None),
        "create() without options (title, metadata, external_id)",
    )
    expect(bare.id != session.id, "two create() calls returned the same id")


@conformance_check
def unknown_session_raises_not_found(service: SessionService) -> None:
    """Every method given a well-formed id that names no session raises SessionNotFoundError and writes nothing."""  # noqa: E501
    service.create(ACTOR)
    before = store_state(service)
    missing = unknown_id()
    for name, call in _calls_on(service, missing).items():
        error = expect_raises(SessionNotFoundError, call, f"{name}(an unknown session id)")
        expect_equal(error.session_id, missing, f"{name}(an unknown id) error's session_id")
    expect_unchanged(service, before, "calls on an unknown session")


@conformance_check
def malformed_session_id_rejected(service: SessionService) -> None:
    """Every method given a malformed session id raises InvalidInputError (a ValueError) naming session_id."""  # noqa: E501
    service.create(ACTOR)
    before = store_state(service)
    for bad in ("not-a-ulid", "", unknown_id() + " ", "8" + unknown_id()[1:], 42):
        for name, call in _calls_on(service, bad).items():  # type: ignore[arg-type]
            error = expect_raises(
                InvalidInputError, call, f"{name}({bad!r})", argument="session_id"
            )
            expect(isinstance(error, ValueError), "InvalidInputError must be a ValueError")
    expect_unchanged(service, before, "calls with a malformed session id")


@conformance_check
def session_ids_ignore_case(service: SessionService) -> None:
    """Session ids are matched without regard to case: the lower-case id names the same session."""
    session = service.create(ACTOR)
    expect_equal(service.get(session.id.lower()), session, "get(the id in lower case)")
    message = service.append_message(session.id.lower(), "user", "hello")
    expect_equal(message.session_id, session.id, "append_message(lower-case id).session_id")


@conformance_check
def external_id_lookup(service: SessionService) -> None:
    """get_by_external_id() finds the actor's session by its exact external id, and None otherwise; two actors may share one."""  # noqa: E501
    session = service.create(ACTOR, external_id="ses_8f2c1a")
    other = service.create("other-bot", external_id="ses_8f2c1a")
    expect_equal(service.get_by_external_id(ACTOR, "ses_8f2c1a"), session, "get_by_external_id()")
    expect_equal(
        service.get_by_external_id("other-bot", "ses_8f2c1a"),
        other,
        "get_by_external_id() of the second actor",
    )
    for actor, external_id in ((ACTOR, "SES_8F2C1A"), (ACTOR, "ses_8f2c1"), ("nobody", "x")):
        expect_equal(
            service.get_by_external_id(actor, external_id),
            None,
            f"get_by_external_id({actor!r}, {external_id!r})",
        )


@conformance_check
def external_id_conflict(service: SessionService) -> None:
    """create() with an external id the actor already uses raises ExternalIdConflictError naming the holder, and writes nothing."""  # noqa: E501
    first = service.create(ACTOR, external_id="ses-1")
    before = store_state(service)
    error = expect_raises(
        ExternalIdConflictError,
        lambda: service.create(ACTOR, title="again", external_id="ses-1"),
        "create() with a taken external_id",
        argument="external_id",
    )
    expect_equal(
        (error.actor_name, error.external_id, error.session_id),
        (ACTOR, "ses-1", first.id),
        "ExternalIdConflictError (actor_name, external_id, session_id)",
    )
    expect_unchanged(service, before, "create() with a taken external_id")


@conformance_check
def get_or_create_creates_once(service: SessionService) -> None:
    """get_or_create() creates the session with its title and metadata once, then returns it as stored."""  # noqa: E501
    created = service.get_or_create(ACTOR, "ses-9", title="First", metadata={"turn": 1})
    expect_equal(
        (created.actor_name, created.external_id, created.title, created.metadata),
        (ACTOR, "ses-9", "First", {"turn": 1}),
        "get_or_create() of a new external id",
    )
    again = service.get_or_create(ACTOR, "ses-9", title="Second", metadata={"turn": 2})
    expect_equal(again, created, "get_or_create() of an existing external id")
    expect_equal(len(service.list(actor_name=ACTOR)), 1, "sessions after two get_or_create()")
    expect_raises(
        InvalidInputError,
        lambda: service.get_or_create(ACTOR, None),  # type: ignore[arg-type]
        "get_or_create(actor, None)",
        argument="external_id",
    )


@conformance_check
def get_or_create_race(service: SessionService) -> None:
    """get_or_create() called at once from 8 threads with one external id creates one session, which every caller gets."""  # noqa: E501
    sessions = in_threads(8, lambda _: service.get_or_create(ACTOR, "ses-race"))
    expect_equal(len({session.id for session in sessions}), 1, "distinct sessions returned")
    expect_equal(len(service.list()), 1, "sessions stored after the race")


@conformance_check
def delete_cascades(service: SessionService) -> None:
    """delete() removes the session with its messages and file events and leaves other sessions alone; a second delete() raises SessionNotFoundError."""  # noqa: E501
    doomed = service.create(ACTOR)
    kept = service.create(ACTOR)
    for session in (doomed, kept):
        reply = service.append_message(session.id, "assistant", "done", token_count=2)
        service.record_file_event(session.id, reply.id, "edit", file_path="src/app.py")
        service.update_token_usage(session.id, completion_tokens=2)
    before = {kept.id: store_state(service).sessions[kept.id]}
    expect_equal(service.delete(doomed.id), None, "delete()")
    expect_raises(SessionNotFoundError, lambda: service.get(doomed.id), "get() after delete()")
    expect_raises(
        SessionNotFoundError,
        lambda: service.get_messages(doomed.id),
        "get_messages() after delete()",
    )
    expect_equal(
        [session.id for session in service.sessions_touching("src/app.py")],
        [kept.id],
        "sessions_touching() after delete()",
    )
    expect_equal(store_state(service).sessions, before, "the store after delete()")
    expect_raises(SessionNotFoundError, lambda: service.delete(doomed.id), "a second delete()")
