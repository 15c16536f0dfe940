"""The ``INSERT ... SELECT`` statements of a fork: the copy is made inside the database.

A fork copies a session's visible messages up to a point, their file events and the
compactions in force there, without a row passing through Python, so that forking a long
session costs about what the database's own copy of those rows costs. Each statement numbers
the rows it copies with a window function and computes their ids from that number and a
prefix drawn for the fork (:func:`~.statements.numbered_id_sql`, the SQL form of
:func:`~agent_sessions.domain.history.numbered_id`):

- messages: ``ROW_NUMBER() OVER (ORDER BY sequence)`` over the visible ones is the new
  sequence, 1..k without gap;
- file events: numbered in the order recorded (``created_at``, ``id``), each pointing at the
  copy of its message, whose id is computed again from that message's number;
- compactions: numbered in the order recorded; a running count of the visible messages
  (``SUM(...) OVER (ORDER BY sequence)``) gives each the number of copied messages it covers,
  its new ``through_sequence``.

The statements are built once, on the same bind parameters (``p_source_id``, ``p_point``,
``p_fork_id`` and the three prefixes ``p_message_prefix``, ``p_event_prefix`` and
``p_compaction_prefix``); the fork runs them under the source session's row lock.
"""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Subquery,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    select,
)

from agent_sessions.infrastructure.database.statements import (
    COMPACTIONS,
    FILE_EVENTS,
    MESSAGES,
    numbered_id_sql,
)

__all__ = [
    "COPY_COMPACTIONS",
    "COPY_FILE_EVENTS",
    "COPY_MESSAGES",
    "HAS_COMPACTIONS_TO_COPY",
    "HAS_FILE_EVENTS",
]

_SOURCE = bindparam("p_source_id", type_=String())
_POINT = bindparam("p_point", type_=Integer())
_FORK = bindparam("p_fork_id", type_=String())
_MESSAGE_PREFIX = bindparam("p_message_prefix", type_=String())
_EVENT_PREFIX = bindparam("p_event_prefix", type_=String())
_COMPACTION_PREFIX = bindparam("p_compaction_prefix", type_=String())


def _row_number(*order_by: ColumnElement[object]) -> ColumnElement[int]:
    """``ROW_NUMBER() OVER (ORDER BY ...)`` as an INTEGER (PostgreSQL's is a BIGINT)."""
    return cast(func.row_number().over(order_by=order_by), Integer())


def _numbered_messages(*columns: ColumnElement[object]) -> Subquery:
    """``columns`` of the visible messages up to the point, and their new sequence ``number``."""
    return (
        select(*columns, _row_number(MESSAGES.c.sequence).label("number"))
        .where(
            MESSAGES.c.session_id == _SOURCE,
            MESSAGES.c.sequence <= _POINT,
            MESSAGES.c.rewound_by.is_(None),
        )
        .subquery("numbered_messages")
    )


_MESSAGES_COPIED = _numbered_messages(
    MESSAGES.c.role,
    MESSAGES.c.content,
    MESSAGES.c.metadata,
    MESSAGES.c.token_count,
    MESSAGES.c.created_at,
)
_COPIED_MESSAGE = select(
    numbered_id_sql(_MESSAGE_PREFIX, _MESSAGES_COPIED.c.number),
    _FORK,
    _MESSAGES_COPIED.c.number,
    _MESSAGES_COPIED.c.role,
    _MESSAGES_COPIED.c.content,
    _MESSAGES_COPIED.c.metadata,
    _MESSAGES_COPIED.c.token_count,
    _MESSAGES_COPIED.c.created_at,
)
COPY_MESSAGES = (
    insert(MESSAGES)
    .from_select([c.name for c in MESSAGES.columns if c.name != "rewound_by"], _COPIED_MESSAGE)
    # Its row count is the fork's message_count; SQLAlchemy keeps an INSERT's only if asked.
    .execution_options(preserve_rowcount=True)
)
"""Copy the visible messages up to the point, renumbered 1..k; ``rewound_by`` stays NULL."""

