"""``agent-sessions sessions list|show|files|events|delete``: read and delete stored sessions.

``sessions export`` and ``sessions import`` live in :mod:`.transfer_commands`, ``sessions
fork``, ``rewind``, ``compact`` and ``tree`` in :mod:`.history_commands`. The service
checks every value given on the command line; ``main`` names the option in its errors.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from agent_sessions.domain.entities import FileEventType
from agent_sessions.domain.errors import InvalidInputError
from agent_sessions.domain.export_history import compaction_record, rewind_record
from agent_sessions.domain.export_records import message_record
from agent_sessions.domain.history import compaction_in_force
from agent_sessions.infrastructure.cli.conversation import print_conversation
from agent_sessions.infrastructure.cli.rendering import (
    event_records,
    events_by_message,
    events_table,
    print_json,
    sequences_by_message,
    session_json,
    sessions_table,
    touch_record,
    touches_table,
)
from agent_sessions.infrastructure.cli.text_table import print_table

if TYPE_CHECKING:
    from agent_sessions.application.services import PersistentSessionService

__all__ = ["add_delete_command", "add_session_commands", "open_service", "parse_moment"]

_TIME_BOUNDS = {
    "created_after": "created after TIME",
    "created_before": "created before TIME",
    "updated_after": "last active after TIME",
    "updated_before": "last active before TIME",
}
"""The time bounds of ``sessions list``: each option's ``dest`` (the service's argument)."""


def open_service(url: str, *, migrate: bool = False) -> PersistentSessionService:
    """Open the service on ``url`` as ``from_url`` does (importing the database adapter now)."""
    from agent_sessions import PersistentSessionService

    return PersistentSessionService.from_url(url, migrate=migrate)


def add_session_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``list``, ``show``, ``files`` and ``events`` to the ``sessions`` group."""
    listing = commands.add_parser("list", help="list sessions, newest first")
    listing.add_argument(
        "--actor", dest="actor_name", metavar="ACTOR", help="only this actor's sessions"
    )
    listing.add_argument(
        "--forked-from",
        dest="forked_from",
        metavar="ID",
        help="only the sessions forked from this one (not their own forks)",
    )
    listing.add_argument(
        "--owner", dest="owner_id", metavar="OWNER", help="only this owner's sessions"
    )
    listing.add_argument(
        "--external-id",
        dest="external_id",
        metavar="ID",
        help="only sessions with this external id",
    )
    for bound, what in _TIME_BOUNDS.items():
        listing.add_argument(
            f"--{bound.replace('_', '-')}",
            dest=bound,
            metavar="TIME",
            help=f"only sessions {what} (ISO 8601 with an offset, e.g. 2026-12-01T00:00:00Z)",
        )
    listing.add_argument("--limit", type=int, default=50, help="page size (default 50)")
    listing.add_argument("--offset", type=int, default=0, help="sessions to skip (default 0)")
    listing.add_argument(
        "--after",
        metavar="CURSOR",
        help="the page after the one whose cursor this is (a page ends with it); not with --offset",
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument(
        "--with-cursor",
        action="store_true",
        help='with --json: print {"sessions": [...], "next_cursor": ...} instead of the array',
    )
    listing.set_defaults(handler=sessions_list)

    show = commands.add_parser(
        "show", help="show a session, its messages (rewound ones marked) and their file events"
    )
    show.add_argument("session_id", metavar="ID")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=sessions_show)

    files = commands.add_parser(
        "files", help="list the files a session touched, with event counts by type"
    )
    files.add_argument("session_id", metavar="ID")
    files.add_argument("--json", action="store_true", help="print JSON")
    files.set_defaults(handler=sessions_files)

    events = commands.add_parser(
        "events", help="list a session's file events in the order recorded"
    )
    events.add_argument("session_id", metavar="ID")
    kinds = [kind.value for kind in FileEventType]
    event_type = events.add_argument(
        "--type",
        dest="event_type",
        metavar="TYPE",
        help=f"only events of this type ({', '.join(kinds)})",
    )
    event_type.completer = lambda **_: kinds  # type: ignore[attr-defined]  # argcomplete's hook
    events.add_argument("--path", dest="file_path", metavar="PATH", help="only events on PATH")
    events.add_argument("--limit", type=int, default=None, help="page size (default: all)")
    events.add_argument("--offset", type=int, default=0, help="events to skip (default 0)")
    events.add_argument("--json", action="store_true", help="print JSON")
    events.set_defaults(handler=sessions_events)


