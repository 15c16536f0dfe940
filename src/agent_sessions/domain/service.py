"""The :class:`SessionService` port: what an agent core can do with its sessions."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import IO, Any, Self

from agent_sessions.domain.entities import (
    Compaction,
    ErasureReceipt,
    FileEvent,
    FileEventType,
    FileTouch,
    MessageRole,
    NewMessage,
    Rewind,
    Session,
    SessionMessage,
)
from agent_sessions.domain.pagination import SessionPage
from agent_sessions.domain.verification import VerificationReport

__all__ = ["SessionService"]


class SessionService(ABC):
    """Create, read, extend, export and delete agent sessions.

    Every method validates its arguments before touching storage and raises
    :class:`~agent_sessions.domain.errors.InvalidInputError` (naming the argument) on bad input;
    nothing is written when any error is raised. An unknown session id raises
    :class:`~agent_sessions.domain.errors.SessionNotFoundError`. Implementations are safe to share
    between threads. All datetimes are timezone-aware UTC.
    """

    @abstractmethod
    def create(
        self,
        actor_name: str,
        *,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        external_id: str | None = None,
        owner_id: str | None = None,
    ) -> Session:
        """Create a session with a new ULID and zeroed counters, and return it.

        ``external_id`` is the id a host tool gives the session; it is unique per actor, and
        one already in use raises ``ExternalIdConflictError`` (an ``InvalidInputError``).
        ``owner_id`` is the end user or tenant it belongs to (a non-blank name of at most 255
        characters), or None.
        """

    @abstractmethod
    def get(self, session_id: str) -> Session:
        """Return the session, or raise ``SessionNotFoundError``."""

    @abstractmethod
    def get_by_external_id(self, actor_name: str, external_id: str) -> Session | None:
        """Return the actor's session that carries ``external_id``, or None."""

    @abstractmethod
    def get_or_create(
        self,
        actor_name: str,
        external_id: str,
        *,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        owner_id: str | None = None,
    ) -> Session:
        """Return the actor's session with ``external_id``, creating it when there is none.

        Safe when processes race on the same id: exactly one session results and every caller
        gets it. ``title``, ``metadata`` and ``owner_id`` apply only when the session is
        created.
        """

    @abstractmethod
    def list(
        self,
        *,
        actor_name: str | None = None,
        limit: int = 50,
        offset: int = 0,
        after: str | None = None,
        forked_from: str | None = None,
        owner_id: str | None = None,
        external_id: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        updated_after: datetime | None = None,
        updated_before: datetime | None = None,
    ) -> SessionPage:
        """Return sessions newest first (``created_at``, then ``id``, descending).

        The page is a list with a ``next_cursor`` attribute: pass it as ``after`` to get the
        next page (keyset pagination, as fast on the ten-thousandth page as on the first).

        Args:
            actor_name: only this actor's sessions, when given.
            limit: page size, 1 to 1000.
            offset: how many sessions to skip, 0 or more (not with ``after``).
            after: a ``next_cursor`` of an earlier page (of the same filters).
            forked_from: only the sessions forked from this session id (its direct forks).
            owner_id: only this owner's sessions (read along an owner index: listing one
                owner among a million sessions costs what it does among a thousand).
            external_id: only the sessions carrying this external id (one per actor).
            created_after: only sessions created strictly after this timezone-aware time.
            created_before: only sessions created strictly before it.
            updated_after: only sessions last active (``updated_at``) strictly after it.
            updated_before: only sessions last active strictly before it.

        """

    @abstractmethod
    def set_hold(self, session_id: str, reason: str) -> Session:
        """Put the session under a hold, for ``reason``, and return it.

        Retention (``prune``) never removes a held session and ``erase_owner`` refuses while
        one of the owner's sessions is held. Setting a hold again replaces its reason. The
        session's ``updated_at`` does not move: a hold is not activity. ``reason`` is a
        non-blank string of at most 4 KiB.
        """

    @abstractmethod
    def release_hold(self, session_id: str) -> Session:
        """Release the session's hold, if it has one, and return it (``updated_at`` stays)."""

    @abstractmethod
    def erase_owner(self, owner_id: str) -> ErasureReceipt:
        """Delete every session of ``owner_id`` with everything that hangs off it.

        Messages, file events, token-usage receipts, rewinds and compactions go with their
        sessions, in batches of sessions, each batch its own transaction, so that writers of
        other sessions keep going. Returns a receipt with the rows deleted by table and the
        time. Refused with ``InvalidInputError`` naming ``owner_id``, before anything is
        deleted, while one of the owner's sessions is under a hold. An owner without sessions
        gets a receipt of zeros. Afterwards no row of the owner's sessions remains.
        """

    @abstractmethod
    def fork_session(
        self,
        session_id: str,
        *,
        at_sequence: int | None = None,
        actor_name: str | None = None,
        title: str | None = None,
        external_id: str | None = None,
    ) -> Session:
        """Start a new session from the session's visible history up to ``at_sequence``.

        The new session holds copies of the visible messages with a sequence up to
        ``at_sequence`` (all of them when None; 0 forks from before the first message), with
        new ids and the same roles, content, metadata, token counts and ``created_at``,
        renumbered 1..k without gap; the file events of those messages are copied with them,
        and so are the compactions in force that end within them. The copy runs inside the
        database (``INSERT ... SELECT``) under the source's row lock; the source is not
        changed. The fork records ``parent_session_id`` and ``forked_at_sequence``; its token
        counters start at zero (the parent spent them). ``actor_name`` and ``title`` default
        to the source's, metadata is the source's, and ``external_id`` (unique per actor, as
        for :meth:`create`) defaults to none.

        ``at_sequence`` must be 0 or the sequence of a visible message of the source
        (``InvalidInputError`` naming it otherwise: past the end, or rewound).
        """

    @abstractmethod
    def lineage(self, session_id: str) -> builtins.list[Session]:
        """Return the chain of the session's parents, nearest first (empty for a non-fork).

        The chain stops at a parent that has been deleted (its id stays in the child's
        ``parent_session_id``).
        """

    @abstractmethod
    def delete(self, session_id: str) -> None:
        """Delete the session, its messages and file events, or raise ``SessionNotFoundError``."""

    @abstractmethod
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

        Bumps the session's ``message_count`` and ``updated_at`` in the same transaction.
        Concurrent appends to one session, from threads or processes, get the sequences
        1, 2, 3 ... with no gap and no duplicate.

        ``expected_sequence`` makes the append optimistic: it is written only if the
        session's last sequence is still that number (0 for a session without messages),
        checked under the session's row lock, so of several writers that read the same end
        exactly one appends. Otherwise ``SequenceConflictError`` (with ``expected`` and
        ``actual``) is raised and nothing is written. It must be None (the default: append
        wherever the end is) or an integer from 0 to 2**53 - 1. A retry after a lost commit
        acknowledgement returns the message that was committed, never a conflict.
        """

    @abstractmethod
    def append_messages(
        self,
        session_id: str,
        messages: Sequence[NewMessage | Mapping[str, Any]],
        *,
        expected_sequence: int | None = None,
    ) -> builtins.list[SessionMessage]:
        """Append many messages in one transaction, at consecutive sequences, and return them.

        ``messages`` is a list or tuple (at most 100000) of :class:`NewMessage` or of mappings
        with ``role`` and ``content`` and optionally ``metadata`` and ``token_count``. All are
        checked before anything is written (``InvalidInputError`` naming the field, such as
        ``messages[3].content``), and all or none are stored: a concurrent appender's message
        comes before or after the whole batch, never inside it. ``expected_sequence`` guards
        the whole batch as it guards :meth:`append_message` (``SequenceConflictError`` and
        nothing written when the session's last sequence is another), an empty batch included.
        """

    @abstractmethod
    def pop_message(self, session_id: str) -> SessionMessage | None:
        """Remove the session's newest visible message and return it.

        Atomic: one transaction takes the session's row lock, as appends do, deletes the
        message and its file events, steps ``message_count`` back by one (so the next append
        reuses that sequence and sequences stay 1..n without gap) and moves ``updated_at`` to
        now, never backwards. Token totals are left as they are. Returns None, writing
        nothing, when the session has no visible message; raises ``SessionNotFoundError`` for
        an unknown session.

        When rewound messages follow the message, or a compaction in force covers it,
        deleting it would leave a gap in the transcript or a summary without its source: it
        is hidden instead, by a rewind to the visible message before it (reason
        ``"pop_message"``), and returned with ``rewound_by`` set.

        Exactly once across the library's own retries: a retry after a commit whose
        acknowledgement was lost returns the message the earlier attempt removed instead of
        removing another. The limit: when the earlier attempt in fact failed without
        committing and, before the retry, another caller popped that same message (or deleted
        the session), the retry cannot tell this from a lost acknowledgement; it returns the
        message too, although this call removed nothing.
        """

    @abstractmethod
    def iter_messages(self, session_id: str, *, batch_size: int = 1000) -> Iterator[SessionMessage]:
        """Yield the session's transcript in ascending sequence, ``batch_size`` at a time.

        The full transcript: rewound messages too, each with its ``rewound_by``.

        Memory stays constant whatever the session's size: each batch is one keyset query
        (``sequence > last seen``) in its own short transaction. Messages appended while the
        iteration runs are yielded too when they come after the last batch read. Raises
        ``SessionNotFoundError`` at the call for an unknown session, and ``InvalidInputError``
        for a ``batch_size`` outside 1 to 100000.
        """

    @abstractmethod
    def get_messages(
        self,
        session_id: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        include_rewound: bool = False,
    ) -> builtins.list[SessionMessage]:
        """Return the session's visible messages in ascending sequence (all when limit is None).

        Args:
            session_id: the session.
            limit: page size, None or 1 to 100000.
            offset: how many messages to skip, 0 or more.
            include_rewound: also the messages a rewind hid (the full transcript), each with
                its ``rewound_by``.

        """

    @abstractmethod
    def rewind(
        self, session_id: str, to_sequence: int, *, reason: str | None = None
    ) -> Rewind | None:
        """Hide the visible messages after ``to_sequence`` from the session's visible history.

        Nothing is deleted: the messages stay in the transcript (``get_messages(...,
        include_rewound=True)``, ``iter_messages``, exports, ``verify``) with ``rewound_by``
        naming the returned :class:`Rewind`, and compactions covering any of them are hidden
        with them. Appends continue after the highest sequence ever used, so numbers are never
        reused. ``to_sequence`` must be 0 (hide everything) or the sequence of a visible
        message (``InvalidInputError`` naming it otherwise); rewinding to the current end
        writes nothing and returns None. ``reason`` is None or text of at most 4 KiB.
        """

    @abstractmethod
    def undo_rewind(self, session_id: str) -> Rewind:
        """Make the messages of the session's latest rewind visible again; return it, undone.

        Only while nothing was appended after the rewind: otherwise ``SequenceConflictError``
        (nothing undone). A session without a rewind to undo raises ``InvalidInputError``
        naming ``session_id``. Undoing again undoes the rewind before, under the same rule.
        """

    @abstractmethod
    def list_rewinds(self, session_id: str) -> builtins.list[Rewind]:
        """Return the session's rewinds, undone ones included, in the order recorded."""

    @abstractmethod
    def compact(
        self,
        session_id: str,
        through_sequence: int,
        summary: str,
        *,
        metadata: dict[str, Any] | None = None,
        token_count: int | None = None,
    ) -> Compaction:
        """Record that ``summary`` stands for the visible messages up to ``through_sequence``.

        Nothing is removed: :meth:`get_messages` still returns every message, while
        :meth:`context_messages` sends the latest compaction's summary in place of the
        messages it covers. ``through_sequence`` must be the sequence of a visible message
        (``InvalidInputError`` naming it otherwise), and at least the end of the compaction in
        force: a compaction may cover an earlier one. When the first message after it is a
        tool result, the compaction ends before the assistant turn that made the call, so
        the messages after a summary never start with an orphaned tool result; the returned
        compaction carries the ``through_sequence`` stored.
        """

    @abstractmethod
    def list_compactions(self, session_id: str) -> builtins.list[Compaction]:
        """Return the session's compactions, hidden ones included, in the order recorded."""

    @abstractmethod
    def context_messages(
        self,
        session_id: str,
        *,
        limit: int | None = None,
        summary_role: MessageRole | str = MessageRole.SYSTEM,
    ) -> builtins.list[SessionMessage]:
        """Return what a model should be sent: the latest summary, then the messages after it.

        Without a compaction in force, the visible history (or its last ``limit`` messages, as
        :meth:`recent_messages` cuts them: never starting on a tool result, so possibly more
        than ``limit``). With one, a message standing for its summary (id and ``created_at``
        of the compaction, ``sequence`` its ``through_sequence``, role ``summary_role``,
        content the summary, metadata the compaction's plus ``"compaction_id"``, its token
        count), followed by the visible messages after it, of which at most ``limit`` cut the
        same way. ``limit`` is None or 1 to 100000.
        """

    @abstractmethod
    def recent_messages(self, session_id: str, n: int) -> builtins.list[SessionMessage]:
        """Return the last ``n`` messages (1 to 100000) in ascending sequence.

        The window never starts with a ``tool`` message: when the ``n``-th newest message is a
        tool result, it reaches back to the nearest earlier message that is not one (the
        assistant turn whose calls those results answer), so it may hold more than ``n``
        messages. A session with only tool results before the cut returns from its first
        message. See :func:`~agent_sessions.domain.windows.reach_back`.
        """

    @abstractmethod
    def export_session(self, session_id: str) -> dict[str, Any]:
        """Return the session and its messages as an export document with a SHA-256 checksum."""

    @abstractmethod
    def import_session(self, document: dict[str, Any], *, on_conflict: str = "error") -> Session:
        """Verify an export document, then write it all or nothing, with fresh ids.

        Reads ``schema_version`` 1, 2 and 3. Raises ``UnsupportedSchemaVersionError`` for an
        unknown ``schema_version`` and ``ImportIntegrityError`` for a wrong checksum or a
        malformed document. When the document's external id already names a session of its
        actor, ``on_conflict="error"`` (the default) raises ``ImportIntegrityError`` and
        ``on_conflict="new_external_id"`` imports a copy without the external id.
        """

    @abstractmethod
    def export_session_to(self, session_id: str, file: IO[bytes] | IO[str]) -> Session:
        """Write the session as a JSON Lines export to ``file`` (binary or text), streaming.

        Memory stays constant whatever the session's size. The stream holds the session as it
        was when the export began; returns that session.
        """

    @abstractmethod
    def import_session_from(
        self, file: IO[bytes] | IO[str], *, on_conflict: str = "error"
    ) -> Session:
        """Read a JSON Lines export and write it all or nothing, with fresh ids, streaming.

        Every line is checked as it is read; a malformed line, a wrong checksum or a stream
        cut short raises ``ImportIntegrityError`` and writes nothing. ``on_conflict`` is as for
        :meth:`import_session`.
        """

    @abstractmethod
    def update_token_usage(
        self,
        session_id: str,
        *,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        idempotency_key: str | None = None,
    ) -> Session:
        """Add (never replace) token usage atomically and return the updated session.

        A call that repeats an earlier call's ``idempotency_key`` (with the same amounts)
        adds nothing and returns the session; the same key with other amounts raises
        ``InvalidInputError``.
        """

    @abstractmethod
    def record_file_event(
        self,
        session_id: str,
        message_id: str,
        event_type: FileEventType | str,
        *,
        file_path: str | None = None,
        diff: str | None = None,
        command: str | None = None,
    ) -> FileEvent:
        """Record what a message of the session did to a file (or the command it ran).

        A ``command`` event needs ``command``; every other type needs ``file_path``. The
        message must belong to the session (``InvalidInputError`` naming ``message_id``
        otherwise). The event's ``created_at`` is later than every earlier event of the
        session, and the session's ``updated_at`` moves to it.
        """

    @abstractmethod
    def list_file_events(
        self,
        session_id: str,
        *,
        event_type: FileEventType | str | None = None,
        file_path: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[FileEvent]:
        """Return the session's file events in the order recorded, optionally filtered.

        Args:
            session_id: the session.
            event_type: only events of this type, when given.
            file_path: only events on this exact path, when given.
            limit: page size, None or 1 to 100000.
            offset: how many (matching) events to skip, 0 or more.

        """

    @abstractmethod
    def files_touched(self, session_id: str) -> builtins.list[FileTouch]:
        """Return each path the events of the visible messages name, with counts by type."""

    @abstractmethod
    def sessions_touching(self, file_path: str, *, limit: int = 50) -> builtins.list[Session]:
        """Return the sessions with an event on ``file_path``, newest first (1 to 1000)."""

    @abstractmethod
    def verify(self, session_id: str | None = None) -> VerificationReport:
        """Check the stored sessions' integrity and return a report of every problem found.

        Checks every session, or only ``session_id`` when it is given: sequences 1..n without
        gap or duplicate, ``message_count`` equal to the stored messages, no message whose
        session is missing, ``metadata`` that decodes to a JSON object, token totals not
        below the sum of the messages' ``token_count``, and the history consistent: rewound
        messages inside a rewind of their session that holds, no visible message inside one,
        compactions in force ending on a stored sequence, forks' points within their parent.
        Reads only; ``report.ok`` is true when nothing is wrong. Raises ``SessionNotFoundError``
        when ``session_id`` names neither a session nor any stored message.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the resources (connections) the service holds."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
