"""The tables and the prebuilt statements the repositories run, and the SQL form of a domain rule.

The hot path's statements are built once: executing a prebuilt statement with a parameter
dict skips SQLAlchemy's per-call construction and cache-key walk, which cost more than
SQLite's own work for a small append. The hottest run on the driver's cursor (see
``direct.py``): the SQL is still the Core statement, compiled once per dialect.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    Table,
    bindparam,
    case,
    insert,
    literal,
    select,
    update,
)

from agent_sessions.infrastructure.database.direct import DirectStatement
from agent_sessions.infrastructure.database.models import (
    SessionFileEventModel,
    SessionMessageModel,
    SessionModel,
    SessionTokenUsageModel,
)
from agent_sessions.infrastructure.database.types import JSON_DOCUMENT, LONG_TEXT, UTCDateTime

__all__ = [
    "DIRECT_APPEND_IN_ONE",
    "DIRECT_INSERT_FILE_EVENT",
    "DIRECT_INSERT_MESSAGE",
    "DIRECT_LOCKED_COUNT",
    "DIRECT_MESSAGE_BY_ID",
    "DIRECT_PAGE_AFTER",
    "DIRECT_RECENT_MESSAGES",
    "DIRECT_RESERVE",
    "DIRECT_RESERVED",
    "DIRECT_RESERVE_RETURNING",
    "FILE_EVENTS",
    "MESSAGES",
    "SESSIONS",
    "TOKEN_USAGE",
    "never_before",
]

SESSIONS: Table = SessionModel.__table__  # type: ignore[assignment]
MESSAGES: Table = SessionMessageModel.__table__  # type: ignore[assignment]
TOKEN_USAGE: Table = SessionTokenUsageModel.__table__  # type: ignore[assignment]
FILE_EVENTS: Table = SessionFileEventModel.__table__  # type: ignore[assignment]


def never_before(
    column: ColumnElement[datetime], moment: datetime | ColumnElement[datetime]
) -> ColumnElement[datetime]:
    """Return SQL for ``max(column, moment)``: the SQL form of "``updated_at`` never moves back".

    The rule is :func:`agent_sessions.domain.timeline.not_before`; this applies it inside the
    ``UPDATE``, against the stored value under the row lock. Every write of this adapter that
    touches a session sets its ``updated_at`` through this, so a caller's clock that runs
    behind the stored time leaves the stored time as it is. ``CASE`` rather than
    ``GREATEST``, which SQLite lacks.
    """
    value = moment if isinstance(moment, ColumnElement) else literal(moment, UTCDateTime())
    return case((column < value, value), else_=column)


_AT = bindparam("p_at", type_=UTCDateTime())
_RESERVE = (
    update(SESSIONS)
    .where(SESSIONS.c.id == bindparam("p_session_id"))
    .values(
        message_count=SESSIONS.c.message_count + bindparam("p_added", type_=Integer()),
        updated_at=never_before(SESSIONS.c.updated_at, _AT),
    )
)
_RESERVE_RETURNING = _RESERVE.returning(SESSIONS.c.message_count, SESSIONS.c.updated_at)
_RESERVED = select(SESSIONS.c.message_count, SESSIONS.c.updated_at).where(
    SESSIONS.c.id == bindparam("p_session_id")
)
_LOCKED_COUNT = (
    # An optimistic append's check: the row lock first, then the count it compares.
    select(SESSIONS.c.message_count)
    .where(SESSIONS.c.id == bindparam("p_session_id"))
    .with_for_update()
)
_INSERT_MESSAGE = insert(MESSAGES)
_BUMPED = _RESERVE_RETURNING.cte("bumped")
_APPEND_IN_ONE = (
    # PostgreSQL runs a data-modifying CTE: the counter bump and the insert in one statement,
    # one round trip, with the same row lock as the two statements take elsewhere.
    insert(MESSAGES)
    .from_select(
        [column.name for column in MESSAGES.columns],
        select(
            bindparam("p_message_id", type_=String()),
            bindparam("p_session_id", type_=String()),
            _BUMPED.c.message_count,
            bindparam("p_role", type_=String()),
            bindparam("p_content", type_=LONG_TEXT),
            bindparam("p_metadata", type_=JSON_DOCUMENT),
            bindparam("p_token_count", type_=BigInteger()),
            _BUMPED.c.updated_at,
        ),
    )
    .returning(MESSAGES.c.sequence, MESSAGES.c.created_at)
)
_RECENT_MESSAGES = (
    select(MESSAGES)
    .where(MESSAGES.c.session_id == bindparam("p_session_id"))
    .order_by(MESSAGES.c.sequence.desc())
    .limit(bindparam("p_limit", type_=Integer()))
)
_PAGE_AFTER = (
    select(MESSAGES)
    .where(
        MESSAGES.c.session_id == bindparam("p_session_id"),
        MESSAGES.c.sequence > bindparam("p_after", type_=Integer()),
    )
    .order_by(MESSAGES.c.sequence)
    .limit(bindparam("p_limit", type_=Integer()))
)
_MESSAGE_BY_ID = select(MESSAGES).where(MESSAGES.c.id == bindparam("p_message_id"))

DIRECT_RESERVE = DirectStatement(_RESERVE)
DIRECT_RESERVE_RETURNING = DirectStatement(_RESERVE_RETURNING)
DIRECT_RESERVED = DirectStatement(_RESERVED)
DIRECT_LOCKED_COUNT = DirectStatement(_LOCKED_COUNT)
DIRECT_INSERT_MESSAGE = DirectStatement(_INSERT_MESSAGE)
DIRECT_APPEND_IN_ONE = DirectStatement(_APPEND_IN_ONE)
DIRECT_RECENT_MESSAGES = DirectStatement(_RECENT_MESSAGES)
DIRECT_PAGE_AFTER = DirectStatement(_PAGE_AFTER)
DIRECT_MESSAGE_BY_ID = DirectStatement(_MESSAGE_BY_ID)
DIRECT_INSERT_FILE_EVENT = DirectStatement(insert(FILE_EVENTS))
