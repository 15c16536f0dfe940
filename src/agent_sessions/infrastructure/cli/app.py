"""``agent-sessions``: the parser, shell completion, and how a command's errors are reported.

Each command is declared next to its handler, by topic: :mod:`.db_commands`,
:mod:`.session_commands`, :mod:`.history_commands`, :mod:`.owner_commands`,
:mod:`.transfer_commands`,
:mod:`.demo_command` and :mod:`.migrations_command`; :mod:`.rendering` shows what they read.
A handler takes the database URL, the parsed arguments and stdout, and returns the exit
status. Handlers import the database adapter when they run, so that ``--help`` and completion
answer quickly.

Expected errors print one line to stderr and exit with status 1 (2 for a bad command line);
no traceback is shown for them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from agent_sessions.domain.errors import AgentSessionsError, InvalidInputError
from agent_sessions.infrastructure.cli.command_error import CommandError
from agent_sessions.infrastructure.cli.db_commands import add_db_commands
from agent_sessions.infrastructure.cli.demo_command import add_demo_command
from agent_sessions.infrastructure.cli.history_commands import add_history_commands
from agent_sessions.infrastructure.cli.migrations_command import add_migrations_commands
from agent_sessions.infrastructure.cli.owner_commands import add_hold_commands, add_owner_commands
from agent_sessions.infrastructure.cli.session_commands import (
    add_delete_command,
    add_session_commands,
)
from agent_sessions.infrastructure.cli.transfer_commands import add_transfer_commands

__all__ = ["DEFAULT_URL", "EXIT_BROKEN_PIPE", "URL_ENVIRONMENT_VARIABLE", "build_parser", "main"]

DEFAULT_URL = "sqlite:///agent_sessions.db"
URL_ENVIRONMENT_VARIABLE = "AGENT_SESSIONS_URL"
PROGRAM = "agent-sessions"
SHELLS = ("bash", "zsh", "fish")
"""The shells ``agent-sessions completion SHELL`` writes a completion script for."""

EXIT_BROKEN_PIPE = 141
"""Exit status when the output's reader closed the pipe: 128 + SIGPIPE, as shells report."""

Handler = Callable[[str, argparse.Namespace, TextIO], int]
"""What a command runs: ``handler(url, arguments, stdout)`` returns the exit status."""


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``agent-sessions`` command."""
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Persist AI-agent sessions in SQL databases.",
    )
    parser.add_argument(
        "--url",
        default=None,
        help=f"database URL (default: ${URL_ENVIRONMENT_VARIABLE}, else {DEFAULT_URL})",
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    add_db_commands(groups)
    sessions = groups.add_parser(
        "sessions",
        help="list, show, fork, rewind, compact, hold, export, import, delete sessions; files",
    )
    session_commands = sessions.add_subparsers(dest="command", required=True, metavar="ACTION")
    add_session_commands(session_commands)
    add_history_commands(session_commands)
    add_hold_commands(session_commands)
    add_transfer_commands(session_commands)
    add_delete_command(session_commands)
    add_owner_commands(groups)
    add_migrations_commands(groups)
    add_demo_command(groups)
    completion = groups.add_parser(
        "completion", help="print the shell completion script for bash, zsh or fish"
    )
    completion.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    completion.set_defaults(handler=_completion)
    _remember_parsers(parser)
    return parser


def _remember_parsers(parser: argparse.ArgumentParser) -> None:
    """Give each command's arguments the parser it was declared on, to name its options.

    argparse offers no public way to walk its sub-commands, so this reads ``_actions`` and
    ``_SubParsersAction``, stable since Python 3.2; the command-line scenarios would catch a
    change.
    """
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                command.set_defaults(command_parser=command)
                _remember_parsers(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (see `completion`)
        import argcomplete

        argcomplete.autocomplete(parser, exit_method=sys.exit)
    arguments = argparse.Namespace()
    try:
        arguments = parser.parse_args(argv)
        if arguments.url is not None and not arguments.url.strip():
            raise InvalidInputError("--url", "must not be empty or blank")
        url = arguments.url or os.environ.get(URL_ENVIRONMENT_VARIABLE) or DEFAULT_URL
        handler: Handler = arguments.handler
        return handler(url, arguments, sys.stdout)
    except InvalidInputError as exc:
        _report(_named_as_option(exc, getattr(arguments, "command_parser", None)))
        return 1
    except (AgentSessionsError, CommandError) as exc:
        _report(str(exc))
        return 1
    except BrokenPipeError:
        # The reader went away (``... | head``): stop quietly, with the status of a process
        # that SIGPIPE ended, and point stdout at /dev/null so that the interpreter's last
        # flush does not fail again on the way out.
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _report(message: str) -> None:
    print(f"{PROGRAM}: error: {message}", file=sys.stderr)


def _named_as_option(exc: InvalidInputError, command: argparse.ArgumentParser | None) -> str:
    """Return the error's message, naming the option where the service named its argument.

    ``offset`` becomes ``--offset``, ``event_type`` ``--type``: an option's ``dest`` is the
    service's argument it feeds. This is the one place where the command line renames the
    service's arguments; positional arguments keep their names.
    """
    for action in command._actions if command is not None else ():
        if action.dest == exc.argument and action.option_strings:
            option = max(action.option_strings, key=len)
            return f"invalid {option}: {exc.reason}"
    return str(exc)


def _completion(_url: str, arguments: argparse.Namespace, out: TextIO) -> int:
    """Print the script that makes the shell complete ``agent-sessions``' command line."""
    from argcomplete.shell_integration import shellcode

    out.write(shellcode([PROGRAM], shell=arguments.shell))
    return 0
