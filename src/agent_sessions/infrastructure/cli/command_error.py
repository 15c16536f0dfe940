"""The error of a command that failed as expected: one line, exit status 1."""

from __future__ import annotations

__all__ = ["CommandError"]


class CommandError(Exception):
    """An expected failure of a command (a file it cannot read, a check that failed).

    It is no ``ValueError``, so that an argparse ``type=`` converter can raise it: argparse lets
    it through instead of turning it into a usage error (status 2), and ``main`` prints it as
    one ``agent-sessions: error:`` line with status 1, like every expected error.
    """
