"""The error tree of agent-sessions, rooted in :class:`AgentSessionsError`.

Every error the library raises on purpose derives from :class:`AgentSessionsError`, and each one
also inherits the builtin that matches its meaning, so that callers may catch either.
"""

from __future__ import annotations

__all__ = [
    "AgentSessionsError",
    "DatabaseConflictError",
    "DatabaseError",
    "DatabaseTimeoutError",
    "DatabaseUnavailableError",
    "ImportIntegrityError",
    "InvalidInputError",
    "MigrationHistoryError",
    "SchemaDriftError",
    "SchemaMismatchError",
    "SequenceConflictError",
    "SessionNotFoundError",
    "UnsupportedSchemaVersionError",
]


class AgentSessionsError(Exception):
    """Raised for every failure that agent-sessions reports on purpose; the base of the tree."""


class SessionNotFoundError(AgentSessionsError, LookupError):
    """Raised when a session id names no stored session."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(f"session {session_id!r} does not exist")


class InvalidInputError(AgentSessionsError, ValueError):
    """Raised when an argument is malformed or out of range; nothing has been written."""

    def __init__(self, argument: str, reason: str) -> None:
        self.argument = argument
        self.reason = reason
        super().__init__(f"invalid {argument}: {reason}")


class ExternalIdConflictError(InvalidInputError):
    """Raised when an ``external_id`` already names another session of the same actor."""

    def __init__(self, actor_name: str, external_id: str, session_id: str) -> None:
        self.actor_name = actor_name
        self.external_id = external_id
        self.session_id = session_id
        super().__init__(
            "external_id",
            f"{external_id!r} already names session {session_id} of actor {actor_name!r}",
        )


class SequenceConflictError(AgentSessionsError, RuntimeError):
    """Raised when a session's last sequence is not the one a write expected.

    An append's ``expected_sequence`` that is no longer the session's end, or an
    ``undo_rewind`` after messages were appended past the rewind.
    """

    def __init__(
        self,
        session_id: str,
        expected: int,
        actual: int,
        *,
        outcome: str = "nothing was appended",
    ) -> None:
        self.session_id = session_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"session {session_id!r} ends at sequence {actual}, not at the expected {expected}; "
            f"{outcome}"
        )


class ImportIntegrityError(AgentSessionsError, ValueError):
    """Raised when an export document is malformed or its checksum does not match its content."""


class UnsupportedSchemaVersionError(AgentSessionsError, ValueError):
    """Raised when an export document has a format version this code cannot read."""

    def __init__(self, found: object, supported: tuple[int, ...]) -> None:
        self.found = found
        self.supported = supported
        versions = ", ".join(str(version) for version in supported)
        super().__init__(
            f"export schema_version {found!r} is not supported; this version of agent-sessions "
            f"reads schema_version {versions}"
        )


class SchemaMismatchError(AgentSessionsError, RuntimeError):
    """Raised when the database is not at the migration revision this code expects."""

    def __init__(
        self, current: str | None, expected: str, url: str, *, newer: bool = False
    ) -> None:
        self.current = current
        self.expected = expected
        self.newer = newer
        if newer:
            message = (
                f"database {url} is at schema revision {current}, which this version of "
                f"agent-sessions does not know (it needs {expected}): a newer release wrote "
                f"it; upgrade the library (pip install -U agent-sessions)"
            )
        else:
            shown = (
                current if current is not None else "none (the database has never been migrated)"
            )
            message = (
                f"database {url} is at schema revision {shown}, but this version of "
                f"agent-sessions needs revision {expected}; run `agent-sessions db upgrade` "
                f"(with --url '{url}' or AGENT_SESSIONS_URL set to it), or open it with "
                f"migrate=True"
            )
        super().__init__(message)


class SchemaDriftError(AgentSessionsError, RuntimeError):
    """Raised when the live schema lacks or breaks something the code reads or writes."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        self.problems = problems
        super().__init__(message)


class MigrationHistoryError(AgentSessionsError, RuntimeError):
    """Raised when the database's applied migrations disagree with the revisions this code ships."""

    def __init__(self, message: str, revision: str | None = None) -> None:
        self.revision = revision
        super().__init__(message)


class DatabaseError(AgentSessionsError, RuntimeError):
    """Raised when the database fails in a way that retrying did not cure; the cause is chained."""


class DatabaseUnavailableError(DatabaseError):
    """Raised when the connection failed (refused, lost or killed) on every attempt."""


class DatabaseTimeoutError(DatabaseError):
    """Raised when another transaction's lock outlasted every attempt to wait for it."""


class DatabaseConflictError(DatabaseError):
    """Raised when every attempt was aborted as a deadlock or a serialization failure."""
