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
from agent_sessions.domain.entities import (
    Compaction,
    FileEvent,
    Rewind,
    Session,
    SessionMessage,
)
from agent_sessions.domain.errors import ImportIntegrityError, SessionNotFoundError
from agent_sessions.domain.export_content import (
    ExportedCompaction,
    ExportedFileEvent,
    ExportedMessage,
    ExportedRewind,
    ExportedSession,
)
from agent_sessions.domain.export_format import build_export_document, parse_export_document
from agent_sessions.domain.export_stream import (
    MAX_LINE_BYTES,
    ExportStreamReader,
    ExportStreamWriter,
    StreamRecord,
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


_SessionHistory = tuple[Session, builtins.list[Rewind], builtins.list[Compaction]]
_ReadForExport = tuple[
    Session,
    builtins.list[Rewind],
    builtins.list[Compaction],
    builtins.list[SessionMessage],
    builtins.list[FileEvent],
]


def _session_history(session_id: str, uow: UnitOfWork) -> _SessionHistory | None:
    """Read the session, then its rewinds and compactions; None when it does not exist."""
    session = uow.sessions.get_by_id(session_id)
    if session is None:
        return None
    return session, uow.history.rewinds(session_id), uow.history.compactions(session_id)


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

    The rest of the service comes from the class that puts the parts together,
    :class:`PersistentSessionService`.
    """

    def export_session(self, session_id: str) -> dict[str, Any]:
        """Return the session, its transcript, file events and history as an export document."""
        wanted = validate_ulid(session_id, "session_id")

        def read(uow: UnitOfWork) -> _ReadForExport | None:
            history = _session_history(wanted, uow)
            if history is None:
                return None
            session, rewinds, compactions = history
            # The session as read first, as the JSON Lines export does: under READ COMMITTED a
            # message or event written between these reads would otherwise join the document
            # without its counter (or an event without its message). The document holds the
            # history as of that read too (HistorySnapshot).
            messages = uow.messages.get_for_session(
                wanted, limit=session.message_count, include_rewound=True
            )
            events = [
                event
                for event in uow.file_events.list_for_session(wanted)
                if event.created_at <= session.updated_at
            ]
            return session, rewinds, compactions, messages, events

        session, rewinds, compactions, messages, events = self._on_session(
            wanted, read, writes=False
        )
        return build_export_document(
            session, messages, self._clock(), events, rewinds=rewinds, compactions=compactions
        )

    def import_session(self, document: dict[str, Any], *, on_conflict: str = "error") -> Session:
        """Verify an export document, then write it all or nothing, with fresh ids.

        File events are linked to the new messages by their sequence, and rewound messages
        and compactions to the new rewinds. A fork's parent is kept as the reference it is, and
        the owner (version 3) as it is.
        When the document's external id is taken by a session of its actor,
        ``on_conflict="error"`` raises ``ImportIntegrityError`` and ``"new_external_id"``
        imports a copy without it.
        """
        policy = validate_on_conflict(on_conflict)
        exported = parse_export_document(document)
        session = self._imported_session(exported, len(exported.messages))
        rows = _ImportedRows(session.id, self._new_id)
        rewinds = [rows.rewind(rewind) for rewind in exported.rewinds]
        compactions = [rows.compaction(compaction) for compaction in exported.compactions]
        messages = [rows.message(message) for message in exported.messages]
        events = [
            rows.event(event, messages[event.message_sequence - 1].id)
            for event in exported.file_events
        ]

        def write(uow: UnitOfWork) -> Session:
            already = uow.committed_earlier(lambda: uow.sessions.get_by_id(session.id))
            if already is not None:
                return already
            created = _create_imported(uow, session, policy)
            if rewinds or compactions:
                uow.history.insert_many(rewinds, compactions)
            uow.messages.insert_many(messages)
            uow.file_events.insert_many(events)
            return created

        return self._store.transaction(write, writes=True)

    def export_session_to(self, session_id: str, file: IO[bytes] | IO[str]) -> Session:
        """Write the session as a JSON Lines export to ``file``, in constant memory.

        ``file`` is a binary or text stream opened for writing. The stream holds the session as
        it was when the export began: messages appended, events recorded, rewinds, undos and
        compactions made meanwhile are left out. Returns that session. See
        ``docs/reference/export_format.md``.
        """
        wanted = validate_ulid(session_id, "session_id")
        history = self._store.transaction(functools.partial(_session_history, wanted), writes=False)
        if history is None:
            raise SessionNotFoundError(wanted)
        session, rewinds, compactions = history
        write = _line_writer(file)
        writer = ExportStreamWriter()
        write(writer.header(session, self._clock(), rewinds, compactions))
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
            batch = _ImportBatch(uow, _ImportedRows(session.id, self._new_id))
            for line in iter(functools.partial(source.readline, MAX_LINE_BYTES + 1), b""):
                record = reader.record(line)
                if record is None:
                    break
                batch.add(record)
            reader.finish()
            for rest in iter(functools.partial(source.readline, MAX_LINE_BYTES + 1), b""):
                if rest.strip():
                    raise ImportIntegrityError("the stream goes on after its trailer")
            batch.flush()
            return created

        return self._store.transaction(write, writes=True)

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
            parent_session_id=exported.parent_session_id,
            forked_at_sequence=exported.forked_at_sequence,
            owner_id=exported.owner_id,
        )


class _ImportedRows:
    """Turns the records of an export into the rows of one imported session, with fresh ids.

    Remembers the fresh id of each rewind, so that the messages and compactions that name it
    in ``rewound_by`` name its copy.
    """

    def __init__(self, session_id: str, new_id: Callable[[], str]) -> None:
        self.session_id = session_id
        self._new_id = new_id
        self._rewind_ids: dict[str, str] = {}

    def rewind(self, rewind: ExportedRewind) -> Rewind:
        """Return the row of an exported rewind."""
        fresh = self._rewind_ids[rewind.id] = self._new_id()
        return Rewind(
            id=fresh,
            session_id=self.session_id,
            to_sequence=rewind.to_sequence,
            through_sequence=rewind.through_sequence,
            reason=rewind.reason,
            created_at=rewind.created_at,
            undone_at=rewind.undone_at,
        )

    def compaction(self, compaction: ExportedCompaction) -> Compaction:
        """Return the row of an exported compaction (its rewind read before it)."""
        return Compaction(
            id=self._new_id(),
            session_id=self.session_id,
            through_sequence=compaction.through_sequence,
            summary=compaction.summary,
            metadata=compaction.metadata,
            token_count=compaction.token_count,
            created_at=compaction.created_at,
            rewound_by=self._rewind_id(compaction.rewound_by),
        )

    def message(self, message: ExportedMessage) -> SessionMessage:
        """Return the row of an exported message (its rewind read before it)."""
        return SessionMessage(
            id=self._new_id(),
            session_id=self.session_id,
            sequence=message.sequence,
            role=message.role,
            content=message.content,
            metadata=message.metadata,
            token_count=message.token_count,
            created_at=message.created_at,
            rewound_by=self._rewind_id(message.rewound_by),
        )

    def event(self, event: ExportedFileEvent, message_id: str) -> FileEvent:
        """Return the row of an exported file event, of the imported message ``message_id``."""
        return FileEvent(
            id=self._new_id(),
            session_id=self.session_id,
            message_id=message_id,
            event_type=event.event_type,
            file_path=event.file_path,
            diff=event.diff,
            command=event.command,
            created_at=event.created_at,
        )

    def _rewind_id(self, exported_id: str | None) -> str | None:
        return None if exported_id is None else self._rewind_ids[exported_id]


class _ImportBatch:
    """The records of a stream being imported, written in batches in the stream's order.

    Rewinds come first (messages and compactions point at them), then compactions, messages
    and file events; what is queued is written when the kind changes, and every
    :data:`_STREAM_BATCH` records.
    """

    def __init__(self, uow: UnitOfWork, rows: _ImportedRows) -> None:
        self._uow = uow
        self._rows = rows
        self._pending: builtins.list[Any] = []
        self._kind: type | None = None

    def add(self, record: StreamRecord) -> None:
        """Queue the row of the next record, writing what is queued when it is time."""
        if self._kind is not type(record):
            self.flush()
            self._kind = type(record)
        rows = self._rows
        if isinstance(record, ExportedRewind):
            self._pending.append(rows.rewind(record))
        elif isinstance(record, ExportedCompaction):
            self._pending.append(rows.compaction(record))
        elif isinstance(record, ExportedMessage):
            self._pending.append(rows.message(record))
        else:
            self._pending.append(record)  # linked to its message once the batch is written
        if len(self._pending) == _STREAM_BATCH:
            self.flush()

    def flush(self) -> None:
        """Write what is queued."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        history, kind = self._uow.history, self._kind
        if kind is ExportedRewind:
            history.insert_many(pending, [])
        elif kind is ExportedCompaction:
            history.insert_many([], pending)
        elif kind is ExportedMessage:
            self._uow.messages.insert_many(pending)
        else:
            self._insert_events(pending)

    def _insert_events(self, events: Sequence[ExportedFileEvent]) -> None:
        rows = self._rows
        ids = self._uow.messages.ids_for_sequences(
            rows.session_id, [event.message_sequence for event in events]
        )
        self._uow.file_events.insert_many(
            [rows.event(event, ids[event.message_sequence]) for event in events]
        )
