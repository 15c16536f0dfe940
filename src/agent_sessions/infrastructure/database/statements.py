"""The tables and the prebuilt statements the repositories run, and the SQL form of a domain rule.

The hot path's statements are built once: executing a prebuilt statement with a parameter
dict skips SQLAlchemy's per-call construction and cache-key walk, which cost more than
SQLite's own work for a small append. The hottest run on the driver's cursor (see
``direct.py``): the SQL is still the Core statement, compiled once per dialect.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Integer,
    String,
    Table,
    bindparam,
    case,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)

from agent_sessions.domain.history import CROCKFORD_ALPHABET, ID_NUMBER_DIGITS
from agent_sessions.infrastructure.database.direct import DirectStatement
from agent_sessions.infrastructure.database.models import (
    SessionCompactionModel,
    SessionFileEventModel,
    SessionMessageModel,
    SessionModel,
    SessionRewindModel,
    SessionTokenUsageModel,
)
from agent_sessions.infrastructure.database.types import JSON_DOCUMENT, LONG_TEXT, UTCDateTime

__all__ = [
    "COMPACTIONS",
    "DIRECT_APPEND_IN_ONE",
    "DIRECT_INSERT_FILE_EVENT",
    "DIRECT_INSERT_MESSAGE",
    "DIRECT_INSERT_STORED_MESSAGE",
    "DIRECT_LATEST_COMPACTION",
    "DIRECT_LOCKED_COUNT",
    "DIRECT_MESSAGE_BY_ID",
    "DIRECT_PAGE_AFTER",
    "DIRECT_PAGE_AFTER_VISIBLE",
    "DIRECT_RECENT_MESSAGES",
    "DIRECT_RECENT_VISIBLE_MESSAGES",
    "DIRECT_RESERVE",
    "DIRECT_RESERVED",
    "DIRECT_RESERVE_RETURNING",
    "ERASURE_TABLES",
    "FILE_EVENTS",
    "LATEST_COMPACTION_LOCKED",
    "MESSAGES",
    "REWINDS",
    "SESSIONS",
    "TOKEN_USAGE",
    "never_before",
    "numbered_id_sql",
]

SESSIONS: Table = SessionModel.__table__  # type: ignore[assignment]
MESSAGES: Table = SessionMessageModel.__table__  # type: ignore[assignment]
TOKEN_USAGE: Table = SessionTokenUsageModel.__table__  # type: ignore[assignment]
FILE_EVENTS: Table = SessionFileEventModel.__table__  # type: ignore[assignment]
REWINDS: Table = SessionRewindModel.__table__  # type: ignore[assignment]
COMPACTIONS: Table = SessionCompactionModel.__table__  # type: ignore[assignment]


def _erasure_tables() -> tuple[tuple[Table, Column[Any]], ...]:
    """``sessions`` by its id, then every table with a foreign key to ``sessions.id``.

    Read from the models' metadata, so that a table added later with a foreign key to the
    sessions is counted by ``erase`` without anyone listing it.
    """
    found: list[tuple[Table, Column[Any]]] = [(SESSIONS, SESSIONS.c.id)]
    for table in SessionModel.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column is SESSIONS.c.id:
                found.append((table, key.parent))
    return tuple(found)


ERASURE_TABLES = _erasure_tables()
"""What an erasure counts: each table holding rows of a session, with its session id column."""


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


def numbered_id_sql(
    prefix: str | ColumnElement[str], number: ColumnElement[int]
) -> ColumnElement[str]:
    """Return SQL for ``numbered_id(prefix, number)``: the SQL form of a copied row's id.

    The rule is :func:`agent_sessions.domain.history.numbered_id`; a fork computes the ids of
    the rows it copies with this inside its ``INSERT ... SELECT``. ``number`` must be an
    ``INTEGER`` expression (PostgreSQL's ``substr`` takes no ``BIGINT`` position). Each digit
    is ``substr(alphabet, ((number >> 5k) & 31) + 1, 1)``; the pieces are joined with ``+`` on
    strings, which each dialect renders as its own concatenation (``||``, or ``concat()`` on
    MariaDB/MySQL, where ``||`` means OR).
    """
    alphabet = literal_column(f"'{CROCKFORD_ALPHABET}'", String())
    joined = literal(prefix, String()) if isinstance(prefix, str) else prefix
    for place in range(ID_NUMBER_DIGITS - 1, -1, -1):
        digit = number.bitwise_rshift(_integer(5 * place)).bitwise_and(_integer(31))
        joined = joined + func.substr(alphabet, digit + _integer(1), _integer(1), type_=String())
    return joined


def _integer(value: int) -> ColumnElement[int]:
    """Return an integer constant written into the SQL (not a bind parameter)."""
    return literal_column(str(value), Integer())


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
_APPENDED = [column for column in MESSAGES.columns if column.name != "rewound_by"]
"""The columns an append writes: a new message is visible, so ``rewound_by`` stays NULL."""
_INSERT_MESSAGE = insert(MESSAGES).values(
    {column.name: bindparam(column.name, type_=column.type) for column in _APPENDED}
)
_BUMPED = _RESERVE_RETURNING.cte("bumped")
_APPEND_IN_ONE = (
    # PostgreSQL runs a data-modifying CTE: the counter bump and the insert in one statement,
    # one round trip, with the same row lock as the two statements take elsewhere.
    insert(MESSAGES)
    .from_select(
        [column.name for column in _APPENDED],
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
    # The transcript's tail, read backwards along (session_id, sequence).
    select(MESSAGES)
    .where(
        MESSAGES.c.session_id == bindparam("p_session_id"),
        MESSAGES.c.sequence > bindparam("p_after", type_=Integer()),
    )
    .order_by(MESSAGES.c.sequence.desc())
    .limit(bindparam("p_limit", type_=Integer()))
)
_RECENT_VISIBLE_MESSAGES = _RECENT_MESSAGES.where(MESSAGES.c.rewound_by.is_(None))
_PAGE_AFTER = (
    select(MESSAGES)
    .where(
        MESSAGES.c.session_id == bindparam("p_session_id"),
        MESSAGES.c.sequence > bindparam("p_after", type_=Integer()),
    )
    .order_by(MESSAGES.c.sequence)
    .limit(bindparam("p_limit", type_=Integer()))
)
_PAGE_AFTER_VISIBLE = _PAGE_AFTER.where(MESSAGES.c.rewound_by.is_(None))
_MESSAGE_BY_ID = select(MESSAGES).where(MESSAGES.c.id == bindparam("p_message_id"))
_LATEST_COMPACTION = (
    # The compaction in force that context_messages sends: few rows per session, sorted.
    select(COMPACTIONS)
    .where(
        COMPACTIONS.c.session_id == bindparam("p_session_id"),
        COMPACTIONS.c.rewound_by.is_(None),
    )
    # domain.history.compaction_order: the furthest end first, then the one recorded last.
    .order_by(
        COMPACTIONS.c.through_sequence.desc(),
        COMPACTIONS.c.created_at.desc(),
        COMPACTIONS.c.id.desc(),
    )
    .limit(1)
)

DIRECT_RESERVE = DirectStatement(_RESERVE)
DIRECT_RESERVE_RETURNING = DirectStatement(_RESERVE_RETURNING)
DIRECT_RESERVED = DirectStatement(_RESERVED)
DIRECT_LOCKED_COUNT = DirectStatement(_LOCKED_COUNT)
DIRECT_INSERT_MESSAGE = DirectStatement(_INSERT_MESSAGE)
DIRECT_APPEND_IN_ONE = DirectStatement(_APPEND_IN_ONE)
DIRECT_RECENT_MESSAGES = DirectStatement(_RECENT_MESSAGES)
DIRECT_RECENT_VISIBLE_MESSAGES = DirectStatement(_RECENT_VISIBLE_MESSAGES)
DIRECT_PAGE_AFTER = DirectStatement(_PAGE_AFTER)
DIRECT_PAGE_AFTER_VISIBLE = DirectStatement(_PAGE_AFTER_VISIBLE)
DIRECT_MESSAGE_BY_ID = DirectStatement(_MESSAGE_BY_ID)
DIRECT_LATEST_COMPACTION = DirectStatement(_LATEST_COMPACTION)
LATEST_COMPACTION_LOCKED = _LATEST_COMPACTION.with_for_update()
"""The same read, locking, for the writes that check against the compaction in force."""
DIRECT_INSERT_STORED_MESSAGE = DirectStatement(insert(MESSAGES))
DIRECT_INSERT_FILE_EVENT = DirectStatement(insert(FILE_EVENTS))
