"""File events over a :class:`SessionStore`: what a session's messages did to which files.

:class:`SessionFileEvents` is the part of :class:`PersistentSessionService` that records a
file event (or a command) of a message and finds events by session, by type and by path.
"""

from __future__ import annotations

import builtins

from agent_sessions.application.services.store_backed_service import StoreBackedService
from agent_sessions.domain.entities import FileEvent, FileEventType, FileTouch, Session
from agent_sessions.domain.errors import InvalidInputError
from agent_sessions.domain.ports import UnitOfWork
from agent_sessions.domain.validation import (
    MAX_LIST_LIMIT,
    MAX_MESSAGE_LIMIT,
    validate_event_type,
    validate_file_event,
    validate_file_path,
    validate_limit,
    validate_offset,
    validate_ulid,
)

__all__ = ["SessionFileEvents"]


class SessionFileEvents(StoreBackedService):
    """Record a message's file events and find them by session, type and path."""

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
        wanted = validate_ulid(session_id, "session_id")
        message = validate_ulid(message_id, "message_id")
        kind, path, checked_diff, checked_command = validate_file_event(
            event_type, file_path, diff, command
        )
        event_id = self._new_id()
        now = self._clock()

        def record(uow: UnitOfWork) -> FileEvent | None:
            already = uow.committed_earlier(lambda: uow.file_events.get_by_id(event_id))
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

        return self._on_session(wanted, record, writes=True)

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
        wanted = validate_ulid(session_id, "session_id")
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
        wanted = validate_ulid(session_id, "session_id")
        return self._read_for_session(wanted, lambda uow: uow.file_events.files_touched(wanted))

    def sessions_touching(self, file_path: str, *, limit: int = 50) -> builtins.list[Session]:
        """Return the sessions with an event on ``file_path``, newest first."""
        path = validate_file_path(file_path)
        page = validate_limit(limit, maximum=MAX_LIST_LIMIT)
        return self._store.transaction(
            lambda uow: uow.sessions.list_touching(path, limit=page), writes=False
        )
