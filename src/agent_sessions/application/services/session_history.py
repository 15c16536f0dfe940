"""A session's history: fork, rewind, compact, and the context a model is sent.

:class:`SessionHistory` is the part of :class:`PersistentSessionService` that branches and
rewinds conversations and records compactions, without deleting a message. The rules of where
each may happen are :mod:`agent_sessions.domain.history`'s; the stores apply them under the
session's row lock.
"""

from __future__ import annotations

import builtins
import functools
from typing import Any

from agent_sessions.application.services.session_messages import page_before
from agent_sessions.application.services.store_backed_service import StoreBackedService
from agent_sessions.domain.entities import (
    Compaction,
    MessageRole,
    Rewind,
    Session,
    SessionMessage,
)
from agent_sessions.domain.errors import (
    ExternalIdConflictError,
    InvalidInputError,
    SessionNotFoundError,
)
from agent_sessions.domain.history import ForkIds
from agent_sessions.domain.ports import UnitOfWork
from agent_sessions.domain.validation import (
    MAX_MESSAGE_LIMIT,
    validate_actor_name,
    validate_external_id,
    validate_limit,
    validate_metadata,
    validate_reason,
    validate_role,
    validate_sequence,
    validate_summary,
    validate_title,
    validate_token_count,
    validate_ulid,
)
from agent_sessions.domain.windows import reach_back

__all__ = ["SessionHistory", "summary_message"]


def summary_message(compaction: Compaction, role: MessageRole) -> SessionMessage:
    """Return the message that stands for ``compaction`` in a model's context."""
    return SessionMessage(
        id=compaction.id,
        session_id=compaction.session_id,
        sequence=compaction.through_sequence,
        role=role,
        content=compaction.summary,
        metadata={**compaction.metadata, "compaction_id": compaction.id},
        token_count=compaction.token_count,
        created_at=compaction.created_at,
    )


