"""How ``sessions tree`` draws a fork family: the root session, then its forks, as a tree.

Each session is one line: its id, where it was forked and how many messages it holds, then its
title (escaped by :func:`~agent_sessions.infrastructure.cli.rendering.printable`). Forks hang
under the session they were forked from, oldest first, joined by box-drawing characters
(``├──``, ``└──``, ``│``), or by ASCII (``|--``, ```--``, ``|``) when the output's encoding
cannot encode those. On such an output, any other character it cannot encode (in a title)
is written as a backslash escape, so that the tree never fails half-way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from agent_sessions.domain.entities import Session
from agent_sessions.infrastructure.cli.rendering import counted, printable

__all__ = ["ASCII_BRANCHES", "BOX_BRANCHES", "Branches", "ForkFamily", "print_fork_tree"]


@dataclass(frozen=True, slots=True)
class Branches:
    """The four pieces a tree's lines are drawn with, each four characters wide.

    Attributes:
        fork: before a session that has a later sibling.
        last: before a session that is the last of its siblings.
        through: under a session with a later sibling, beside that session's forks.
        gap: under the last of its siblings, beside its forks.

    """

    fork: str
    last: str
    through: str
    gap: str


BOX_BRANCHES = Branches("├── ", "└── ", "│   ", "    ")
"""Box-drawing characters, for outputs that can encode them."""
ASCII_BRANCHES = Branches("|-- ", "`-- ", "|   ", "    ")
"""ASCII stand-ins, for outputs whose encoding has no box-drawing characters."""


@dataclass(frozen=True, slots=True)
class ForkFamily:
    """A session that is not the fork of a stored session, and every fork made from it.

    Attributes:
        root: the family's first session.
        forks: each session's id mapped to the sessions forked from it, oldest first; a
            session without forks may be left out.

    """

    root: Session
    forks: Mapping[str, Sequence[Session]]


def print_fork_tree(family: ForkFamily, out: TextIO) -> None:
    """Print ``family`` as a tree, the root first, each fork under the session it came from.

    Drawn without recursion, so that a chain of forks of any depth prints.
    """
    encoding = getattr(out, "encoding", None)
    branches = BOX_BRANCHES if _encodes(encoding, BOX_BRANCHES) else ASCII_BRANCHES
    print(_encodable(_line(family.root, root=True), encoding), file=out)
    # Each entry: a session still to print, the drawing before its line, and before its forks'.
    pending = list(reversed(_children(family, family.root, "", branches)))
    while pending:
        session, lead, under = pending.pop()
        print(_encodable(lead + _line(session, root=False), encoding), file=out)
        pending.extend(reversed(_children(family, session, under, branches)))


def _children(
    family: ForkFamily, session: Session, indent: str, branches: Branches
) -> list[tuple[Session, str, str]]:
    """Return the forks of ``session`` with the drawing before each line and its own forks."""
    forks = family.forks.get(session.id, ())
    return [
        (
            fork,
            indent + (branches.last if index == len(forks) - 1 else branches.fork),
            indent + (branches.gap if index == len(forks) - 1 else branches.through),
        )
        for index, fork in enumerate(forks)
    ]


def _line(session: Session, *, root: bool) -> str:
    """Return a session's line: id, fork point and message count, then its title."""
    messages = counted(session.message_count, "message")
    if session.parent_session_id is None:
        where = messages
    elif root:  # a fork whose parent is no longer stored
        where = (
            f"forked from {session.parent_session_id} at {session.forked_at_sequence}, {messages}"
        )
    else:
        where = f"forked at {session.forked_at_sequence}, {messages}"
    return f"{session.id}  [{where}]  {printable(session.title or '(untitled)')}"


def _encodes(encoding: str | None, branches: Branches) -> bool:
    """Tell whether an output of ``encoding`` (None: text, no encoding) takes ``branches``."""
    if encoding is None:
        return True
    try:
        (branches.fork + branches.last + branches.through).encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _encodable(line: str, encoding: str | None) -> str:
    """Return ``line`` with what ``encoding`` cannot encode written as backslash escapes."""
    if encoding is None:
        return line
    return line.encode(encoding, "backslashreplace").decode(encoding)
