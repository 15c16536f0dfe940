"""The message log of a session: append, pop and read messages over a :class:`SessionStore`.

:class:`SessionMessages` is the part of :class:`PersistentSessionService` that writes and
reads a session's ordered messages; the session row's counters move in the same transaction.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from agent_sessions.application.services.store_backed_service import StoreBackedService
from agent_sessions.domain.entities import MessageRole, NewMessage, SessionMessage
from agent_sessions.domain.errors import SessionNotFoundError
from agent_sessions.domain.ports import UnitOfWork
from agent_sessions.domain.timeline import check_expected_sequence
from agent_sessions.domain.validation import (
    MAX_MESSAGE_LIMIT,
    validate_content,
    validate_expected_sequence,
    validate_flag,
    validate_limit,
    validate_metadata,
    validate_new_messages,
    validate_offset,
    validate_role,
    validate_token_count,
    validate_ulid,
)
from agent_sessions.domain.windows import reach_back

__all__ = ["SessionMessages", "page_before"]


class SessionMessages(StoreBackedService):
    """Append, pop and read a session's messages, each write in one transaction."""

    def append_message(
        self,
        session_id: str,
        role: MessageRole | str,
        content: str,
        *,
        metadata: dict[str, Any] | None = None,
        token_count: int | None = None,
        expected_sequence: int | None = None,
    ) -> SessionMessage:
        """Append a message at the next sequence, atomically, and return it.

        With ``expected_sequence``, only if the session still ends there: the store checks
        it under the row lock, after the look-up for an earlier try's commit.
        """
        wanted = validate_ulid(session_id, "session_id")
        checked_role = validate_role(role)
        checked_content = validate_content(content)
        checked_metadata = validate_metadata(metadata)
        checked_tokens = validate_token_count(token_count)
        expected = validate_expected_sequence(expected_sequence)
        message_id = self._new_id()
        now = self._clock()

        def append(uow: UnitOfWork) -> SessionMessage | None:
            already = uow.committed_earlier(lambda: uow.messages.get_by_id(message_id))
            if already is not None:
                return already
            return uow.messages.append(
                wanted,
                message_id=message_id,
                role=checked_role,
                content=checked_content,
                metadata=checked_metadata,
                token_count=checked_tokens,
                created_at=now,
                expected_sequence=expected,
            )

        return self._on_session(wanted, append, writes=True)

    def append_messages(
        self,
        session_id: str,
        messages: Sequence[NewMessage | Mapping[str, Any]],
        *,
        expected_sequence: int | None = None,
    ) -> builtins.list[SessionMessage]:
        """Append many messages in one transaction, at consecutive sequences, and return them.

        One ``UPDATE`` reserves the sequences and one multi-row ``INSERT`` writes the batch.
        The ids are fixed before the first attempt, so a retry after a lost acknowledgement
        finds the batch it already wrote and returns it (before ``expected_sequence``, which
        that batch moved, is checked). An empty batch writes nothing but is held to
        ``expected_sequence`` all the same.
        """
        wanted = validate_ulid(session_id, "session_id")
        batch = validate_new_messages(messages)
        expected = validate_expected_sequence(expected_sequence)
        message_ids = [self._new_id() for _ in batch]
        now = self._clock()

        def append(uow: UnitOfWork) -> builtins.list[SessionMessage] | None:
            if not batch:
                session = uow.sessions.get_by_id(wanted)
                if session is None:
                    return None
                check_expected_sequence(wanted, expected, session.message_count)
                return []
            first = uow.committed_earlier(lambda: uow.messages.get_by_id(message_ids[0]))
            if first is not None:
                return uow.messages.page_after(wanted, first.sequence - 1, len(batch))
            return uow.messages.append_many(
                wanted,
                message_ids=message_ids,
                messages=batch,
                created_at=now,
                expected_sequence=expected,
            )

        return self._on_session(wanted, append, writes=True)

    def pop_message(self, session_id: str) -> SessionMessage | None:
        """Remove (or hide) the session's newest visible message, atomically, and return it.

        Returns None (writing nothing) when the session has no visible message. Whether the
        message is deleted or hidden under a rewind is the store's call, under the row lock
        (:func:`~agent_sessions.domain.history.pop_hides`); the rewind's id is fixed here.
        The work remembers the message it removed before it commits; a retry after a transient
        error first looks that message up by its id, and when it is gone or hidden by that
        rewind (the earlier commit landed, its acknowledgement lost) returns it instead of
        removing another. If the earlier attempt in fact rolled back and another caller removed
        that very message (or the session) before the retry, this call returns it too, having
        removed nothing: the one case where two pops report one message.
        """
        wanted = validate_ulid(session_id, "session_id")
        now = self._clock()
        rewind_id = self._new_id()
        removed: SessionMessage | None = None

        def pop(uow: UnitOfWork) -> SessionMessage | None:
            nonlocal removed
            earlier = removed  # what the try before this one removed or hid, if any
            if earlier is not None:
                landed = uow.committed_earlier(lambda: _gone(uow, earlier, rewind_id))
                if landed is not None:
                    return landed  # the earlier commit landed, its acknowledgement lost
            popped = uow.messages.pop_last(wanted, updated_at=now, rewind_id=rewind_id)
            if popped is None and uow.sessions.get_by_id(wanted) is None:
                raise SessionNotFoundError(wanted)
            removed = popped
            return popped

        return self._store.transaction(pop, writes=True)

    def iter_messages(self, session_id: str, *, batch_size: int = 1000) -> Iterator[SessionMessage]:
        """Yield the session's messages in ascending sequence, ``batch_size`` at a time."""
        wanted = validate_ulid(session_id, "session_id")
        size = validate_limit(batch_size, maximum=MAX_MESSAGE_LIMIT, argument="batch_size")
        first = self._read_for_session(wanted, lambda uow: uow.messages.page_after(wanted, 0, size))
        return self._following_pages(wanted, first, size)

    def _following_pages(
        self, session_id: str, page: builtins.list[SessionMessage], size: int
    ) -> Iterator[SessionMessage]:
        while page:
            yield from page
            if len(page) < size:
                return
            page = self._messages_after(session_id, page[-1].sequence, size)

    def get_messages(
        self,
        session_id: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        include_rewound: bool = False,
    ) -> builtins.list[SessionMessage]:
        """Return the session's visible messages (or its transcript) in ascending sequence."""
        wanted = validate_ulid(session_id, "session_id")
        page = None if limit is None else validate_limit(limit, maximum=MAX_MESSAGE_LIMIT)
        skip = validate_offset(offset)
        everything = validate_flag(include_rewound, "include_rewound")
        return self._read_for_session(
            wanted,
            lambda uow: uow.messages.get_for_session(
                wanted, limit=page, offset=skip, include_rewound=everything
            ),
        )

    def recent_messages(self, session_id: str, n: int) -> builtins.list[SessionMessage]:
        """Return the last ``n`` messages in ascending sequence, reaching back past tool results.

        A window that would start on a tool result grows back to the assistant turn those
        results answer (:func:`~agent_sessions.domain.windows.reach_back`), reading the extra
        messages in the same transaction; otherwise it costs the one read of the last ``n``.
        """
        wanted = validate_ulid(session_id, "session_id")
        count = validate_limit(n, maximum=MAX_MESSAGE_LIMIT, argument="n")
        return self._read_for_session(
            wanted,
            lambda uow: reach_back(
                uow.messages.recent_for_session(wanted, count),
                functools.partial(page_before, uow),
            ),
        )


def _gone(uow: UnitOfWork, earlier: SessionMessage, rewind_id: str) -> SessionMessage | None:
    """Return ``earlier`` if it is deleted or hidden by ``rewind_id`` (a pop landed), else None."""
    now = uow.messages.get_by_id(earlier.id)
    if now is None or now.rewound_by == rewind_id:
        return earlier if now is None else now
    return None


_BACK_PAGE = 32
"""How many sequences one read back past a window's tool results spans."""


def page_before(uow: UnitOfWork, message: SessionMessage) -> builtins.list[SessionMessage]:
    """Return the visible messages just before ``message``, ascending (empty at the start).

    Keyset reads by sequence range along the ``(session_id, sequence)`` index, each spanning
    :data:`_BACK_PAGE` sequences, so they cost the same however deep into the session the
    window starts; a stretch that a rewind hid entirely is stepped over.
    """
    upper = message.sequence - 1
    while upper > 0:
        lowest = max(upper - _BACK_PAGE, 0)
        page = uow.messages.page_after(
            message.session_id, lowest, upper - lowest, include_rewound=False
        )
        earlier = [row for row in page if row.sequence <= upper]
        if earlier:
            return earlier
        upper = lowest
    return []
