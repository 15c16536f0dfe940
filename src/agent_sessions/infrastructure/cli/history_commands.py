"""``agent-sessions sessions fork|rewind|compact|tree``: branch, rewind and compact sessions.

Nothing here deletes a message: a fork copies the visible history into a new session, a rewind
hides messages (``--undo`` shows them again), and a compaction records a summary that stands
for the messages it covers in a model's context. ``sessions show`` marks what a rewind hid and
what the compaction in force covers (:mod:`.conversation`). The service checks every value;
``main`` names the option in its errors (``--at`` for ``at_sequence``, ``--to`` for
``to_sequence``, ``--through`` for ``through_sequence``).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from agent_sessions.domain.entities import Session
from agent_sessions.domain.export_history import compaction_record, rewind_record
from agent_sessions.domain.validation import MAX_CONTENT_BYTES
from agent_sessions.infrastructure.cli.command_error import CommandError
from agent_sessions.infrastructure.cli.fork_tree import ForkFamily, print_fork_tree
from agent_sessions.infrastructure.cli.rendering import counted, print_json, session_json
from agent_sessions.infrastructure.cli.session_commands import open_service
from agent_sessions.infrastructure.cli.stream_io import read_text_input

if TYPE_CHECKING:
    from agent_sessions.domain.service import SessionService

__all__ = ["add_history_commands", "read_fork_family"]

_FORKS_PAGE = 1000
"""Forks of one session read per ``list`` call when ``sessions tree`` gathers a family."""


def add_history_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``fork``, ``rewind``, ``compact`` and ``tree`` to the ``sessions`` group."""
    fork = commands.add_parser(
        "fork", help="start a new session from a copy of a session's messages up to one"
    )
    fork.add_argument("session_id", metavar="ID")
    fork.add_argument(
        "--at",
        dest="at_sequence",
        metavar="N",
        type=int,
        help="copy the visible messages up to message N (default: all; 0: none)",
    )
    fork.add_argument(
        "--actor", dest="actor_name", metavar="ACTOR", help="the fork's actor (default: the same)"
    )
    fork.add_argument("--title", metavar="TITLE", help="the fork's title (default: the same)")
    fork.add_argument(
        "--external-id", dest="external_id", metavar="ID", help="the fork's external id"
    )
    fork.add_argument("--json", action="store_true", help="print the new session as JSON")
    fork.set_defaults(handler=sessions_fork)

    rewind = commands.add_parser(
        "rewind", help="hide the messages after one (kept in the transcript), or undo that"
    )
    rewind.add_argument("session_id", metavar="ID")
    point = rewind.add_mutually_exclusive_group(required=True)
    point.add_argument(
        "--to",
        dest="to_sequence",
        metavar="N",
        type=int,
        help="keep the visible messages up to message N (0: none)",
    )
    point.add_argument(
        "--undo",
        action="store_true",
        help="show the messages of the latest rewind again (while nothing came after it)",
    )
    rewind.add_argument("--reason", metavar="TEXT", help="why, kept with the rewind")
    rewind.add_argument("--json", action="store_true", help="print the rewind as JSON")
    rewind.set_defaults(handler=sessions_rewind)

    compact = commands.add_parser(
        "compact", help="record a summary that stands for the messages up to one"
    )
    compact.add_argument("session_id", metavar="ID")
    compact.add_argument(
        "--through",
        dest="through_sequence",
        metavar="N",
        type=int,
        required=True,
        help="the last message the summary stands for",
    )
    # The option feeds the service's ``summary``, so its errors name --summary-file.
    compact.add_argument(
        "--summary-file",
        dest="summary",
        metavar="FILE",
        required=True,
        help="the summary, as UTF-8 text ('-' for stdin)",
    )
    compact.add_argument(
        "--token-count", dest="token_count", metavar="N", type=int, help="the summary's tokens"
    )
    compact.add_argument("--json", action="store_true", help="print the compaction as JSON")
    compact.set_defaults(handler=sessions_compact)

    tree = commands.add_parser("tree", help="draw the family of forks a session belongs to")
    tree.add_argument("session_id", metavar="ID")
    tree.set_defaults(handler=sessions_tree)


