"""``PersistentSessionService``: the :class:`SessionService` over a :class:`SessionStore`."""

from __future__ import annotations

import builtins
import functools
import io
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import IO, Any, Protocol, TypeVar

from agent_sessions.application.ids import new_ulid
from agent_sessions.domain.entities import (
    FileEvent,
    FileEventType,
    FileTouch,
    MessageRole,
    NewMessage,
    Session,
    SessionMessage,
)
from agent_sessions.domain.errors import (
    ExternalIdConflictError,
    ImportIntegrityError,
    InvalidInputError,
    SessionNotFoundError,
)
from agent_sessions.domain.export_format import (
    ExportedFileEvent,
    ExportedMessage,
    ExportedSession,
    build_export_document,
    parse_export_document,
)
from agent_sessions.domain.export_stream import (
    MAX_LINE_BYTES,
    ExportStreamReader,
    ExportStreamWriter,
)
from agent_sessions.domain.pagination import SessionPage, decode_cursor, encode_cursor
from agent_sessions.domain.ports import Clock, IdFactory, SessionStore, UnitOfWork
from agent_sessions.domain.service import SessionService
from agent_sessions.domain.validation import (
    MAX_LIST_LIMIT,
    MAX_MESSAGE_LIMIT,
    MAX_TOKEN_COUNT,
    validate_actor_name,
    validate_content,
    validate_event_type,
    validate_external_id,
    validate_file_event,
    validate_file_path,
    validate_idempotency_key,
    validate_limit,
    validate_metadata,
    validate_new_messages,
    validate_offset,
    validate_on_conflict,
    validate_role,
    validate_session_id,
    validate_title,
    validate_token_count,
    validate_token_delta,
)
from agent_sessions.domain.verification import VerificationReport

__all__ = ["PersistentSessionService", "StoreOpener", "register_store_opener"]

_T = TypeVar("_T")


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


_STREAM_BATCH = 1000
"""Messages or events per query or insert when streaming an export in or out."""


def _create_imported(uow: UnitOfWork, session: Session, policy: str) -> Session:
    """Insert an imported session, applying the ``on_conflict`` policy to its external id."""
    if session.external_id is None:
        return uow.sessions.create(session)
    holder = uow.sessions.create_or_get_by_external_id(session)
    if holder.id == session.id:
        return holder
    if policy == "error":
        raise ImportIntegrityError(
            f"session.external_id {session.external_id!r} already names session {holder.id} "
            f"of actor {session.actor_name!r}; pass on_conflict='new_external_id' to import a "
            f"copy without it"
        )
    return uow.sessions.create(replace(session, external_id=None))


def _events_after(
    session_id: str, after: datetime | None, until: datetime, uow: UnitOfWork
) -> builtins.list[tuple[FileEvent, int]]:
    return uow.file_events.page_with_sequences(
        session_id, after=after, until=until, limit=_STREAM_BATCH
    )


def _line_writer(file: IO[bytes] | IO[str]) -> Callable[[bytes], object]:
    """Return a function that writes one encoded line to a binary or text stream."""
    if isinstance(file, io.TextIOBase):
        text_file = file
        return lambda line: text_file.write(line.decode("utf-8"))
    return file.write  # type: ignore[return-value]


def _rewindable(file: IO[bytes] | IO[str]) -> IO[bytes]:
    """Return a binary stream of ``file``'s bytes that can seek back to where it starts."""
    if isinstance(file, io.TextIOBase):
        buffer = getattr(file, "buffer", None)
        if buffer is None:  # an in-memory text stream
            spooled = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
            for text in file:
                spooled.write(text.encode("utf-8"))
            spooled.seek(0)
            return spooled
        file = buffer
    binary: IO[bytes] = file  # type: ignore[assignment]
    if binary.seekable():
        return binary
    spooled = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
    shutil.copyfileobj(binary, spooled)
    spooled.seek(0)
    return spooled


_SPOOL_IN_MEMORY = 8 * 1024 * 1024
"""A stream that cannot seek is kept in memory up to this size, then in a temporary file."""


def _first_line(source: IO[bytes]) -> bytes:
    line = source.readline(MAX_LINE_BYTES + 1)
    if not line.strip():
        raise ImportIntegrityError("the stream is empty: expected the header line first")
    return line


