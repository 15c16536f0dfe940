"""``agent-sessions sessions hold|release`` and ``owners erase``: holds and erasure by owner.

A hold keeps a session from retention and from ``owners erase`` (which refuses while one of
the owner's sessions is held). ``owners erase`` deletes every session of an owner with every
row hanging off them, in batches; it asks for ``--yes`` and, without it, says what it would do
and writes nothing. The service checks every value; ``main`` names the option in its errors.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TextIO

from agent_sessions.domain.export_records import format_timestamp
from agent_sessions.infrastructure.cli.command_error import CommandError
from agent_sessions.infrastructure.cli.rendering import counted, print_json, printable, session_json
from agent_sessions.infrastructure.cli.session_commands import open_service

if TYPE_CHECKING:
    from agent_sessions.domain.entities import ErasureReceipt

__all__ = ["add_hold_commands", "add_owner_commands"]


def add_hold_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``hold`` and ``release`` to the ``sessions`` group."""
    hold = commands.add_parser(
        "hold", help="put a session under a hold: retention and owners erase leave it alone"
    )
    hold.add_argument("session_id", metavar="ID")
    hold.add_argument("--reason", required=True, metavar="TEXT", help="why the session is held")
    hold.add_argument("--json", action="store_true", help="print the session as JSON")
    hold.set_defaults(handler=sessions_hold)

    release = commands.add_parser("release", help="release a session's hold")
    release.add_argument("session_id", metavar="ID")
    release.add_argument("--json", action="store_true", help="print the session as JSON")
    release.set_defaults(handler=sessions_release)


def add_owner_commands(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``owners`` group and its ``erase`` command."""
    owners = groups.add_parser("owners", help="erase every session of an owner")
    commands = owners.add_subparsers(dest="command", required=True, metavar="ACTION")
    erase = commands.add_parser(
        "erase", help="delete every session of an owner and everything that hangs off them"
    )
    erase.add_argument("owner_id", metavar="OWNER")
    erase.add_argument("--yes", action="store_true", help="really delete (required)")
    erase.add_argument("--json", action="store_true", help="print the receipt as JSON")
    erase.set_defaults(handler=owners_erase)


def sessions_hold(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Put the session under a hold, for the reason given."""
    with open_service(url) as service:
        session = service.set_hold(arguments.session_id, arguments.reason)
    if arguments.json:
        print_json(session_json(session), out)
        return 0
    since = "" if session.held_at is None else f" since {format_timestamp(session.held_at)}"
    print(f"held session {session.id}{since}: {printable(session.hold_reason or '')}", file=out)
    return 0


def sessions_release(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Release the session's hold (nothing to do when it has none)."""
    with open_service(url) as service:
        held = service.get(arguments.session_id).held
        session = service.release_hold(arguments.session_id)
    if arguments.json:
        print_json(session_json(session), out)
    elif held:
        print(f"released the hold of session {session.id}", file=out)
    else:
        print(f"session {session.id} was not held", file=out)
    return 0


def owners_erase(url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Erase every session of the owner, given ``--yes``; print the receipt."""
    owner = printable(arguments.owner_id)
    if not arguments.yes:
        raise CommandError(
            f"owners erase deletes every session of owner {owner} with their messages, file "
            "events, token usage, rewinds and compactions, for good; nothing was deleted: "
            "run it again with --yes"
        )
    with open_service(url) as service:
        receipt = service.erase_owner(arguments.owner_id)
    if arguments.json:
        print_json(receipt_json(receipt), out)
        return 0
    seconds = (receipt.finished_at - receipt.started_at).total_seconds()
    print(
        f"erased owner {owner}: {counted(receipt.sessions, 'session')} in {seconds:.3f} s",
        file=out,
    )
    width = max(len(table) for table in receipt.rows)
    for table, rows in receipt.rows.items():
        print(f"  {table:<{width}}  {counted(rows, 'row')}", file=out)
    return 0


def receipt_json(receipt: ErasureReceipt) -> dict[str, Any]:
    """Return the JSON form of an erasure receipt, with the seconds it took."""
    return {
        "owner_id": receipt.owner_id,
        "sessions": receipt.sessions,
        "rows": dict(receipt.rows),
        "started_at": format_timestamp(receipt.started_at),
        "finished_at": format_timestamp(receipt.finished_at),
        "seconds": (receipt.finished_at - receipt.started_at).total_seconds(),
    }
