"""The SQLAlchemy adapter of the :class:`~agent_sessions.domain.ports.SessionVerifier` port.

Every check is one set-wise statement (``GROUP BY``, a window function or an outer join) that
returns only the rows that break an invariant, so verifying a large store never loads its
messages into Python. The history checks join messages and compactions to the rewinds they
name (or that span them) and the forks to their parents; which rewind explains a hidden row is
decided by the domain's rule (:class:`~agent_sessions.domain.verification.HiderFacts`) on the
rows the statement found. The statements run on SQLite (3.25 or newer, with its JSON functions,
built in from 3.38), PostgreSQL, and MariaDB 10.2/MySQL 8 or newer.

``metadata`` is checked in SQL on the raw stored value: on SQLite and MariaDB it is text that
can be damaged by hand, so both "not valid JSON" and "JSON but not an object" are found; on
PostgreSQL ``jsonb`` is always valid JSON, and only a value that is not an object is found.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Subquery,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql

from agent_sessions.domain import ports
from agent_sessions.domain import verification as problems
from agent_sessions.domain.verification import (
    HiderFacts,
    VerificationProblem,
    VerificationReport,
)
from agent_sessions.infrastructure.database.models import (
    SessionCompactionModel,
    SessionFileEventModel,
    SessionMessageModel,
    SessionModel,
    SessionRewindModel,
)

__all__ = ["SqlAlchemySessionVerifier"]

_SESSIONS: Table = SessionModel.__table__  # type: ignore[assignment]
_MESSAGES: Table = SessionMessageModel.__table__  # type: ignore[assignment]
_FILE_EVENTS: Table = SessionFileEventModel.__table__  # type: ignore[assignment]
_REWINDS: Table = SessionRewindModel.__table__  # type: ignore[assignment]
_COMPACTIONS: Table = SessionCompactionModel.__table__  # type: ignore[assignment]


class SqlAlchemySessionVerifier(ports.SessionVerifier):
    """Runs the integrity checks on a connection, inside the caller's transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def find_problems(self, session_id: str | None = None) -> VerificationReport | None:
        """Check every session (or only ``session_id``) and report each broken invariant."""
        sessions_checked = self._count(_SESSIONS.c.id, session_id)
        messages_checked = self._count(_MESSAGES.c.session_id, session_id)
        if session_id is not None and sessions_checked == 0 and messages_checked == 0:
            return None
        checks = (
            self._sequence_gaps,
            self._duplicate_sequences,
            self._message_count_mismatches,
            self._orphan_messages,
            self._undecodable_metadata,
            self._tokens_below_messages,
            self._misattributed_file_events,
            self._unexplained_rewound_messages,
            self._visible_messages_in_rewinds,
            self._compaction_ends_missing,
            self._unexplained_rewound_compactions,
            self._fork_points_past_parents,
            self._own_parents,
        )
        return problems.report(
            (problem for check in checks for problem in check(session_id)),
            sessions_checked=sessions_checked,
            messages_checked=messages_checked,
            session_id=session_id,
        )

    # --- the checks, one statement each ------------------------------------------------------

    def _count(self, column: Any, session_id: str | None) -> int:
        query = select(func.count()).select_from(column.table)
        if session_id is not None:
            query = query.where(column == session_id)
        return int(self._connection.execute(query).scalar_one())

    def _sequence_gaps(self, session_id: str | None) -> Iterator[VerificationProblem]:
        previous = (
            # LAG without a default (MariaDB has none): the first message's previous is 0.
            func.coalesce(
                func.lag(_MESSAGES.c.sequence).over(
                    partition_by=_MESSAGES.c.session_id, order_by=_MESSAGES.c.sequence
                ),
                0,
            ).label("previous")
        )
        ordered = _of_stored_sessions(
            select(_MESSAGES.c.session_id, _MESSAGES.c.sequence, previous), session_id
        ).subquery("ordered")
        query = (
            select(ordered.c.session_id, ordered.c.previous, ordered.c.sequence)
            .where(ordered.c.sequence > ordered.c.previous + 1)
            .order_by(ordered.c.session_id, ordered.c.sequence)
        )
        for owner, before, after in self._connection.execute(query):
            yield problems.sequence_gap(owner, int(before) + 1, int(after) - 1)

    def _duplicate_sequences(self, session_id: str | None) -> Iterator[VerificationProblem]:
        holders = func.count().label("holders")
        query = (
            _of_stored_sessions(
                select(_MESSAGES.c.session_id, _MESSAGES.c.sequence, holders), session_id
            )
            .group_by(_MESSAGES.c.session_id, _MESSAGES.c.sequence)
            .having(func.count() > 1)
            .order_by(_MESSAGES.c.session_id, _MESSAGES.c.sequence)
        )
        for owner, sequence, count in self._connection.execute(query):
            yield problems.duplicate_sequence(owner, int(sequence), int(count))

    def _message_count_mismatches(self, session_id: str | None) -> Iterator[VerificationProblem]:
        stored = _per_session(func.count().label("stored"), session_id)
        rows = func.coalesce(stored.c.stored, 0)
        query = (
            _sessions_of(select(_SESSIONS.c.id, _SESSIONS.c.message_count, rows), session_id)
            .select_from(_SESSIONS.outerjoin(stored, stored.c.session_id == _SESSIONS.c.id))
            .where(_SESSIONS.c.message_count != rows)
            .order_by(_SESSIONS.c.id)
        )
        for owner, count, actual in self._connection.execute(query):
            yield problems.message_count_mismatch(owner, int(count), int(actual))

    def _orphan_messages(self, session_id: str | None) -> Iterator[VerificationProblem]:
        query = (
            select(
                _MESSAGES.c.session_id,
                func.count(),
                func.min(_MESSAGES.c.sequence),
                func.max(_MESSAGES.c.sequence),
            )
            .select_from(_MESSAGES.outerjoin(_SESSIONS, _SESSIONS.c.id == _MESSAGES.c.session_id))
            .where(_SESSIONS.c.id.is_(None))
            .group_by(_MESSAGES.c.session_id)
            .order_by(_MESSAGES.c.session_id)
        )
        if session_id is not None:
            query = query.where(_MESSAGES.c.session_id == session_id)
        for owner, count, first, last in self._connection.execute(query):
            yield problems.orphan_messages(owner, int(count), int(first), int(last))

    def _undecodable_metadata(self, session_id: str | None) -> Iterator[VerificationProblem]:
        dialect = self._connection.dialect.name
        session_fault = _metadata_fault(_SESSIONS.c["metadata"], dialect)
        query = _sessions_of(
            select(_SESSIONS.c.id, session_fault).where(session_fault.is_not(None)), session_id
        ).order_by(_SESSIONS.c.id)
        for owner, fault in self._connection.execute(query):
            yield problems.undecodable_session_metadata(owner, fault)
        message_fault = _metadata_fault(_MESSAGES.c["metadata"], dialect)
        of_messages = (
            select(_MESSAGES.c.session_id, _MESSAGES.c.sequence, _MESSAGES.c.id, message_fault)
            .where(message_fault.is_not(None))
            .order_by(_MESSAGES.c.session_id, _MESSAGES.c.sequence)
        )
        if session_id is not None:
            of_messages = of_messages.where(_MESSAGES.c.session_id == session_id)
        for owner, sequence, message_id, fault in self._connection.execute(of_messages):
            yield problems.undecodable_message_metadata(owner, message_id, int(sequence), fault)

    def _tokens_below_messages(self, session_id: str | None) -> Iterator[VerificationProblem]:
        recorded = _per_session(func.sum(_MESSAGES.c.token_count).label("recorded"), session_id)
        totals = _SESSIONS.c.prompt_tokens + _SESSIONS.c.completion_tokens
        query = (
            _sessions_of(
                select(_SESSIONS.c.id, _SESSIONS.c.prompt_tokens, _SESSIONS.c.completion_tokens),
                session_id,
            )
            .add_columns(recorded.c.recorded)
            .select_from(_SESSIONS.join(recorded, recorded.c.session_id == _SESSIONS.c.id))
            # A fork's messages carry the token counts its parent spent; its totals start at 0.
            .where(totals < recorded.c.recorded, _SESSIONS.c.parent_session_id.is_(None))
            .order_by(_SESSIONS.c.id)
        )
        for owner, prompt, completion, total in self._connection.execute(query):
            yield problems.tokens_below_messages(owner, int(prompt), int(completion), int(total))

    def _misattributed_file_events(self, session_id: str | None) -> Iterator[VerificationProblem]:
        query = (
            select(_FILE_EVENTS.c.session_id, _MESSAGES.c.session_id, func.count())
            .select_from(_FILE_EVENTS.join(_MESSAGES, _MESSAGES.c.id == _FILE_EVENTS.c.message_id))
            .where(_MESSAGES.c.session_id != _FILE_EVENTS.c.session_id)
            .group_by(_FILE_EVENTS.c.session_id, _MESSAGES.c.session_id)
            .order_by(_FILE_EVENTS.c.session_id, _MESSAGES.c.session_id)
        )
        if session_id is not None:
            query = query.where(_FILE_EVENTS.c.session_id == session_id)
        for owner, other, count in self._connection.execute(query):
            yield problems.misattributed_file_events(owner, int(count), other)

    def _unexplained_rewound_messages(
        self, session_id: str | None
    ) -> Iterator[VerificationProblem]:
        hider = _REWINDS.alias("hider")
        message = _MESSAGES
        query = _of_stored_sessions(
            select(message.c.session_id, message.c.id, message.c.sequence, message.c.rewound_by)
            .add_columns(*_hider_columns(hider))
            .select_from(message.outerjoin(hider, hider.c.id == message.c.rewound_by))
            .where(
                message.c.rewound_by.is_not(None),
                or_(
                    _unexplained_by(hider, message.c.session_id),
                    message.c.sequence <= hider.c.to_sequence,
                    message.c.sequence > hider.c.through_sequence,
                ),
            ),
            session_id,
        ).order_by(message.c.session_id, message.c.sequence)
        for owner, message_id, sequence, rewind_id, *facts in self._connection.execute(query):
            fault = _facts(facts).fault(owner, int(sequence))
            if fault is not None:
                yield problems.unexplained_rewound_message(
                    owner, message_id, int(sequence), rewind_id, fault
                )

    def _visible_messages_in_rewinds(self, session_id: str | None) -> Iterator[VerificationProblem]:
        rewind, message = _REWINDS, _MESSAGES
        span = (rewind.c.session_id, rewind.c.id, rewind.c.to_sequence, rewind.c.through_sequence)
        inside = and_(
            message.c.session_id == rewind.c.session_id,
            message.c.sequence > rewind.c.to_sequence,
            message.c.sequence <= rewind.c.through_sequence,
        )
        query = (
            select(*span, func.count(), func.min(message.c.sequence), func.max(message.c.sequence))
            .select_from(rewind.join(message, inside))
            .where(rewind.c.undone_at.is_(None), message.c.rewound_by.is_(None))
            .group_by(*span, rewind.c.created_at)
            .order_by(rewind.c.session_id, rewind.c.created_at, rewind.c.id)
        )
        if session_id is not None:
            query = query.where(rewind.c.session_id == session_id)
        for owner, rewind_id, to, through, count, first, last in self._connection.execute(query):
            yield problems.visible_messages_in_rewind(
                owner, rewind_id, (int(to), int(through)), (int(count), int(first), int(last))
            )

    def _compaction_ends_missing(self, session_id: str | None) -> Iterator[VerificationProblem]:
        compaction, end = _COMPACTIONS, _MESSAGES
        at_end = and_(
            end.c.session_id == compaction.c.session_id,
            end.c.sequence == compaction.c.through_sequence,
        )
        query = (
            select(
                compaction.c.session_id,
                compaction.c.id,
                compaction.c.through_sequence,
                _SESSIONS.c.message_count,
            )
            .select_from(
                compaction.join(_SESSIONS, _SESSIONS.c.id == compaction.c.session_id).outerjoin(
                    end, at_end
                )
            )
            .where(
                compaction.c.rewound_by.is_(None),
                or_(end.c.id.is_(None), compaction.c.through_sequence > _SESSIONS.c.message_count),
            )
            .order_by(compaction.c.session_id, compaction.c.created_at, compaction.c.id)
        )
        if session_id is not None:
            query = query.where(compaction.c.session_id == session_id)
        for owner, compaction_id, through, count in self._connection.execute(query):
            yield problems.compaction_end_missing(owner, compaction_id, int(through), int(count))

    def _unexplained_rewound_compactions(
        self, session_id: str | None
    ) -> Iterator[VerificationProblem]:
        hider, compaction = _REWINDS.alias("hider"), _COMPACTIONS
        query = (
            select(
                compaction.c.session_id,
                compaction.c.id,
                compaction.c.through_sequence,
                compaction.c.rewound_by,
                *_hider_columns(hider),
            )
            .select_from(compaction.outerjoin(hider, hider.c.id == compaction.c.rewound_by))
            .where(
                compaction.c.rewound_by.is_not(None),
                or_(
                    _unexplained_by(hider, compaction.c.session_id),
                    compaction.c.through_sequence <= hider.c.to_sequence,
                ),
            )
            .order_by(compaction.c.session_id, compaction.c.created_at, compaction.c.id)
        )
        if session_id is not None:
            query = query.where(compaction.c.session_id == session_id)
        for owner, compaction_id, through, rewind_id, *facts in self._connection.execute(query):
            fault = _facts(facts).fault(owner, int(through), whole_span=False)
            if fault is not None:
                yield problems.unexplained_rewound_compaction(
                    owner, compaction_id, int(through), rewind_id, fault
                )

    def _fork_points_past_parents(self, session_id: str | None) -> Iterator[VerificationProblem]:
        parent = _SESSIONS.alias("parent")
        query = _sessions_of(
            select(
                _SESSIONS.c.id, _SESSIONS.c.forked_at_sequence, parent.c.id, parent.c.message_count
            )
            .select_from(_SESSIONS.join(parent, parent.c.id == _SESSIONS.c.parent_session_id))
            .where(
                parent.c.id != _SESSIONS.c.id,
                _SESSIONS.c.forked_at_sequence > parent.c.message_count,
            ),
            session_id,
        ).order_by(_SESSIONS.c.id)
        for owner, point, parent_id, count in self._connection.execute(query):
            yield problems.fork_point_past_parent(owner, int(point), parent_id, int(count))

    def _own_parents(self, session_id: str | None) -> Iterator[VerificationProblem]:
        query = _sessions_of(
            select(_SESSIONS.c.id).where(_SESSIONS.c.parent_session_id == _SESSIONS.c.id),
            session_id,
        ).order_by(_SESSIONS.c.id)
        for (owner,) in self._connection.execute(query):
            yield problems.own_parent(owner)