def _page_after(
    session_id: str, after_sequence: int, size: int, uow: UnitOfWork
) -> builtins.list[SessionMessage]:
    return uow.messages.page_after(session_id, after_sequence, size)


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
        external_id: str | None = None,
    ) -> Session:
        """Create a session with a new ULID and zeroed counters, and return it.

        An ``external_id`` that already names a session of the actor raises
        ``ExternalIdConflictError``.
        """
        session = self._new_session(actor_name, title, metadata, validate_external_id(external_id))

        def write(uow: UnitOfWork) -> Session:
            if uow.attempt > 1:
                already = uow.sessions.get_by_id(session.id)
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
        wanted = self._required_external_id(external_id)
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
    ) -> Session:
        """Return the actor's session with ``external_id``, creating it when there is none.

        A read finds an existing session without taking a write lock. Otherwise the insert
        and the unique index on ``(actor_name, external_id)`` settle a race: the loser's
        insert is refused and it returns the winner's session.
        """
        wanted = self._required_external_id(external_id)
        session = self._new_session(actor_name, title, metadata, wanted)
        actor = session.actor_name
        found = self._store.transaction(
            lambda uow: uow.sessions.get_by_external_id(actor, wanted), writes=False
        )
        if found is not None:
            return found

        def write(uow: UnitOfWork) -> Session:
            if uow.attempt > 1:
                already = uow.sessions.get_by_id(session.id)
                if already is not None:
                    return already
            return uow.sessions.create_or_get_by_external_id(session)

        return self._store.transaction(write, writes=True)

    def _new_session(
        self, actor_name: str, title: str | None, metadata: object, external_id: str | None
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
        )

    @staticmethod
    def _required_external_id(external_id: object) -> str:
        checked = validate_external_id(external_id)
        if checked is None:
            raise InvalidInputError("external_id", "must be a string, got NoneType")
        return checked

    def get(self, session_id: str) -> Session:
        """Return the session, or raise ``SessionNotFoundError``."""
        wanted = validate_session_id(session_id)
        found = self._store.transaction(lambda uow: uow.sessions.get_by_id(wanted), writes=False)
        if found is None:
            raise SessionNotFoundError(wanted)
        return found

    def list(
        self,
        *,
        actor_name: str | None = None,
        limit: int = 50,
        offset: int = 0,
        after: str | None = None,
    ) -> SessionPage:
        """Return sessions newest first (``created_at``, then ``id``, descending).

        The page carries ``next_cursor`` (None once a page comes back short); passing it as
        ``after`` continues the listing by keyset, at the same cost on every page.
        """
        actor = None if actor_name is None else validate_actor_name(actor_name)
        page = validate_limit(limit, maximum=MAX_LIST_LIMIT)
        skip = validate_offset(offset)
        key = None if after is None else decode_cursor(after)
        if key is not None and skip:
            raise InvalidInputError("offset", "cannot be combined with after; use one or the other")
        sessions = self._store.transaction(
            lambda uow: uow.sessions.list_all(actor_name=actor, limit=page, offset=skip, after=key),
            writes=False,
        )
        cursor = encode_cursor(sessions[-1]) if len(sessions) == page else None
        return SessionPage(sessions, cursor)

    def delete(self, session_id: str) -> None:
        """Delete the session, its messages and file events, or raise ``SessionNotFoundError``."""
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

    def append_messages(
        self,
        session_id: str,
        messages: Sequence[NewMessage | Mapping[str, Any]],
    ) -> builtins.list[SessionMessage]:
        """Append many messages in one transaction, at consecutive sequences, and return them.

        One ``UPDATE`` reserves the sequences and one multi-row ``INSERT`` writes the batch.
        The ids are fixed before the first attempt, so a retry after a lost acknowledgement
        finds the batch it already wrote and returns it.
        """
        wanted = validate_session_id(session_id)
        batch = validate_new_messages(messages)
        message_ids = [self._new_id() for _ in batch]
        now = self._clock()

        def append(uow: UnitOfWork) -> builtins.list[SessionMessage] | None:
            if not batch:
                return [] if uow.sessions.get_by_id(wanted) is not None else None
            if uow.attempt > 1:
                first = uow.messages.get_by_id(message_ids[0])
                if first is not None:
                    return uow.messages.page_after(wanted, first.sequence - 1, len(batch))
            return uow.messages.append_many(
                wanted, message_ids=message_ids, messages=batch, created_at=now
            )

        stored = self._store.transaction(append, writes=True)
        if stored is None:
            raise SessionNotFoundError(wanted)
        return stored

    def pop_message(self, session_id: str) -> SessionMessage | None:
        """Remove the session's newest message and its file events, atomically, and return it.

        Returns None (writing nothing) when the session holds no messages. The work remembers
        the message it removed before it commits; a retry after a transient error first looks
        that message up by its id, and when it is gone (the earlier commit landed, its
        acknowledgement lost) returns it instead of removing another. If the earlier attempt
        in fact rolled back and another caller removed that very message (or the session)
        before the retry, this call returns it too, having removed nothing: the one case
        where two pops report one message.
        """
        wanted = validate_session_id(session_id)
        now = self._clock()
        removed: SessionMessage | None = None

        def pop(uow: UnitOfWork) -> SessionMessage | None:
            nonlocal removed
            if (
                uow.attempt > 1
                and removed is not None
                and uow.messages.get_by_id(removed.id) is None
            ):
                return removed  # the earlier attempt's commit landed, its acknowledgement lost
            popped = uow.messages.pop_last(wanted, updated_at=now)
            if popped is None and uow.sessions.get_by_id(wanted) is None:
                raise SessionNotFoundError(wanted)
            removed = popped
            return popped

        return self._store.transaction(pop, writes=True)

    def iter_messages(self, session_id: str, *, batch_size: int = 1000) -> Iterator[SessionMessage]:
        """Yield the session's messages in ascending sequence, ``batch_size`` at a time."""
        wanted = validate_session_id(session_id)
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
            page = self._store.transaction(
                functools.partial(_page_after, session_id, page[-1].sequence, size),
                writes=False,
            )

    def get_messages(
        self, session_id: str, *, limit: int | None = None, offset: int = 0
    ) -> builtins.list[SessionMessage]:
        """Return the session's messages in ascending sequence."""
        wanted = validate_session_id(session_id)
        page = None if limit is None else validate_limit(limit, maximum=MAX_MESSAGE_LIMIT)
        skip = validate_offset(offset)
        return self._read_for_session(
            wanted, lambda uow: uow.messages.get_for_session(wanted, limit=page, offset=skip)
        )

    def recent_messages(self, session_id: str, n: int) -> builtins.list[SessionMessage]:
        """Return the last ``n`` messages in ascending sequence."""
        wanted = validate_session_id(session_id)
        count = validate_limit(n, maximum=MAX_MESSAGE_LIMIT, argument="n")
        return self._read_for_session(
            wanted, lambda uow: uow.messages.recent_for_session(wanted, count)
        )

    def export_session(self, session_id: str) -> dict[str, Any]:
        """Return the session and its messages as an export document with a SHA-256 checksum."""
        wanted = validate_session_id(session_id)

        def read(
            uow: UnitOfWork,
        ) -> tuple[Session, builtins.list[SessionMessage], builtins.list[FileEvent]] | None:
            session = uow.sessions.get_by_id(wanted)
            if session is None:
                return None
            # The session as read first, as the JSON Lines export does: under READ COMMITTED a
            # message or event written between these reads would otherwise join the document
            # without its counter (or an event without its message).
            messages = uow.messages.get_for_session(wanted, limit=session.message_count)
            events = [
                event
                for event in uow.file_events.list_for_session(wanted)
                if event.created_at <= session.updated_at
            ]
            return session, messages, events

        found = self._store.transaction(read, writes=False)
        if found is None:
            raise SessionNotFoundError(wanted)
        session, messages, events = found
        return build_export_document(session, messages, self._clock(), events)

    def import_session(self, document: dict[str, Any], *, on_conflict: str = "error") -> Session:
        """Verify an export document, then write it all or nothing, with fresh ids.

        File events are linked to the new messages by their sequence. When the document's
        external id is taken by a session of its actor, ``on_conflict="error"`` raises
        ``ImportIntegrityError`` and ``"new_external_id"`` imports a copy without it.
        """
        policy = validate_on_conflict(on_conflict)
        exported = parse_export_document(document)
        session = self._imported_session(exported, len(exported.messages))
        messages = [self._imported_message(session.id, message) for message in exported.messages]
        events = [
            self._imported_event(session.id, event, messages[event.message_sequence - 1].id)
            for event in exported.file_events
        ]

        def write(uow: UnitOfWork) -> Session:
            if uow.attempt > 1:
                already = uow.sessions.get_by_id(session.id)
                if already is not None:
                    return already
            created = _create_imported(uow, session, policy)
            uow.messages.insert_many(messages)
            uow.file_events.insert_many(events)
            return created

        return self._store.transaction(write, writes=True)

    def export_session_to(self, session_id: str, file: IO[bytes] | IO[str]) -> Session:
        """Write the session as a JSON Lines export to ``file``, in constant memory.

        ``file`` is a binary or text stream opened for writing. The stream holds the session as
        it was when the export began: messages appended or events recorded meanwhile are left
        out. Returns that session. See ``docs/reference/export_format.md``.
        """
        wanted = validate_session_id(session_id)
        session = self.get(wanted)
        write = _line_writer(file)
        writer = ExportStreamWriter()
        write(writer.header(session, self._clock()))
        last = 0
        while last < session.message_count:
            size = min(_STREAM_BATCH, session.message_count - last)
            page = self._store.transaction(
                functools.partial(_page_after, wanted, last, size), writes=False
            )
            if not page:
                raise SessionNotFoundError(wanted)  # deleted while it was being exported
            for message in page:
                write(writer.message(message))
            last = page[-1].sequence
        after: datetime | None = None
        while True:
            events = self._store.transaction(
                functools.partial(_events_after, wanted, after, session.updated_at),
                writes=False,
            )
            for event, sequence in events:
                write(writer.file_event(event, sequence))
            if len(events) < _STREAM_BATCH:
                break
            after = events[-1][0].created_at
        write(writer.trailer())
        return session

    def import_session_from(
        self, file: IO[bytes] | IO[str], *, on_conflict: str = "error"
    ) -> Session:
        """Read a JSON Lines export from ``file`` and write it all or nothing, with fresh ids.

        Reads and writes in batches, in constant memory, in one transaction: every line is
        checked as it is read, and any problem (a malformed line, a wrong checksum in the
        trailer, a stream cut short) rolls everything back and raises
        ``ImportIntegrityError``. A stream that cannot seek (a pipe) is first copied to a
        temporary file, so that a retried transaction can read it again. ``on_conflict`` is as
        for :meth:`import_session`.
        """
        policy = validate_on_conflict(on_conflict)
        source = _rewindable(file)
        start = source.tell()
        header = ExportStreamReader().header(_first_line(source))
        session = self._imported_session(header.session, header.message_count)

        def write(uow: UnitOfWork) -> Session:
            if uow.attempt > 1:
                already = uow.sessions.get_by_id(session.id)
                if already is not None:
                    return already
            source.seek(start)
            reader = ExportStreamReader()
            reader.header(_first_line(source))
            created = _create_imported(uow, session, policy)
            messages: builtins.list[SessionMessage] = []
            events: builtins.list[ExportedFileEvent] = []
            for line in iter(functools.partial(source.readline, MAX_LINE_BYTES + 1), b""):
                record = reader.record(line)
                if record is None:
                    break
                if isinstance(record, ExportedMessage):
                    messages.append(self._imported_message(session.id, record))
                    if len(messages) == _STREAM_BATCH:
                        uow.messages.insert_many(messages)
                        messages.clear()
                    continue
                if messages:
                    uow.messages.insert_many(messages)
                    messages.clear()
                events.append(record)
                if len(events) == _STREAM_BATCH:
                    self._insert_imported_events(uow, session.id, events)
                    events.clear()
            reader.finish()
            for rest in iter(functools.partial(source.readline, MAX_LINE_BYTES + 1), b""):
                if rest.strip():
                    raise ImportIntegrityError("the stream goes on after its trailer")
            uow.messages.insert_many(messages)
            self._insert_imported_events(uow, session.id, events)
            return created

        return self._store.transaction(write, writes=True)

    def _insert_imported_events(
        self, uow: UnitOfWork, session_id: str, events: Sequence[ExportedFileEvent]
    ) -> None:
        ids = uow.messages.ids_for_sequences(
            session_id, [event.message_sequence for event in events]
        )
        uow.file_events.insert_many(
            [
                self._imported_event(session_id, event, ids[event.message_sequence])
                for event in events
            ]
        )

    def _imported_session(self, exported: ExportedSession, message_count: int) -> Session:
        return Session(
            id=self._new_id(),
            actor_name=exported.actor_name,
            title=exported.title,
            metadata=exported.metadata,
            prompt_tokens=exported.prompt_tokens,
            completion_tokens=exported.completion_tokens,
            message_count=message_count,
            created_at=exported.created_at,
            updated_at=exported.updated_at,
            external_id=exported.external_id,
        )

    def _imported_message(self, session_id: str, message: ExportedMessage) -> SessionMessage:
        return SessionMessage(
            id=self._new_id(),
            session_id=session_id,
            sequence=message.sequence,
            role=message.role,
            content=message.content,
            metadata=message.metadata,
            token_count=message.token_count,
            created_at=message.created_at,
        )

    def _imported_event(
        self, session_id: str, event: ExportedFileEvent, message_id: str
    ) -> FileEvent:
        return FileEvent(
            id=self._new_id(),
            session_id=session_id,
            message_id=message_id,
            event_type=event.event_type,
            file_path=event.file_path,
            diff=event.diff,
            command=event.command,
            created_at=event.created_at,
        )

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
        """Record what a message of the session did to a file (or the command it ran)."""
        wanted = validate_session_id(session_id)
        message = validate_session_id(message_id, "message_id")
        kind, path, checked_diff, checked_command = validate_file_event(
            event_type, file_path, diff, command
        )
        event_id = self._new_id()
        now = self._clock()

        def record(uow: UnitOfWork) -> FileEvent | None:
            if uow.attempt > 1:
                already = uow.file_events.get_by_id(event_id)
                if already is not None:
                    return already
            owner = uow.messages.get_by_id(message)
            if owner is None or owner.session_id != wanted:
                if uow.sessions.get_by_id(wanted) is None:
                    return None
                raise InvalidInputError(
                    "message_id", f"{message} is not a message of session {wanted}"
                )
            return uow.file_events.record(
                wanted,
                event_id=event_id,
                message_id=message,
                event_type=kind,
                file_path=path,
                diff=checked_diff,
                command=checked_command,
                created_at=now,
            )

        event = self._store.transaction(record, writes=True)
        if event is None:
            raise SessionNotFoundError(wanted)
        return event

    def list_file_events(
        self,
        session_id: str,
        *,
        event_type: FileEventType | str | None = None,
        file_path: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[FileEvent]:
        """Return the session's file events in the order recorded, optionally filtered."""
        wanted = validate_session_id(session_id)
        kind = None if event_type is None else validate_event_type(event_type)
        path = None if file_path is None else validate_file_path(file_path)
        page = None if limit is None else validate_limit(limit, maximum=MAX_MESSAGE_LIMIT)
        skip = validate_offset(offset)
        return self._read_for_session(
            wanted,
            lambda uow: uow.file_events.list_for_session(
                wanted, event_type=kind, file_path=path, limit=page, offset=skip
            ),
        )

    def files_touched(self, session_id: str) -> builtins.list[FileTouch]:
        """Return each path the session's events name, by path, with counts by type."""
        wanted = validate_session_id(session_id)
        return self._read_for_session(wanted, lambda uow: uow.file_events.files_touched(wanted))

    def sessions_touching(self, file_path: str, *, limit: int = 50) -> builtins.list[Session]:
        """Return the sessions with an event on ``file_path``, newest first."""
        path = validate_file_path(file_path)
        page = validate_limit(limit, maximum=MAX_LIST_LIMIT)
        return self._store.transaction(
            lambda uow: uow.sessions.list_touching(path, limit=page), writes=False
        )

    def _read_for_session(
        self,
        session_id: str,
        read: Callable[[UnitOfWork], builtins.list[_T]],
    ) -> builtins.list[_T]:
        """Run ``read``; an empty answer for a session that does not exist raises instead."""

        def read_checked(uow: UnitOfWork) -> builtins.list[_T] | None:
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
