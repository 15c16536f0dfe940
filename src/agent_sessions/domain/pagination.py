"""Keyset pagination of session listings: the page type and its opaque cursor.

A cursor names the last session of a page by its sort key, ``(created_at, id)``; the next
page starts strictly after it in the listing's order (newest first). Unlike an offset, a
cursor costs the same however deep the page, and a session created or deleted meanwhile
neither repeats nor skips another one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import UTC, datetime

from agent_sessions.domain.entities import Session
from agent_sessions.domain.errors import InvalidInputError
from agent_sessions.domain.validation import abbreviated_repr, validate_ulid

__all__ = ["SessionPage", "decode_cursor", "encode_cursor"]

_SEPARATOR = "|"
_MAX_CURSOR_LENGTH = 200


class SessionPage(list[Session]):
    """A page of :meth:`SessionService.list`: a plain list of sessions, plus ``next_cursor``.

    ``next_cursor`` is the ``after`` argument that fetches the following page, or None when
    this page is the last one (it holds fewer sessions than the limit). A full last page still
    carries a cursor, and the page it leads to is empty.
    """

    next_cursor: str | None

    def __init__(self, sessions: Iterable[Session] = (), next_cursor: str | None = None) -> None:
        """Hold ``sessions`` (newest first) and the cursor of the next page."""
        super().__init__(sessions)
        self.next_cursor = next_cursor


def encode_cursor(session: Session) -> str:
    """Return the opaque cursor that lists the sessions after ``session``."""
    key = f"{session.created_at.astimezone(UTC).isoformat()}{_SEPARATOR}{session.id}"
    return base64.urlsafe_b64encode(key.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(value: object) -> tuple[datetime, str]:
    """Return the ``(created_at, id)`` a cursor names, or raise ``InvalidInputError("after")``."""
    if not isinstance(value, str):
        raise InvalidInputError("after", f"must be a cursor string, got {type(value).__name__}")
    refused = InvalidInputError(
        "after", f"{abbreviated_repr(value)} is not a cursor returned by list()"
    )
    if not value or len(value) > _MAX_CURSOR_LENGTH or not value.isascii():
        raise refused
    try:
        key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        moment, _, session_id = key.partition(_SEPARATOR)
        created_at = datetime.fromisoformat(moment)
        canonical_id = validate_ulid(session_id, "after")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    if created_at.tzinfo is None:
        raise refused
    return created_at.astimezone(UTC), canonical_id
