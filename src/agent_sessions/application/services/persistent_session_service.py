"""``PersistentSessionService``: the :class:`SessionService` over a :class:`SessionStore`.

The session use cases (create, find, list, delete, token usage, verify) live here. The class
puts together the parts that have modules of their own: the message log
(``session_messages``), file events (``session_file_events``) and export and import, the
document and the JSON Lines stream (``session_transfer``). ``from_url`` opens its store with
the opener registered in :mod:`agent_sessions.application.store_openers`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent_sessions.application.ids import new_ulid
from agent_sessions.application.services.session_file_events import SessionFileEvents
from agent_sessions.application.services.session_history import SessionHistory
from agent_sessions.application.services.session_messages import SessionMessages
from agent_sessions.application.services.session_retention import SessionRetention
from agent_sessions.application.services.session_transfer import SessionTransfer
from agent_sessions.application.store_openers import store_opener
from agent_sessions.domain.entities import Session
from agent_sessions.domain.errors import (
    ExternalIdConflictError,
    InvalidInputError,
    SessionNotFoundError,
)
from agent_sessions.domain.pagination import SessionPage, decode_cursor, encode_cursor
from agent_sessions.domain.ports import Clock, IdFactory, SessionStore, UnitOfWork
from agent_sessions.domain.validation import (
    MAX_LIST_LIMIT,
    MAX_TOKEN_COUNT,
    validate_actor_name,
    validate_external_id,
    validate_idempotency_key,
    validate_limit,
    validate_metadata,
    validate_moment,
    validate_offset,
    validate_owner_id,
    validate_required_external_id,
    validate_title,
    validate_token_delta,
    validate_ulid,
)
from agent_sessions.domain.verification import VerificationReport

__all__ = ["PersistentSessionService"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


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


class PersistentSessionService(
    SessionMessages, SessionHistory, SessionRetention, SessionFileEvents, SessionTransfer
):
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
        id_factory: IdFactory = new_ulid,
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

        Raises:
            RuntimeError: no store opener is registered (the package root registers one).

        """
        return cls(store_opener()(url, migrate=migrate, **options))

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
        external_id: str | None = None,
        owner_id: str | None = None,
    ) -> Session:
        """Create a session with a new ULID and zeroed counters, and return it.

        An ``external_id`` that already names a session of the actor raises
        ``ExternalIdConflictError``.
        """
        session = self._new_session(
            actor_name, title, metadata, validate_external_id(external_id), owner_id
        )

        def write(uow: UnitOfWork) -> Session:
            already = uow.committed_earlier(lambda: uow.sessions.get_by_id(session.id))
            if already is not None:
                return already
            if session.external_id is None:
                return uow.sessions.create(session)
            holder = uow.sessions.create_or_get_by_external_id(session)
            if holder.id != session.id:
                raise ExternalIdConflictError(session.actor_name, session.external_id, holder.id)
            return holder

        return self._store.transaction(write, writes=True)

    def get_by_external_id(self, actor_name: str, external_id: str) -> Session | None:
        """Return the actor's session that carries ``external_id``, or None."""
        actor = validate_actor_name(actor_name)
        wanted = validate_required_external_id(external_id)
        return self._store.transaction(
            lambda uow: uow.sessions.get_by_external_id(actor, wanted), writes=False
        )

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

        A read finds an existing session without taking a write lock. Otherwise the insert
        and the unique index on ``(actor_name, external_id)`` settle a race: the loser's
        insert is refused and it returns the winner's session.
        """
        wanted = validate_required_external_id(external_id)
        session = self._new_session(actor_name, title, metadata, wanted, owner_id)
        actor = session.actor_name
        found = self._store.transaction(
            lambda uow: uow.sessions.get_by_external_id(actor, wanted), writes=False
        )
        if found is not None:
            return found

        def write(uow: UnitOfWork) -> Session:
            already = uow.committed_earlier(lambda: uow.sessions.get_by_id(session.id))
            if already is not None:
                return already
            return uow.sessions.create_or_get_by_external_id(session)

        return self._store.transaction(write, writes=True)

    def _new_session(
        self,
        actor_name: str,
        title: str | None,
        metadata: object,
        external_id: str | None,
        owner_id: object,
    ) -> Session:
        now = self._clock()
        return Session(
            id=self._new_id(),
            actor_name=validate_actor_name(actor_name),
            title=validate_title(title),
            metadata=validate_metadata(metadata),
            prompt_tokens=0,
            completion_tokens=0,
            message_count=0,
            created_at=now,
            updated_at=now,
            external_id=external_id,
            owner_id=validate_owner_id(owner_id),
        )

    def get(self, session_id: str) -> Session:
        """Return the session, or raise ``SessionNotFoundError``."""
        wanted = validate_ulid(session_id, "session_id")
        return self._on_session(wanted, lambda uow: uow.sessions.get_by_id(wanted), writes=False)

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

        The page carries ``next_cursor`` (None once a page comes back short); passing it as
        ``after`` continues the listing by keyset, at the same cost on every page.
        """
        actor = None if actor_name is None else validate_actor_name(actor_name)
        owner = validate_owner_id(owner_id)
        carrying = validate_external_id(external_id)
        ranges = {
            name: validate_moment(value, name)
            for name, value in (
                ("created_after", created_after),
                ("created_before", created_before),
                ("updated_after", updated_after),
                ("updated_before", updated_before),
            )
        }
        page = validate_limit(limit, maximum=MAX_LIST_LIMIT)
        skip = validate_offset(offset)
        key = None if after is None else decode_cursor(after)
        parent = None if forked_from is None else validate_ulid(forked_from, "forked_from")
        if key is not None and skip:
            raise InvalidInputError("offset", "cannot be combined with after; use one or the other")
        sessions = self._store.transaction(
            lambda uow: uow.sessions.list_all(
                actor_name=actor,
                limit=page,
                offset=skip,
                after=key,
                forked_from=parent,
                owner_id=owner,
                external_id=carrying,
                **ranges,
            ),
            writes=False,
        )
        cursor = encode_cursor(sessions[-1]) if len(sessions) == page else None
        return SessionPage(sessions, cursor)

    def delete(self, session_id: str) -> None:
        """Delete the session, its messages and file events, or raise ``SessionNotFoundError``."""
        wanted = validate_ulid(session_id, "session_id")

        def remove(uow: UnitOfWork) -> bool:
            if uow.sessions.delete(wanted):
                return True
            # Nothing left to delete: on a retry, the earlier try's commit may have landed unheard.
            return uow.committed_earlier(lambda: True) is not None

        if not self._store.transaction(remove, writes=True):
            raise SessionNotFoundError(wanted)

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
        wanted = validate_ulid(session_id, "session_id")
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

        return self._on_session(wanted, record, writes=True)

    def verify(self, session_id: str | None = None) -> VerificationReport:
        """Check the stored sessions' integrity (all, or one) and return the report."""
        wanted = None if session_id is None else validate_ulid(session_id, "session_id")
        report = self._store.transaction(
            lambda uow: uow.verifier.find_problems(wanted), writes=False
        )
        if report is None:
            raise SessionNotFoundError(str(wanted))
        return report