def _sessions_of(query: Select[Any], session_id: str | None) -> Select[Any]:
    """Restrict a query over ``sessions`` to one session when ``session_id`` is given."""
    return query if session_id is None else query.where(_SESSIONS.c.id == session_id)


def _of_stored_sessions(query: Select[Any], session_id: str | None) -> Select[Any]:
    """Restrict a query over messages to those whose session exists (orphans are separate)."""
    owner = select(_SESSIONS.c.id).where(_SESSIONS.c.id == _MESSAGES.c.session_id).exists()
    query = query.where(owner)
    return query if session_id is None else query.where(_MESSAGES.c.session_id == session_id)


def _per_session(aggregate: ColumnElement[Any], session_id: str | None) -> Subquery:
    """Return ``(session_id, aggregate)`` over the messages, grouped by session."""
    query = select(_MESSAGES.c.session_id, aggregate).group_by(_MESSAGES.c.session_id)
    if session_id is not None:
        query = query.where(_MESSAGES.c.session_id == session_id)
    return query.subquery()


def _metadata_fault(column: Any, dialect: str) -> ColumnElement[Any]:
    """Return SQL that is NULL for a JSON object and otherwise says what is wrong.

    What it says is :data:`~agent_sessions.domain.verification.METADATA_NOT_JSON` or
    :data:`~agent_sessions.domain.verification.METADATA_NOT_OBJECT`, the domain's words.

    ``CASE`` evaluates its branches in order, so the type of a value is asked only once it is
    known to be valid JSON (SQLite's ``json_type`` fails on malformed text).
    """
    if dialect == "postgresql":
        kind = func.jsonb_typeof(cast(column, postgresql.JSONB))
        return case((kind != "object", literal(problems.METADATA_NOT_OBJECT)), else_=None)
    return case(
        (func.json_valid(column) == 0, literal(problems.METADATA_NOT_JSON)),
        (func.lower(func.json_type(column)) != "object", literal(problems.METADATA_NOT_OBJECT)),
        else_=None,
    )


def _hider_columns(hider: Any) -> tuple[ColumnElement[Any], ...]:
    """Return what :func:`_facts` reads of the rewind a row names (NULLs when there is none)."""
    undone = case((hider.c.undone_at.is_(None), literal(0)), else_=literal(1))
    return (hider.c.session_id, hider.c.to_sequence, hider.c.through_sequence, undone)


def _facts(row: list[Any]) -> HiderFacts:
    owner, to, through, undone = row
    if owner is None:
        return HiderFacts(None)
    return HiderFacts(owner, int(to), int(through), bool(undone))


def _unexplained_by(hider: Any, owner: ColumnElement[Any]) -> ColumnElement[bool]:
    """Return SQL that is true when the rewind a row names is absent, foreign or undone."""
    return or_(hider.c.id.is_(None), hider.c.session_id != owner, hider.c.undone_at.is_not(None))
