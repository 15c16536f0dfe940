"""The :class:`SessionService` port: what an agent core can do with its sessions."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, Self

from agent_sessions.domain.entities import MessageRole, Session, SessionMessage
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
    ) -> Session:
        """Create a session with a new ULID and zeroed counters, and return it."""

    @abstractmethod
    def get(self, session_id: str) -> Session:
        """Return the session, or raise ``SessionNotFoundError``."""

    @abstractmethod
    def list(
        self, *, actor_name: str | None = None, limit: int = 50, offset: int = 0
    ) -> builtins.list[Session]:
        """Return sessions newest first (``created_at``, then ``id``, descending).

        Args:
            actor_name: only this actor's sessions, when given.
            limit: page size, 1 to 1000.
            offset: how many sessions to skip, 0 or more.

        """

    @abstractmethod
    def delete(self, session_id: str) -> None:
        """Delete the session and all its messages, or raise ``SessionNotFoundError``."""

    @abstractmethod
    def append_message(
        self,
        session_id: str,
        role: MessageRole | str,
        content: str,
        *,
        metadata: dict[str, Any] | None = None,
        token_count: int | None = None,
    ) -> SessionMessage:
        """Append a message at the next sequence, atomically, and return it.

        Bumps the session's ``message_count`` and ``updated_at`` in the same transaction.
        Concurrent appends to one session, from threads or processes, get the sequences
        1, 2, 3 ... with no gap and no duplicate.
        """

    @abstractmethod
    def get_messages(
        self, session_id: str, *, limit: int | None = None, offset: int = 0
    ) -> builtins.list[SessionMessage]:
        """Return the session's messages in ascending sequence (all of them when limit is None).

        Args:
            session_id: the session.
            limit: page size, None or 1 to 100000.
            offset: how many messages to skip, 0 or more.

        """

    @abstractmethod
    def recent_messages(self, session_id: str, n: int) -> builtins.list[SessionMessage]:
        """Return the last ``n`` messages (1 to 100000) in ascending sequence."""

    @abstractmethod
    def export_session(self, session_id: str) -> dict[str, Any]:
        """Return the session and its messages as an export document with a SHA-256 checksum."""

    @abstractmethod
    def import_session(self, document: dict[str, Any]) -> Session:
        """Verify an export document, then write it all or nothing, with fresh ids.

        Raises ``UnsupportedSchemaVersionError`` for an unknown ``schema_version`` and
        ``ImportIntegrityError`` for a wrong checksum or a malformed document.
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
    def verify(self, session_id: str | None = None) -> VerificationReport:
        """Check the stored sessions' integrity and return a report of every problem found.

        Checks every session, or only ``session_id`` when it is given: sequences 1..n without
        gap or duplicate, ``message_count`` equal to the stored messages, no message whose
        session is missing, ``metadata`` that decodes to a JSON object, and token totals not
        below the sum of the messages' ``token_count``. Reads only; ``report.ok`` is true when
        nothing is wrong. Raises ``SessionNotFoundError`` when ``session_id`` names neither a
        session nor any stored message.
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
