"""The SQLAlchemy adapter of the session repository port: the ``sessions`` table.

How it is bound and retried: :class:`~.repository_base.BoundRepository`.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from agent_sessions.domain import ports
from agent_sessions.domain.entities import Session
from agent_sessions.domain.history import ForkIds
from agent_sessions.infrastructure.database.fork_statements import (
    COPY_COMPACTIONS,
    COPY_FILE_EVENTS,
    COPY_MESSAGES,
    HAS_COMPACTIONS_TO_COPY,
    HAS_FILE_EVENTS,
)
from agent_sessions.infrastructure.database.history_repository import checked_point
from agent_sessions.infrastructure.database.mapping import session_from_row, session_to_values
from agent_sessions.infrastructure.database.repository_base import BoundRepository
from agent_sessions.infrastructure.database.retry import database_retry
from agent_sessions.infrastructure.database.session_lock import lock_session
from agent_sessions.infrastructure.database.statements import (
    ERASURE_TABLES,
    FILE_EVENTS,
    SESSIONS,
    TOKEN_USAGE,
    never_before,
)
from agent_sessions.infrastructure.database.types import UTCDateTime

__all__ = ["SessionRepository"]


class SessionRepository(BoundRepository, ports.SessionRepository):
    """Stores and finds sessions in the ``sessions`` table."""

    @database_retry
    def create(self, session: Session) -> Session:
        """Insert ``session`` as given and return it."""
        self._connection.execute(insert(SESSIONS).values(session_to_values(session)))
        return session

    @database_retry
    def get_by_id(self, session_id: str) -> Session | None:
        """Return the session with this id, or None."""
        row = self._connection.execute(select(SESSIONS).where(SESSIONS.c.id == session_id)).first()
        return None if row is None else session_from_row(row)

    @database_retry
    def get_by_external_id(self, actor_name: str, external_id: str) -> Session | None:
        """Return the actor's session with this external id, or None (by the unique index)."""
        return self._find_by_external_id(actor_name, external_id, lock=False)

    @database_retry
    def create_or_get_by_external_id(self, session: Session) -> Session:
        """Insert ``session`` unless its ``(actor_name, external_id)`` is taken; return the holder.

        The insert runs in a savepoint: when a concurrent transaction committed the same pair
        first, the unique index refuses the row, the savepoint rolls back, and a locking read
        (which sees the latest committed row even under MariaDB's REPEATABLE READ) returns the
        session that won.
        """
        assert session.external_id is not None, "only sessions with an external id"
        existing = self._find_by_external_id(session.actor_name, session.external_id, lock=False)
        if existing is not None:
            return existing
        connection = self._connection
        try:
            with connection.begin_nested():
                connection.execute(insert(SESSIONS).values(session_to_values(session)))
        except IntegrityError:
            existing = self._find_by_external_id(session.actor_name, session.external_id, lock=True)
            if existing is None:
                raise
            return existing
        return session

    def _find_by_external_id(
        self, actor_name: str, external_id: str, *, lock: bool
    ) -> Session | None:
        query = select(SESSIONS).where(
            SESSIONS.c.actor_name == actor_name, SESSIONS.c.external_id == external_id
        )
        if lock:
            query = query.with_for_update()
        row = self._connection.execute(query).first()
        return None if row is None else session_from_row(row)

    @database_retry
    def list_touching(self, file_path: str, *, limit: int) -> builtins.list[Session]:
        """Return the sessions with an event on ``file_path`` (found by its index), newest first."""
        touched = select(FILE_EVENTS.c.session_id).where(FILE_EVENTS.c.file_path == file_path)
        query = (
            select(SESSIONS)
            .where(SESSIONS.c.id.in_(touched))
            .order_by(SESSIONS.c.created_at.desc(), SESSIONS.c.id.desc())
            .limit(limit)
        )
        return [session_from_row(row) for row in self._connection.execute(query)]

    @database_retry
    def list_all(
        self,
        *,
        actor_name: str | None = None,
        limit: int = 50,
        offset: int = 0,
        after: tuple[datetime, str] | None = None,
        forked_from: str | None = None,
        owner_id: str | None = None,
        external_id: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        updated_after: datetime | None = None,
        updated_before: datetime | None = None,
    ) -> builtins.list[Session]:
        """Return sessions newest first (``created_at`` then ``id``, both descending).

        ``forked_from`` keeps the direct forks of that session (found by the index on
        ``parent_session_id``); ``owner_id`` the owner's sessions, found by the index on
        ``(owner_id, created_at, id)``, which also gives the order and the keyset's range; the
        time bounds are strict. ``after`` continues a listing by keyset: ``created_at <= t
        AND (created_at < t OR id < i)``, a form every backend's optimiser turns into an
        index range scan (row-value comparisons are not, on MariaDB).
        """
        query = select(SESSIONS)
        if actor_name is not None:
            query = query.where(SESSIONS.c.actor_name == actor_name)
        if owner_id is not None:
            query = query.where(SESSIONS.c.owner_id == owner_id)
        if external_id is not None:
            query = query.where(SESSIONS.c.external_id == external_id)
        if forked_from is not None:
            query = query.where(SESSIONS.c.parent_session_id == forked_from)
        for column, bound, above in (
            (SESSIONS.c.created_at, created_after, True),
            (SESSIONS.c.created_at, created_before, False),
            (SESSIONS.c.updated_at, updated_after, True),
            (SESSIONS.c.updated_at, updated_before, False),
        ):
            if bound is not None:
                edge = literal(bound, UTCDateTime())
                query = query.where(column > edge if above else column < edge)
        if after is not None:
            moment, session_id = after
            at = literal(moment, UTCDateTime())
            query = query.where(
                SESSIONS.c.created_at <= at,
                or_(SESSIONS.c.created_at < at, SESSIONS.c.id < session_id),
            )
        query = (
            query.order_by(SESSIONS.c.created_at.desc(), SESSIONS.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [session_from_row(row) for row in self._connection.execute(query)]

    @database_retry
    def set_hold(
        self, session_id: str, *, reason: str | None, held_at: datetime | None
    ) -> Session | None:
        """Write ``hold_reason`` and ``held_at`` only (``updated_at`` stays); None if absent."""
        statement = (
            update(SESSIONS)
            .where(SESSIONS.c.id == session_id)
            .values(hold_reason=reason, held_at=held_at)
        )
        connection = self._connection
        if connection.dialect.update_returning:
            row = connection.execute(statement.returning(*SESSIONS.c)).first()
            return None if row is None else session_from_row(row)
        if connection.execute(statement).rowcount == 0:
            return None
        return self.get_by_id(session_id)

    @database_retry
    def owner_batch(
        self, owner_id: str, *, limit: int, held: bool = False
    ) -> builtins.list[Session]:
        """Return up to ``limit`` sessions of ``owner_id`` in ``id`` order (the owner index)."""
        query = select(SESSIONS).where(SESSIONS.c.owner_id == owner_id)
        if held:
            query = query.where(SESSIONS.c.hold_reason.is_not(None))
        query = query.order_by(SESSIONS.c.id).limit(limit)
        return [session_from_row(row) for row in self._connection.execute(query)]

    @database_retry
    def erase(self, session_ids: Sequence[str]) -> dict[str, int]:
        """Count the rows of these sessions in every table holding them, then delete them.

        The tables are those of :data:`~.statements.ERASURE_TABLES` (``sessions`` and every
        table with a foreign key to it); the counts are read in the caller's transaction,
        after the sessions' rows are locked, and the DELETE of the sessions takes the rest by
        ``ON DELETE CASCADE``.
        """
        ids = list(dict.fromkeys(session_ids))
        counts = dict.fromkeys((table.name for table, _ in ERASURE_TABLES), 0)
        if not ids:
            return counts
        connection = self._connection
        connection.execute(
            select(SESSIONS.c.id).where(SESSIONS.c.id.in_(ids)).with_for_update()
        ).all()
        for table, column in ERASURE_TABLES:
            total = connection.execute(
                select(func.count()).select_from(table).where(column.in_(ids))
            ).scalar_one()
            counts[table.name] = int(total)
        connection.execute(delete(SESSIONS).where(SESSIONS.c.id.in_(ids)))
        return counts

    @database_retry
    def fork(
        self, source_id: str, *, ids: ForkIds, fork: Session, at_sequence: int | None
    ) -> Session | None:
        """Lock the source, check the point, insert the fork and copy its rows in SQL.

        The source's row is locked as an append locks it (its ``updated_at`` stays: the
        source does not change). The messages are copied by one ``INSERT ... SELECT``, whose
        row count is the fork's ``message_count``; the file events and the compactions by one
        each, run only when the source has any to copy (:mod:`.fork_statements`).
        """
        connection = self._connection
        last = lock_session(connection, source_id)
        if last is None:
            return None
        if at_sequence is not None:
            checked_point(connection, "at_sequence", source_id, at_sequence, last)
        point = last if at_sequence is None else at_sequence
        stored = dataclasses.replace(
            fork,
            id=ids.session_id,
            message_count=0,
            parent_session_id=source_id,
            forked_at_sequence=point,
        )
        connection.execute(insert(SESSIONS).values(session_to_values(stored)))
        parameters = {
            "p_source_id": source_id,
            "p_point": point,
            "p_fork_id": ids.session_id,
            "p_message_prefix": ids.message_prefix,
            "p_event_prefix": ids.event_prefix,
            "p_compaction_prefix": ids.compaction_prefix,
        }
        copied = connection.execute(COPY_MESSAGES, parameters).rowcount
        if copied == 0:
            return stored
        if connection.execute(HAS_FILE_EVENTS, parameters).first() is not None:
            connection.execute(COPY_FILE_EVENTS, parameters)
        if connection.execute(HAS_COMPACTIONS_TO_COPY, parameters).first() is not None:
            connection.execute(COPY_COMPACTIONS, parameters)
        connection.execute(
            update(SESSIONS).where(SESSIONS.c.id == ids.session_id).values(message_count=copied)
        )
        return dataclasses.replace(stored, message_count=copied)

    @database_retry
    def lineage(self, session_id: str) -> builtins.list[Session]:
        """Follow ``parent_session_id`` one read per generation, nearest parent first.

        Stops at a parent that is not stored, and at a session already in the chain (a
        cycle only a damaged store or an import can make).
        """
        chain: builtins.list[Session] = []
        seen = {session_id}
        start = self.get_by_id(session_id)
        parent_id = None if start is None else start.parent_session_id
        while parent_id is not None and parent_id not in seen:
            parent = self.get_by_id(parent_id)
            if parent is None:
                break
            chain.append(parent)
            seen.add(parent_id)
            parent_id = parent.parent_session_id
        return chain

    @database_retry
    def delete(self, session_id: str) -> bool:
        """Delete the session (its messages go by ON DELETE CASCADE); False if absent."""
        result = self._connection.execute(delete(SESSIONS).where(SESSIONS.c.id == session_id))
        return result.rowcount > 0

    @database_retry
    def update(
        self,
        session_id: str,
        *,
        add_prompt_tokens: int = 0,
        add_completion_tokens: int = 0,
        updated_at: datetime,
        usage_key: str | None = None,
    ) -> Session | None:
        """Add to the token counters in SQL and return the new row, or None if absent.

        With a ``usage_key`` the call is also recorded in ``session_token_usage``, in the same
        transaction, after the counters (so that the session row is locked first).
        """
        statement = (
            update(SESSIONS)
            .where(SESSIONS.c.id == session_id)
            .values(
                prompt_tokens=SESSIONS.c.prompt_tokens + add_prompt_tokens,
                completion_tokens=SESSIONS.c.completion_tokens + add_completion_tokens,
                updated_at=never_before(SESSIONS.c.updated_at, updated_at),
            )
        )
        connection = self._connection
        if connection.dialect.update_returning:
            row = connection.execute(statement.returning(*SESSIONS.c)).first()
            updated = None if row is None else session_from_row(row)
        elif connection.execute(statement).rowcount == 0:
            updated = None
        else:
            updated = self.get_by_id(session_id)
        if updated is not None and usage_key is not None:
            connection.execute(
                insert(TOKEN_USAGE).values(
                    session_id=session_id,
                    usage_key=usage_key,
                    prompt_tokens=add_prompt_tokens,
                    completion_tokens=add_completion_tokens,
                    recorded_at=updated_at,
                )
            )
        return updated

    @database_retry
    def recorded_token_usage(self, session_id: str, usage_key: str) -> tuple[int, int] | None:
        """Lock the session row, then return the usage recorded under ``usage_key``, if any.

        ``SELECT ... FOR UPDATE`` on PostgreSQL and MariaDB; SQLite writers already hold the
        database's write lock (``BEGIN IMMEDIATE``), and SQLAlchemy leaves the clause out there.
        """
        connection = self._connection
        connection.execute(
            select(SESSIONS.c.id).where(SESSIONS.c.id == session_id).with_for_update()
        ).first()
        row = connection.execute(
            select(TOKEN_USAGE.c.prompt_tokens, TOKEN_USAGE.c.completion_tokens).where(
                TOKEN_USAGE.c.session_id == session_id, TOKEN_USAGE.c.usage_key == usage_key
            )
        ).first()
        return None if row is None else (int(row.prompt_tokens), int(row.completion_tokens))