def add_delete_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``delete`` to the ``sessions`` group."""
    remove = commands.add_parser(
        "delete", help="delete a session, its messages and their file events"
    )
    remove.add_argument("session_id", metavar="ID")
    remove.set_defaults(handler=sessions_delete)


def parse_moment(text: str | None, argument: str) -> datetime | None:
    """Return the time ``text`` gives (ISO 8601 with an offset; ``Z`` is UTC), or None.

    Raises:
        InvalidInputError: naming ``argument`` (the option's ``dest``), for text that is no
            ISO 8601 time or has no offset: a time without one would be read in some zone
            the user did not choose.

    """
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            argument, f"must be an ISO 8601 time such as 2026-12-01T09:30:00Z, got {text!r}"
        ) from None
    if moment.tzinfo is None:
        raise InvalidInputError(
            argument, f"must give its offset from UTC (Z or +01:00, say), got {text!r}"
        )
    return moment


def sessions_list(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """List a page of sessions, as a table (ending with the next page's cursor) or as JSON."""
    created_after, created_before, updated_after, updated_before = (
        parse_moment(getattr(arguments, bound), bound) for bound in _TIME_BOUNDS
    )
    with open_service(url) as service:
        sessions = service.list(
            actor_name=arguments.actor_name,
            limit=arguments.limit,
            offset=arguments.offset,
            after=arguments.after,
            forked_from=arguments.forked_from,
            owner_id=arguments.owner_id,
            external_id=arguments.external_id,
            created_after=created_after,
            created_before=created_before,
            updated_after=updated_after,
            updated_before=updated_before,
        )
    if arguments.json:
        records = [session_json(session) for session in sessions]
        if arguments.with_cursor:
            print_json({"sessions": records, "next_cursor": sessions.next_cursor}, out)
        else:
            print_json(records, out)
        return 0
    if not sessions:
        print("no sessions", file=out)
        return 0
    print_table(sessions_table(sessions), out)
    if sessions.next_cursor is not None:
        print(f"next page: --after {sessions.next_cursor}", file=out)
    return 0


def sessions_show(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Show a session and its whole transcript, each message with its file events.

    Messages a rewind hid are shown and marked, as are those the compaction in force covers.
    """
    with open_service(url) as service:
        session = service.get(arguments.session_id)
        # Compactions, rewinds and events before messages: every message they name is then
        # among the messages read.
        compactions = service.list_compactions(session.id)
        rewinds = service.list_rewinds(session.id)
        events = events_by_message(service.list_file_events(session.id))
        messages = service.get_messages(session.id, include_rewound=True)
    if arguments.json:
        sequence_of = sequences_by_message(messages)
        document = session_json(session)
        document["messages"] = [
            {
                **message_record(message),
                "file_events": event_records(events.get(message.id, ()), sequence_of),
            }
            for message in messages
        ]
        document["rewinds"] = [rewind_record(rewind) for rewind in rewinds]
        document["compactions"] = [compaction_record(compaction) for compaction in compactions]
        print_json(document, out)
        return 0
    print_conversation(
        session,
        messages,
        out,
        events,
        rewinds=rewinds,
        compaction=compaction_in_force(compactions),
    )
    return 0


def sessions_files(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """List the paths a session's file events name, with counts by type."""
    with open_service(url) as service:
        touches = service.files_touched(arguments.session_id)
    if arguments.json:
        print_json([touch_record(touch) for touch in touches], out)
    elif not touches:
        print("no files touched", file=out)
    else:
        print_table(touches_table(touches), out)
    return 0


def sessions_events(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """List a session's file events, optionally of one type or on one path, a page at a time."""
    with open_service(url) as service:
        events = service.list_file_events(
            arguments.session_id,
            event_type=arguments.event_type,
            file_path=arguments.file_path,
            limit=arguments.limit,
            offset=arguments.offset,
        )
        # Read after the events, so that every event's message is among them (the messages
        # a rewind hid too: their events are listed).
        sequence_of = sequences_by_message(
            service.get_messages(arguments.session_id, include_rewound=True)
        )
    if arguments.json:
        print_json(event_records(events, sequence_of), out)
    elif not events:
        print("no file events", file=out)
    else:
        print_table(events_table(events, sequence_of), out)
    return 0


def sessions_delete(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Delete a session, its messages and their file events."""
    with open_service(url) as service:
        service.delete(arguments.session_id)
    print(f"deleted session {arguments.session_id.upper()}", file=out)
    return 0
