"""Export and import over a :class:`SessionStore`: the document and the JSON Lines stream.

:class:`SessionTransfer` holds the four transfer use cases of the persistent service
(``export_session``, ``import_session``, ``export_session_to``, ``import_session_from``) and
their streaming helpers; :class:`PersistentSessionService` inherits them. The formats are the
domain's (``export_format``, ``export_stream``); this module reads and writes the store.
"""

from __future__ import annotations

import builtins
import functools
import io
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import IO, Any

from agent_sessions.application.services.store_backed_service import StoreBackedService
from agent_sessions.domain.entities import FileEvent, Session, SessionMessage
from agent_sessions.domain.errors import ImportIntegrityError, SessionNotFoundError
from agent_sessions.domain.export_format import build_export_document, parse_export_document
from agent_sessions.domain.export_records import (
    ExportedFileEvent,
    ExportedMessage,
    ExportedSession,
)
from agent_sessions.domain.export_stream import (
    MAX_LINE_BYTES,
    ExportStreamReader,
    ExportStreamWriter,
)
from agent_sessions.domain.ports import UnitOfWork
from agent_sessions.domain.validation import validate_on_conflict, validate_ulid

__all__ = ["SessionTransfer"]

_STREAM_BATCH = 1000
"""Messages or events per query or insert when streaming an export in or out."""

_SPOOL_IN_MEMORY = 8 * 1024 * 1024
"""A stream that cannot seek is kept in memory up to this size, then in a temporary file."""


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
            f"of actor {session.actor_name!r}; pass on_conflict='new_external_id' "
            f"(--on-conflict new_external_id on the command line) to import a copy without it"
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


def _first_line(source: IO[bytes]) -> bytes:
    line = source.readline(MAX_LINE_BYTES + 1)
    if not line.strip():
        raise ImportIntegrityError("the stream is empty: expected the header line first")
    return line


class SessionTransfer(StoreBackedService):
    """Export and import for a :class:`SessionService` over a :class:`SessionStore`.

    The rest of the service (``get`` among it, which export calls) comes from the class that
    puts the parts together, :class:`PersistentSessionService`.
    """

    def export_session(self, session_id: str) -> dict[str, Any]:
        """Return the session and its messages as an export document with a SHA-256 checksum."""
        wanted = validate_ulid(session_id, "session_id")

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

        session, messages, events = self._on_session(wanted, read, writes=False)
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
            already = uow.committed_earlier(lambda: uow.sessions.get_by_id(session.id))
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
        wanted = validate_ulid(session_id, "session_id")
        session = self.get(wanted)
        write = _line_writer(file)
        writer = ExportStreamWriter()
        write(writer.header(session, self._clock()))
        last = 0
        while last < session.message_count:
            page = self._messages_after(
                wanted, last, min(_STREAM_BATCH, session.message_count - last)
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
            already = uow.committed_earlier(lambda: uow.sessions.get_by_id(session.id))
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
