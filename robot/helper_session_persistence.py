"""Robot Framework keyword library: a thin layer over the public agent-sessions API.

One instance (GLOBAL scope) is shared by every suite of the run: ``__init__.robot`` opens the
store on a fresh database of the run's backend (``${BACKEND}``: sqlite, postgresql or
mariadb) in its suite set-up and drops it in its teardown.
Keywords return values, or raise ``AssertionError`` with a message that says what differed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

from agent_sessions import (
    PersistentSessionService,
    SchemaMismatchError,
    Session,
    SessionMessage,
    SessionNotFoundError,
)
from testsupport.robot_databases import open_migrated_service, provision

__all__ = ["SessionPersistenceLibrary"]


class SessionPersistenceLibrary:
    """Keywords over ``PersistentSessionService`` on a throwaway database of one backend."""

    ROBOT_LIBRARY_SCOPE = "GLOBAL"

    def __init__(self, backend: str = "postgresql") -> None:
        self._backend = backend
        self._databases = contextlib.ExitStack()
        self._url: str | None = None
        self._service: PersistentSessionService | None = None

    # -- store life cycle ----------------------------------------------------------------

    def open_session_store(self) -> str:
        """Provision a fresh database, migrate it, open the service; return the URL."""
        self._url = provision(self._databases, self._backend)
        self._service = open_migrated_service(self._databases, self._url)
        return self._url

    def close_session_store(self) -> None:
        """Close the service and drop its database."""
        try:
            self._databases.close()
        finally:
            self._service = None
            self._url = None

    def reopen_session_store(self) -> None:
        """Close the service and open a new one on the same database, without migrating."""
        url = self._require_url()
        self.service.close()
        self._service = PersistentSessionService.from_url(url)
        self._databases.callback(self._service.close)

    def open_unmigrated_database_should_fail(self) -> str:
        """Open an empty database without ``migrate``; return the SchemaMismatchError message."""
        with contextlib.ExitStack() as stack:
            url = provision(stack, self._backend)
            try:
                service = PersistentSessionService.from_url(url)
            except SchemaMismatchError as error:
                return str(error)
            service.close()
        raise AssertionError("opening an un-migrated database did not raise SchemaMismatchError")

    # -- sessions --------------------------------------------------------------------------

    def create_session(self, actor_name: str, title: str | None = None) -> str:
        """Create a session and return its id."""
        return self.service.create(actor_name, title=title).id

    def get_session(self, session_id: str) -> Session:
        """Return the stored session."""
        return self.service.get(session_id)

    def delete_session(self, session_id: str) -> None:
        """Delete the session (and, by contract, its messages)."""
        self.service.delete(session_id)

    def session_should_not_exist(self, session_id: str) -> None:
        """Fail unless both the session and its messages are reported as absent."""
        for name, read in (
            ("get", self.service.get),
            ("get_messages", self.service.get_messages),
        ):
            try:
                read(session_id)
            except SessionNotFoundError:
                continue
            raise AssertionError(f"{name}({session_id!r}) still finds the session")

    # -- messages --------------------------------------------------------------------------

    def append_message(
        self, session_id: str, role: str, content: str, token_count: int | None = None
    ) -> SessionMessage:
        """Append a message and return it."""
        return self.service.append_message(session_id, role, content, token_count=token_count)

    def get_messages(self, session_id: str) -> list[SessionMessage]:
        """Return the session's messages in ascending sequence."""
        return self.service.get_messages(session_id)

    def message_contents_should_be(self, session_id: str, *expected: str) -> None:
        """Fail unless the session's messages hold exactly ``expected``, in that order."""
        actual = [message.content for message in self.service.get_messages(session_id)]
        if actual != list(expected):
            raise AssertionError(f"message contents are {actual}, expected {list(expected)}")

    # -- export / import -------------------------------------------------------------------

    def export_session(self, session_id: str) -> dict[str, Any]:
        """Return the session's export document."""
        document = self.service.export_session(session_id)
        json.dumps(document)  # the contract: JSON-serialisable
        return document

    def export_checksum_should_be_valid(self, document: dict[str, Any]) -> None:
        """Recompute ``sha256:`` over the canonical JSON of every other field and compare."""
        body = {key: value for key, value in document.items() if key != "checksum"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        computed = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        if document.get("checksum") != computed:
            raise AssertionError(f"checksum is {document.get('checksum')}, computed {computed}")

    def import_session(self, document: dict[str, Any]) -> str:
        """Import an export document and return the new session id."""
        return self.service.import_session(document).id

    def imported_session_should_match_export(
        self, session_id: str, document: dict[str, Any]
    ) -> None:
        """Fail unless the stored session has fresh ids but the exported content."""
        imported = self.service.export_session(session_id)
        original_ids = {document["session"]["id"], *(m["id"] for m in document["messages"])}
        new_ids = {imported["session"]["id"], *(m["id"] for m in imported["messages"])}
        if original_ids & new_ids:
            raise AssertionError(f"the import reused ids {sorted(original_ids & new_ids)}")
        for part in ("session", "messages"):
            expected, actual = _without_ids(document[part]), _without_ids(imported[part])
            if expected != actual:
                raise AssertionError(f"imported {part} differ:\n{actual}\n!=\n{expected}")

    # -- token usage -----------------------------------------------------------------------

    def add_token_usage(
        self, session_id: str, prompt_tokens: int = 0, completion_tokens: int = 0
    ) -> Session:
        """Add token usage and return the updated session."""
        return self.service.update_token_usage(
            session_id, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )

    # -- internals -------------------------------------------------------------------------

    @property
    def service(self) -> PersistentSessionService:
        if self._service is None:
            raise AssertionError("the session store is not open; run 'Open Session Store' first")
        return self._service

    def _require_url(self) -> str:
        if self._url is None:
            raise AssertionError("the session store is not open; run 'Open Session Store' first")
        return self._url


def _without_ids(value: Any) -> Any:
    if isinstance(value, list):
        return [_without_ids(item) for item in value]
    return {key: item for key, item in value.items() if key != "id"}


# Robot imports a library given by path through the class named like its module.
helper_session_persistence = SessionPersistenceLibrary