def sessions_fork(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Fork the session and say where the new one starts."""
    with open_service(url) as service:
        fork = service.fork_session(
            arguments.session_id,
            at_sequence=arguments.at_sequence,
            actor_name=arguments.actor_name,
            title=arguments.title,
            external_id=arguments.external_id,
        )
    if arguments.json:
        print_json(session_json(fork), out)
        return 0
    print(
        f"forked session {fork.id} from {fork.parent_session_id} at message "
        f"{fork.forked_at_sequence} ({counted(fork.message_count, 'message')})",
        file=out,
    )
    return 0


def sessions_rewind(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Rewind the session to message N, or with --undo undo its latest rewind."""
    if arguments.undo:
        return _undo_rewind(url, arguments, out)
    with open_service(url) as service:
        rewound = service.rewind(
            arguments.session_id, arguments.to_sequence, reason=arguments.reason
        )
    if arguments.json:
        print_json(None if rewound is None else rewind_record(rewound), out)
    elif rewound is None:
        print(
            f"session {arguments.session_id.upper()} has no visible message after message "
            f"{arguments.to_sequence}: nothing to rewind",
            file=out,
        )
    else:
        print(
            f"rewound session {rewound.session_id} to message {rewound.to_sequence} by rewind "
            f"{rewound.id}: the messages after it are hidden, not deleted (undo with --undo)",
            file=out,
        )
    return 0


def _undo_rewind(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    if arguments.reason is not None:
        raise CommandError("invalid --reason: it goes with --to; --undo takes none")
    with open_service(url) as service:
        undone = service.undo_rewind(arguments.session_id)
    if arguments.json:
        print_json(rewind_record(undone), out)
    else:
        print(
            f"undid rewind {undone.id} of session {undone.session_id}: the messages it hid "
            f"after message {undone.to_sequence} are visible again",
            file=out,
        )
    return 0


def sessions_compact(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Record the summary read from --summary-file for the messages up to --through."""
    summary = read_text_input(arguments.summary, option="--summary-file", limit=MAX_CONTENT_BYTES)
    with open_service(url) as service:
        compaction = service.compact(
            arguments.session_id,
            arguments.through_sequence,
            summary,
            token_count=arguments.token_count,
        )
    if arguments.json:
        print_json(compaction_record(compaction), out)
        return 0
    line = (
        f"compacted session {compaction.session_id} through message "
        f"{compaction.through_sequence} by compaction {compaction.id}"
    )
    if compaction.through_sequence != arguments.through_sequence:
        line += (
            f" (not {arguments.through_sequence}: the messages after a summary must not start "
            "with a tool result)"
        )
    print(line, file=out)
    return 0


def sessions_tree(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Draw the session's fork family, from the root through every fork."""
    with open_service(url) as service:
        family = read_fork_family(service, arguments.session_id)
    print_fork_tree(family, out)
    return 0


def read_fork_family(service: SessionService, session_id: str) -> ForkFamily:
    """Return the fork family of ``session_id``: its root (through ``lineage``), every fork.

    Each session's forks are read with ``list(forked_from=...)``, a page at a time. A session
    met twice (only in a damaged store, where forks form a cycle) is left out the second time.
    """
    session = service.get(session_id)
    parents = service.lineage(session.id)
    root = parents[-1] if parents else session
    forks: dict[str, list[Session]] = {}
    seen = {root.id}
    waiting = [root.id]
    while waiting:
        parent = waiting.pop()
        children = [fork for fork in _forks_of(service, parent) if fork.id not in seen]
        if children:
            forks[parent] = children
            seen.update(fork.id for fork in children)
            waiting.extend(fork.id for fork in children)
    return ForkFamily(root, forks)


def _forks_of(service: SessionService, session_id: str) -> list[Session]:
    """Return the sessions forked from ``session_id``, oldest first."""
    newest_first: list[Session] = []
    after: str | None = None
    while True:
        page = service.list(forked_from=session_id, limit=_FORKS_PAGE, after=after)
        newest_first.extend(page)
        after = page.next_cursor
        if after is None or not page:
            return newest_first[::-1]
