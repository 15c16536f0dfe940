"""``PersistentSessionService``: the :class:`SessionService` over a :class:`SessionStore`."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from ulid import ULID

from agent_sessions.domain.entities import MessageRole, Session, SessionMessage
from agent_sessions.domain.errors import InvalidInputError, SessionNotFoundError
from agent_sessions.domain.export_format import build_export_document, parse_export_document
from agent_sessions.domain.ports import Clock, IdFactory, SessionStore, UnitOfWork
from agent_sessions.domain.service import SessionService
from agent_sessions.domain.validation import (
    MAX_LIST_LIMIT,
    MAX_MESSAGE_LIMIT,
    MAX_TOKEN_COUNT,
    validate_actor_name,
    validate_content,
    validate_idempotency_key,
    validate_limit,
    validate_metadata,
    validate_offset,
    validate_role,
    validate_session_id,
    validate_title,
    validate_token_count,
    validate_token_delta,
)
from agent_sessions.domain.verification import VerificationReport

__all__ = ["PersistentSessionService", "StoreOpener", "register_store_opener"]


class StoreOpener(Protocol):
    """Opens a :class:`SessionStore` for a database URL (supplied by the composition root)."""

    def __call__(self, url: str, *, migrate: bool, **options: Any) -> SessionStore:
        """Open the store, migrating first when ``migrate`` is true."""
        ...


_store_opener: StoreOpener | None = None


def register_store_opener(opener: StoreOpener) -> None:
    """Install the function that :meth:`PersistentSessionService.from_url` opens stores with.

    The package root registers the SQLAlchemy adapter on import, so that this layer never
    imports the infrastructure (see ``docs/adr/0002-composition-root.md``).
    """
    global _store_opener
    _store_opener = opener


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_ulid() -> str:
    return str(ULID())


def _refuse_totals_over_limit(session: Session) -> None:
    """Raise (rolling the transaction back) when a total passed the largest exact figure."""
    for argument, total in (
        ("prompt_tokens", session.prompt_tokens),
        ("completion_tokens", session.completion_tokens),
    ):
        if total > MAX_TOKEN_COUNT:
            raise InvalidInputError(
                argument,
                f"would bring session {session.id}'s {argument} to {total}, above the most "
                f"allowed {MAX_TOKEN_COUNT}; nothing was added",
            )


class PersistentSessionService(SessionService):
    """The session service backed by a SQL database through a :class:`SessionStore`.

    Open one with :meth:`from_url`; share it between threads; close it (or use ``with``) when
    done. Every write runs in one transaction whose ids and times are fixed before the first
    attempt, and a retry first looks for the rows an earlier attempt may have committed, so a
    write lost between its commit and the acknowledgement is not written twice.
    """

    def __init__(
        self,
        store: SessionStore,
        *,
        clock: Clock = _utc_now,
        id_factory: IdFactory = _new_ulid,
    ) -> None:
        """Wrap an open store; ``clock`` and ``id_factory`` may be replaced in tests."""
        self._store = store
        self._clock = clock
        self._new_id = id_factory

    @classmethod
    def from_url(
        cls, url: str, *, migrate: bool = False, **options: Any
    ) -> PersistentSessionService:
        """Open the database at ``url`` (any SQLAlchemy URL of a supported backend).

        Args:
            url: for example ``sqlite:///agent_sessions.db`` or
                ``postgresql+psycopg://user@host/db``.
            migrate: bring the database to the newest schema first. Without it a database that
                is not exactly at the head revision raises ``SchemaMismatchError`` here.
            **options: adapter options: ``retry_policy`` (a ``RetryPolicy``),
                ``sqlite_busy_timeout_ms``, or ``sqlalchemy.create_engine`` options such as
                ``pool_size``.

        """
        assert _store_opener is not None, "importing agent_sessions registers the opener"
        return cls(_store_opener(url, migrate=migrate, **options))

    def close(self) -> None:
        """Dispose of the store's connections."""
        self._store.close()

    def __repr__(self) -> str:
        # The store's repr shows its URL with the password hidden.
        return f"{type(self).__name__}({self._store!r})"

    def create(
        self,
        actor_name: str,
        *,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Session:
        """Create a session with a new ULID and zeroed counters, and return it."""
        now = self._clock()
        session = Session(
            id=self._new_id(),
            actor_name=validate_actor_name(actor_name),
            title=validate_title(title),
            metadata=validate_metadata(metadata),
            prompt_tokens=0,
            completion_tokens=0,
            message_count=0,
            created_at=now,
            updated_at=now,
        )

        def write(uow: UnitOfWork) -> Session:
            if uow.attempt > 1:
                already = uow.sessions.get_by_id(session.id)
                if already is not None:
                    return already
            return uow.sessions.create(session)

        return self._store.transaction(write, writes=True)

    def get(self, session_id: str) -> Session:
        """Return the session, or raise ``SessionNotFoundError``."""
        wanted = validate_session_id(session_id)
        found = self._store.transaction(lambda uow: uow.sessions.get_by_id(wanted), writes=False)
        if found is None:
            raise SessionNotFoundError(wanted)
        return found

    def list(
        self, *, actor_name: str | None = None, limit: int = 50, offset: int = 0
    ) -> builtins.list[Session]:
        """Return sessions newest first (``created_at``, then ``id``, descending)."""
        actor = None if actor_name is None else validate_actor_name(actor_name)
        page = validate_limit(limit, maximum=MAX_LIST_LIMIT)
        skip = validate_offset(offset)
        return self._store.transaction(
            lambda uow: uow.sessions.list_all(actor_name=actor, limit=page, offset=skip),
            writes=False,
        )

    def delete(self, session_id: str) -> None:
        """Delete the session and all its messages, or raise ``SessionNotFoundError``."""
        wanted = validate_session_id(session_id)

        def remove(uow: UnitOfWork) -> bool:
            # A retry that finds nothing left may follow a try whose commit landed unheard.
            return uow.sessions.delete(wanted) or uow.attempt > 1

        if not self._store.transaction(remove, writes=True):
            raise SessionNotFoundError(wanted)

    def append_message(
        self,
        session_id: str,
        role: MessageRole | str,
        content: str,
        *,
        metadata: dict[str, Any] | None = None,
        token_count: int | None = None,
    ) -> SessionMessage:
        """Append a message at the next sequence, atomically, and return it."""
        wanted = validate_session_id(session_id)
        checked_role = validate_role(role)
        checked_content = validate_content(content)
        checked_metadata = validate_metadata(metadata)
        checked_tokens = validate_token_count(token_count)
        message_id = self._new_id()
        now = self._clock()

        def append(uow: UnitOfWork) -> SessionMessage | None:
            if uow.attempt > 1:
                already = uow.messages.get_by_id(message_id)
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
            )

        message = self._store.transaction(append, writes=True)
        if message is None:
            raise SessionNotFoundError(wanted)
        return message

    def get_messages(
        self, session_id: str, *, limit: int | None = None, offset: int = 0
    ) -> builtins.list[SessionMessage]:
        """Return the session's messages in ascending sequence."""
        wanted = validate_session_id(session_id)
        page = None if limit is None else validate_limit(limit, maximum=MAX_MESSAGE_LIMIT)
        skip = validate_offset(offset)
        return self._read_messages(
            wanted, lambda uow: uow.messages.get_for_session(wanted, limit=page, offset=skip)
        )

    def recent_messages(self, session_id: str, n: int) -> builtins.list[SessionMessage]:
        """Return the last ``n`` messages in ascending sequence."""
        wanted = validate_session_id(session_id)
        count = validate_limit(n, maximum=MAX_MESSAGE_LIMIT, argument="n")
        return self._read_messages(
            wanted, lambda uow: uow.messages.recent_for_session(wanted, count)
        )

    def export_session(self, session_id: str) -> dict[str, Any]:
        """Return the session and its messages as an export document with a SHA-256 checksum."""
        wanted = validate_session_id(session_id)

        def read(uow: UnitOfWork) -> tuple[Session, builtins.list[SessionMessage]] | None:
            session = uow.sessions.get_by_id(wanted)
            if session is None:
                return None
            return session, uow.messages.get_for_session(wanted)

        found = self._store.transaction(read, writes=False)
        if found is None:
            raise SessionNotFoundError(wanted)
        session, messages = found
        return build_export_document(session, messages, self._clock())

    def import_session(self, document: dict[str, Any]) -> Session:
        """Verify an export document, then write it all or nothing, with fresh ids."""
        exported = parse_export_document(document)
        session = Session(
            id=self._new_id(),
            actor_name=exported.actor_name,
            title=exported.title,
            metadata=exported.metadata,
            prompt_tokens=exported.prompt_tokens,
            completion_tokens=exported.completion_tokens,
            message_count=len(exported.messages),
            created_at=exported.created_at,
            updated_at=exported.updated_at,
        )
        messages = [
            SessionMessage(
                id=self._new_id(),
                session_id=session.id,
                sequence=message.sequence,
                role=message.role,
                content=message.content,
                metadata=message.metadata,
                token_count=message.token_count,
                created_at=message.created_at,
            )
            for message in exported.messages
        ]

        def write(uow: UnitOfWork) -> Session:
            if uow.attempt > 1:
                already = uow.sessions.get_by_id(session.id)
                if already is not None:
                    return already
            created = uow.sessions.create(session)
            uow.messages.insert_many(messages)
            return created

        return self._store.transaction(write, writes=True)

    def update_token_usage(
        self,
        session_id: str,
        *,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        idempotency_key: str | None = None,
    ) -> Session:
        """Add (never replace) token usage atomically and return the updated session.

        The call is recorded under ``idempotency_key`` (for example the id of the message whose
        usage it is): a later call with the same key and the same amounts adds nothing and
        returns the session as it is, so a caller may repeat the call safely. The same key with
        other amounts is an ``InvalidInputError``. Without a key the call gets a fresh one, which
        still makes the library's own retries exactly-once.
        """
        wanted = validate_session_id(session_id)
        prompt = validate_token_delta(prompt_tokens, "prompt_tokens")
        completion = validate_token_delta(completion_tokens, "completion_tokens")
        key = (
            self._new_id() if idempotency_key is None else validate_idempotency_key(idempotency_key)
        )
        now = self._clock()

        def record(uow: UnitOfWork) -> Session | None:
            recorded = uow.sessions.recorded_token_usage(wanted, key)
            if recorded is None:
                added = uow.sessions.update(
                    wanted,
                    add_prompt_tokens=prompt,
                    add_completion_tokens=completion,
                    updated_at=now,
                    usage_key=key,
                )
                if added is not None:
                    _refuse_totals_over_limit(added)
                return added
            if recorded != (prompt, completion):
                raise InvalidInputError(
                    "idempotency_key",
                    f"{key!r} already recorded prompt_tokens={recorded[0]}, "
                    f"completion_tokens={recorded[1]} for session {wanted}; a repeated call "
                    f"must carry the same amounts",
                )
            return uow.sessions.get_by_id(wanted)

        updated = self._store.transaction(record, writes=True)
        if updated is None:
            raise SessionNotFoundError(wanted)
        return updated

    def _read_messages(
        self,
        session_id: str,
        read: Callable[[UnitOfWork], builtins.list[SessionMessage]],
    ) -> builtins.list[SessionMessage]:
        def read_checked(uow: UnitOfWork) -> builtins.list[SessionMessage] | None:
            messages = read(uow)
            if not messages and uow.sessions.get_by_id(session_id) is None:
                return None
            return messages

        found = self._store.transaction(read_checked, writes=False)
        if found is None:
            raise SessionNotFoundError(session_id)
        return found

    def verify(self, session_id: str | None = None) -> VerificationReport:
        """Check the stored sessions' integrity (all, or one) and return the report."""
        wanted = None if session_id is None else validate_session_id(session_id)
        report = self._store.transaction(
            lambda uow: uow.verifier.find_problems(wanted), writes=False
        )
        if report is None:
            raise SessionNotFoundError(str(wanted))
        return report