_MESSAGE_NUMBERS = _numbered_messages(MESSAGES.c.id)
_EVENTS_COPIED = (
    select(
        FILE_EVENTS.c.event_type,
        FILE_EVENTS.c.file_path,
        FILE_EVENTS.c.diff,
        FILE_EVENTS.c.command,
        FILE_EVENTS.c.created_at,
        _MESSAGE_NUMBERS.c.number.label("message_number"),
        _row_number(FILE_EVENTS.c.created_at, FILE_EVENTS.c.id).label("number"),
    )
    .select_from(
        FILE_EVENTS.join(_MESSAGE_NUMBERS, _MESSAGE_NUMBERS.c.id == FILE_EVENTS.c.message_id)
    )
    .where(FILE_EVENTS.c.session_id == _SOURCE)
    .subquery("numbered_events")
)
COPY_FILE_EVENTS = insert(FILE_EVENTS).from_select(
    ["id", "session_id", "message_id", "event_type", "file_path", "diff", "command", "created_at"],
    select(
        numbered_id_sql(_EVENT_PREFIX, _EVENTS_COPIED.c.number),
        _FORK,
        numbered_id_sql(_MESSAGE_PREFIX, _EVENTS_COPIED.c.message_number),
        _EVENTS_COPIED.c.event_type,
        _EVENTS_COPIED.c.file_path,
        _EVENTS_COPIED.c.diff,
        _EVENTS_COPIED.c.command,
        _EVENTS_COPIED.c.created_at,
    ),
)
"""Copy the file events of the copied messages, in the order recorded, times kept."""

HAS_FILE_EVENTS = select(literal(1)).where(FILE_EVENTS.c.session_id == _SOURCE).limit(1)
"""Whether the source has any file event: a fork of a session without skips their copy."""

_COVERED = (
    # For every message up to the point (hidden ones too: a compaction may end on one), how
    # many visible messages go up to it: the copied messages a compaction ending there covers.
    select(
        MESSAGES.c.sequence,
        cast(
            func.sum(case((MESSAGES.c.rewound_by.is_(None), 1), else_=0)).over(
                order_by=MESSAGES.c.sequence
            ),
            Integer(),
        ).label("covered"),
    )
    .where(MESSAGES.c.session_id == _SOURCE, MESSAGES.c.sequence <= _POINT)
    .subquery("covered")
)
_IN_FORCE_UP_TO_POINT = (
    COMPACTIONS.c.session_id == _SOURCE,
    COMPACTIONS.c.rewound_by.is_(None),
    COMPACTIONS.c.through_sequence <= _POINT,
)
_COMPACTIONS_COPIED = (
    select(
        COMPACTIONS.c.summary,
        COMPACTIONS.c.metadata,
        COMPACTIONS.c.token_count,
        COMPACTIONS.c.created_at,
        _COVERED.c.covered,
        _row_number(COMPACTIONS.c.created_at, COMPACTIONS.c.id).label("number"),
    )
    .select_from(COMPACTIONS.join(_COVERED, _COVERED.c.sequence == COMPACTIONS.c.through_sequence))
    # A compaction that covers no visible message (all those up to its end were rewound
    # before it was made) would cover nothing in the copy, and through_sequence >= 1.
    .where(*_IN_FORCE_UP_TO_POINT, _COVERED.c.covered > 0)
    .subquery("numbered_compactions")
)
COPY_COMPACTIONS = insert(COMPACTIONS).from_select(
    ["id", "session_id", "through_sequence", "summary", "metadata", "token_count", "created_at"],
    select(
        numbered_id_sql(_COMPACTION_PREFIX, _COMPACTIONS_COPIED.c.number),
        _FORK,
        _COMPACTIONS_COPIED.c.covered,
        _COMPACTIONS_COPIED.c.summary,
        _COMPACTIONS_COPIED.c.metadata,
        _COMPACTIONS_COPIED.c.token_count,
        _COMPACTIONS_COPIED.c.created_at,
    ),
)
"""Copy the compactions in force up to the point, their ends renumbered; all stay in force."""

HAS_COMPACTIONS_TO_COPY = select(literal(1)).where(*_IN_FORCE_UP_TO_POINT).limit(1)
"""Whether the source has a compaction in force up to the point (most sessions have none)."""