class SessionHistory(StoreBackedService):
    """Fork, rewind and compact sessions, each write in one transaction under the row lock."""

    def fork_session(
        self,
        session_id: str,
        *,
        at_sequence: int | None = None,
        actor_name: str | None = None,
        title: str | None = None,
        external_id: str | None = None,
    ) -> Session:
        """Start a new session from a copy of the visible history up to ``at_sequence``.

        The ids (the session's, and the prefixes of the copied rows') are fixed before the
        first try; a retry that finds the new session returns it.
        """
        wanted = validate_ulid(session_id, "session_id")
        point = None if at_sequence is None else validate_sequence(at_sequence, "at_sequence")
        actor = None if actor_name is None else validate_actor_name(actor_name)
        checked_title = validate_title(title)
        checked_external_id = validate_external_id(external_id)
        ids = ForkIds.fresh(self._new_id)
        now = self._clock()

        def fork(uow: UnitOfWork) -> Session | None:
            already = uow.committed_earlier(lambda: uow.sessions.get_by_id(ids.session_id))
            if already is not None:
                return already
            source = uow.sessions.get_by_id(wanted)
            if source is None:
                return None
            new_actor = actor or source.actor_name
            if checked_external_id is not None:
                holder = uow.sessions.get_by_external_id(new_actor, checked_external_id)
                if holder is not None:
                    raise ExternalIdConflictError(new_actor, checked_external_id, holder.id)
            start = Session(
                id=ids.session_id,
                actor_name=new_actor,
                title=checked_title if title is not None else source.title,
                metadata=source.metadata,
                prompt_tokens=0,
                completion_tokens=0,
                message_count=0,
                created_at=now,
                updated_at=now,
                external_id=checked_external_id,
                # A fork copies the owner's messages, so it is the owner's: erase_owner and
                # list(owner_id=...) find it. A hold is not copied.
                owner_id=source.owner_id,
            )
            return uow.sessions.fork(wanted, ids=ids, fork=start, at_sequence=point)

        return self._on_session(wanted, fork, writes=True)

    def lineage(self, session_id: str) -> builtins.list[Session]:
        """Return the chain of the session's parents, nearest first."""
        wanted = validate_ulid(session_id, "session_id")

        def read(uow: UnitOfWork) -> builtins.list[Session] | None:
            if uow.sessions.get_by_id(wanted) is None:
                return None
            return uow.sessions.lineage(wanted)

        return self._on_session(wanted, read, writes=False)

    def rewind(
        self, session_id: str, to_sequence: int, *, reason: str | None = None
    ) -> Rewind | None:
        """Hide the visible messages after ``to_sequence``; None when there were none."""
        wanted = validate_ulid(session_id, "session_id")
        point = validate_sequence(to_sequence, "to_sequence")
        checked_reason = validate_reason(reason)
        rewind_id = self._new_id()
        now = self._clock()

        def rewind(uow: UnitOfWork) -> Rewind | None:
            already = uow.committed_earlier(lambda: uow.history.get_rewind(rewind_id))
            if already is not None:
                return already
            return uow.history.rewind(
                wanted,
                rewind_id=rewind_id,
                to_sequence=point,
                reason=checked_reason,
                created_at=now,
            )

        return self._store.transaction(rewind, writes=True)

    def undo_rewind(self, session_id: str) -> Rewind:
        """Make the messages of the latest rewind visible again, if nothing came after it."""
        wanted = validate_ulid(session_id, "session_id")
        now = self._clock()
        undone: Rewind | None = None

        def undo(uow: UnitOfWork) -> Rewind:
            nonlocal undone
            earlier = undone  # what the try before this one undid, if any
            if earlier is not None:
                landed = uow.committed_earlier(lambda: uow.history.get_rewind(earlier.id))
                if landed is not None and landed.undone_at == earlier.undone_at:
                    return landed  # the earlier commit landed, its acknowledgement lost
            undone = uow.history.undo_rewind(wanted, undone_at=now)
            return undone

        return self._store.transaction(undo, writes=True)

    def list_rewinds(self, session_id: str) -> builtins.list[Rewind]:
        """Return the session's rewinds, undone ones included, in the order recorded."""
        wanted = validate_ulid(session_id, "session_id")
        return self._read_for_session(wanted, lambda uow: uow.history.rewinds(wanted))

    def compact(
        self,
        session_id: str,
        through_sequence: int,
        summary: str,
        *,
        metadata: dict[str, Any] | None = None,
        token_count: int | None = None,
    ) -> Compaction:
        """Record a summary of the visible messages up to ``through_sequence``; keep them all."""
        wanted = validate_ulid(session_id, "session_id")
        point = validate_sequence(through_sequence, "through_sequence")
        if point == 0:
            raise InvalidInputError(
                "through_sequence", "is 0; a compaction covers at least one message"
            )
        checked_summary = validate_summary(summary)
        checked_metadata = validate_metadata(metadata)
        checked_tokens = validate_token_count(token_count)
        compaction_id = self._new_id()
        now = self._clock()

        def compact(uow: UnitOfWork) -> Compaction:
            already = uow.committed_earlier(lambda: uow.history.get_compaction(compaction_id))
            if already is not None:
                return already
            return uow.history.compact(
                wanted,
                compaction_id=compaction_id,
                through_sequence=point,
                summary=checked_summary,
                metadata=checked_metadata,
                token_count=checked_tokens,
                created_at=now,
            )

        return self._store.transaction(compact, writes=True)

    def list_compactions(self, session_id: str) -> builtins.list[Compaction]:
        """Return the session's compactions, hidden ones included, in the order recorded."""
        wanted = validate_ulid(session_id, "session_id")
        return self._read_for_session(wanted, lambda uow: uow.history.compactions(wanted))

    def context_messages(
        self,
        session_id: str,
        *,
        limit: int | None = None,
        summary_role: MessageRole | str = MessageRole.SYSTEM,
    ) -> builtins.list[SessionMessage]:
        """Return the latest summary, then the visible messages after it (the last ``limit``).

        One read transaction: the compaction in force, then the window after it, grown back
        past tool results as :meth:`recent_messages` grows it (never past the compaction).
        """
        wanted = validate_ulid(session_id, "session_id")
        count = None if limit is None else validate_limit(limit, maximum=MAX_MESSAGE_LIMIT)
        role = validate_role(summary_role, "summary_role")

        def read(uow: UnitOfWork) -> builtins.list[SessionMessage] | None:
            compaction = uow.history.latest_compaction(wanted)
            start = 0 if compaction is None else compaction.through_sequence
            if count is None:
                window = uow.messages.page_after(
                    wanted, start, MAX_MESSAGE_LIMIT, include_rewound=False
                )
                window = _all_after(uow, wanted, window)
            else:
                window = reach_back(
                    uow.messages.recent_for_session(wanted, count, after_sequence=start),
                    functools.partial(_visible_before, uow, start),
                )
            if compaction is None and not window and uow.sessions.get_by_id(wanted) is None:
                return None
            head = [] if compaction is None else [summary_message(compaction, role)]
            return head + window

        found = self._store.transaction(read, writes=False)
        if found is None:
            raise SessionNotFoundError(wanted)
        return found


def _all_after(
    uow: UnitOfWork, session_id: str, first: builtins.list[SessionMessage]
) -> builtins.list[SessionMessage]:
    """Return ``first`` and every visible message after it, page by page."""
    messages = list(first)
    page = first
    while len(page) == MAX_MESSAGE_LIMIT:
        page = uow.messages.page_after(
            session_id, page[-1].sequence, MAX_MESSAGE_LIMIT, include_rewound=False
        )
        messages.extend(page)
    return messages


def _visible_before(
    uow: UnitOfWork, floor: int, message: SessionMessage
) -> builtins.list[SessionMessage]:
    """Return the visible messages just before ``message`` and above ``floor``, ascending."""
    return [earlier for earlier in page_before(uow, message) if earlier.sequence > floor]
