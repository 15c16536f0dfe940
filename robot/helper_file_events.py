"""Robot Framework keyword library of the file-events suite, and its worker process.

The library opens a throwaway database of the run's backend, writes and reads it through the
public API, and counts ``session_file_events`` rows with plain SQL where a user would look at
the table. Run as a script (``python helper_file_events.py get-or-create ...``) the module is
one of the racing processes: it opens its own service, says ``ready``, waits for ``go`` on
standard input, calls ``get_or_create`` for each external id and prints what it got as JSON.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from agent_sessions import (
    FileEventType,
    ImportIntegrityError,
    PersistentSessionService,
    Session,
)
from agent_sessions.infrastructure.database import create_database_engine
from testsupport.racing_workers import run_racing_workers, wait_for_go
from testsupport.robot_databases import open_migrated_service, provision

__all__ = ["FileEventsLibrary"]

ROLES = ("user", "assistant")
MESSAGE_FIELDS = ("sequence", "role", "content", "metadata", "token_count", "created_at")
TABLES = ("sessions", "session_messages", "session_file_events")


def _canonical_checksum(document: dict[str, Any]) -> str:
    """Return the documented checksum: SHA-256 of the canonical JSON of all but ``checksum``."""
    body = {key: value for key, value in document.items() if key != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _without_ids(document: dict[str, Any]) -> dict[str, Any]:
    """Return the document less what an import renews: ids, export time and checksum."""
    kept = {key: value for key, value in document.items() if key not in ("exported_at", "checksum")}
    kept["session"] = {key: value for key, value in document["session"].items() if key != "id"}
    for listed in ("messages", "file_events"):
        if listed in document:
            kept[listed] = [
                {key: value for key, value in item.items() if key != "id"}
                for item in document[listed]
            ]
    return kept


class FileEventsLibrary:
    """Keywords over file events, external ids and exports (version 1 in, 3 out) on one backend."""

    ROBOT_LIBRARY_SCOPE = "SUITE"

    def __init__(self, backend: str = "postgresql") -> None:
        self._backend = backend
        self._stack = contextlib.ExitStack()
        self._url: str | None = None
        self._service: PersistentSessionService | None = None
        self._engine: Engine | None = None

    # -- store life cycle ----------------------------------------------------------------

    def open_file_events_store(self) -> str:
        """Provision a fresh database of the backend, migrate it and open a service on it."""
        self._url = provision(self._stack, self._backend)
        self._service = open_migrated_service(self._stack, self._url)
        self._engine = create_database_engine(self._url)
        self._stack.callback(self._engine.dispose)
        return self._url

    def close_file_events_store(self) -> None:
        """Close the service and drop the database."""
        self._stack.close()

    @property
    def _store(self) -> PersistentSessionService:
        if self._service is None:
            raise AssertionError("run 'Open File Events Store' first")
        return self._service

    # -- documents -----------------------------------------------------------------------

    def version_1_document(self, actor_name: str, *contents: str) -> dict[str, Any]:
        """Return an export document of schema version 1 (as stored before version 2 existed).

        Its messages alternate user and assistant, one second apart; it has neither
        ``session.external_id`` nor ``file_events``, and its checksum is computed here from
        the documented rule.
        """
        start = datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
        messages = [
            {
                "id": f"01HQ000000000000000000{index:04d}",
                "sequence": index,
                "role": ROLES[(index - 1) % 2],
                "content": content,
                "metadata": {"turn": index, "tags": ["v1", "stored"]},
                "token_count": 10 * index,
                "created_at": _stamp(start + timedelta(seconds=index)),
            }
            for index, content in enumerate(contents, start=1)
        ]
        document: dict[str, Any] = {
            "format": "agent-sessions/export",
            "schema_version": 1,
            "exported_at": _stamp(start + timedelta(days=30)),
            "session": {
                "id": "01HQ0000000000000000000000",
                "actor_name": actor_name,
                "title": "A conversation exported by version 1",
                "metadata": {"source": "v1", "naïve": "ünïcode ✓"},
                "prompt_tokens": 321,
                "completion_tokens": 123,
                "message_count": len(messages),
                "created_at": _stamp(start),
                "updated_at": _stamp(start + timedelta(seconds=len(messages))),
            },
            "messages": messages,
        }
        document["checksum"] = _canonical_checksum(document)
        return document

    def import_session(self, document: dict[str, Any], on_conflict: str = "error") -> str:
        """Import the document and return the new session's id."""
        return self._store.import_session(document, on_conflict=on_conflict).id

    def import_should_be_refused(self, document: dict[str, Any]) -> str:
        """Import must raise ImportIntegrityError and write nothing; return its message."""
        before = self._count_rows()
        try:
            self._store.import_session(document)
        except ImportIntegrityError as error:
            if self._count_rows() != before:
                raise AssertionError("the refused import wrote rows") from error
            return str(error)
        raise AssertionError("the import was not refused")

    def export_session(self, session_id: str) -> dict[str, Any]:
        """Return the session's export document."""
        return self._store.export_session(session_id)

    def session_should_hold_the_document(self, session_id: str, document: dict[str, Any]) -> None:
        """The stored session and its messages carry the document's values, in order."""
        session = self._store.get(session_id)
        expected = document["session"]
        found = {
            "actor_name": session.actor_name,
            "title": session.title,
            "metadata": session.metadata,
            "prompt_tokens": session.prompt_tokens,
            "completion_tokens": session.completion_tokens,
            "message_count": session.message_count,
            "created_at": _stamp(session.created_at),
            "updated_at": _stamp(session.updated_at),
        }
        wanted = {key: expected[key] for key in found}
        if found != wanted:
            raise AssertionError(f"the session holds {found}, the document {wanted}")
        messages = [
            (
                message.sequence,
                message.role.value,
                message.content,
                message.metadata,
                message.token_count,
                _stamp(message.created_at),
            )
            for message in self._store.get_messages(session_id)
        ]
        wanted_messages = [
            tuple(message[key] for key in MESSAGE_FIELDS) for message in document["messages"]
        ]
        if messages != wanted_messages:
            raise AssertionError(f"the messages are {messages}, the document's {wanted_messages}")

    def export_should_be_the_document_in_version_3(
        self, export: dict[str, Any], document: dict[str, Any]
    ) -> None:
        """The export is the version 1 document in version 3: same content, no events, no id,
        no parent, no owner and no history."""
        old = _without_ids(document)
        upgraded = {
            **old,
            "schema_version": 3,
            "file_events": [],
            "rewinds": [],
            "compactions": [],
            "session": {
                **old["session"],
                "external_id": None,
                "parent_session_id": None,
                "forked_at_sequence": None,
                "owner_id": None,
            },
            "messages": [{**message, "rewound_by": None} for message in old["messages"]],
        }
        if _without_ids(export) != upgraded:
            raise AssertionError(f"the export is {_without_ids(export)}, expected {upgraded}")

    def exports_should_be_equal_apart_from_ids(
        self, session_id: str, document: dict[str, Any], *ignored_session_fields: str
    ) -> None:
        """The session's export equals ``document`` but for ids (and the fields named)."""

        def comparable(exported: dict[str, Any]) -> dict[str, Any]:
            kept = _without_ids(exported)
            for field in ignored_session_fields:
                kept["session"].pop(field)
            return kept

        found = comparable(self._store.export_session(session_id))
        wanted = comparable(document)
        if found != wanted:
            raise AssertionError(f"the export of {session_id} is {found}, expected {wanted}")

    # -- sessions and file events ----------------------------------------------------------

    def get_or_create_session(self, actor_name: str, external_id: str) -> str:
        """Return the id of the actor's session with ``external_id``, created if need be."""
        return self._store.get_or_create(actor_name, external_id).id

    def session_with_messages(self, actor_name: str, *contents: str) -> str:
        """Create a session holding one message per content; return its id."""
        session_id = self._store.create(actor_name).id
        self.append_messages(session_id, *contents)
        return session_id

    def append_messages(self, session_id: str, *contents: str) -> None:
        """Append the contents as messages alternating user and assistant."""
        for index, content in enumerate(contents):
            self._store.append_message(session_id, ROLES[index % 2], content)

    def record_file_events_of_every_type(self, session_id: str, count: int = 6) -> int:
        """Record ``count`` events cycling through every type over the session's messages.

        Paths include non-ASCII characters; edits and writes carry a diff. Returns ``count``.
        """
        messages = self._store.get_messages(session_id)
        kinds = list(FileEventType)
        for number in range(int(count)):
            kind = kinds[number % len(kinds)]
            message = messages[number % len(messages)]
            if kind is FileEventType.COMMAND:
                self._store.record_file_event(
                    session_id, message.id, kind, command=f"pytest -k 'test_{number}'"
                )
            else:
                self._store.record_file_event(
                    session_id,
                    message.id,
                    kind,
                    file_path=f"src/pkg/módulo_{number % 3}.py",
                    diff=(
                        f"@@ -1 +1 @@\n-old {number}\n+new {number} ✓\n"
                        if kind in (FileEventType.EDIT, FileEventType.WRITE)
                        else None
                    ),
                )
        return int(count)

    def delete_session(self, session_id: str) -> None:
        """Delete the session."""
        self._store.delete(session_id)

    def session_external_id_should_be(self, session_id: str, expected: str | None) -> None:
        """The session's external id is ``expected`` (``${None}`` for none)."""
        found = self._store.get(session_id).external_id
        if found != expected:
            raise AssertionError(
                f"session {session_id} has external_id {found!r}, not {expected!r}"
            )

    def external_id_should_name(self, actor_name: str, external_id: str, session_id: str) -> None:
        """``get_by_external_id`` finds ``session_id`` for the actor's external id."""
        found = self._store.get_by_external_id(actor_name, external_id)
        if found is None or found.id != session_id:
            raise AssertionError(f"{external_id!r} names {found}, not session {session_id}")

    def count_file_event_rows(self, session_id: str | None = None) -> int:
        """Return the rows of ``session_file_events`` (of one session, or all)."""
        assert self._engine is not None
        query = "SELECT COUNT(*) FROM session_file_events"
        with self._engine.connect() as connection:
            if session_id is None:
                return int(connection.execute(text(query)).scalar_one())
            return int(
                connection.execute(
                    text(query + " WHERE session_id = :session_id"), {"session_id": session_id}
                ).scalar_one()
            )

    def _count_rows(self) -> dict[str, int]:
        assert self._engine is not None
        with self._engine.connect() as connection:
            return {
                table: int(connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
                for table in TABLES
            }

    # -- racing processes ------------------------------------------------------------------

    def run_get_or_create_processes(
        self, actor_name: str, processes: int, external_ids: int, rounds: int
    ) -> list[dict[str, list[str]]]:
        """Start ``processes`` OS processes that race ``get_or_create`` over the same ids.

        Each process opens its own service and reports ``ready``; once all are, every one is
        told ``go`` at once, then calls ``get_or_create(actor_name, "ext-N")`` for N in
        0..external_ids-1, in the same order, ``rounds`` times. Returns, per process, the
        session ids it got for each external id.
        """
        assert self._url is not None
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "get-or-create",
            self._url,
            actor_name,
            str(int(external_ids)),
            str(int(rounds)),
        ]
        lines = run_racing_workers([command] * int(processes))
        return [json.loads(line) for line in lines]

    def every_process_should_have_seen_one_session_per_external_id(
        self, results: list[dict[str, list[str]]], external_ids: int
    ) -> dict[str, str]:
        """Each process got one session id per external id, every round, the same as the others.

        Returns the external id to session id mapping they agree on.
        """
        agreed: dict[str, str] = {}
        for number, seen in enumerate(results):
            if len(seen) != int(external_ids):
                raise AssertionError(f"process {number} saw {len(seen)} external ids")
            for external_id, session_ids in seen.items():
                if len(set(session_ids)) != 1:
                    raise AssertionError(
                        f"process {number} got sessions {sorted(set(session_ids))} for "
                        f"{external_id!r} in different rounds"
                    )
                first = agreed.setdefault(external_id, session_ids[0])
                if first != session_ids[0]:
                    raise AssertionError(
                        f"{external_id!r} gave session {first} to one process and "
                        f"{session_ids[0]} to process {number}"
                    )
        return agreed

    def each_external_id_should_have_exactly_one_session(
        self, actor_name: str, agreed: dict[str, str]
    ) -> None:
        """The actor has exactly one stored session per external id: the one the processes got."""
        stored: list[Session] = self._store.list(actor_name=actor_name, limit=1000)
        per_external_id = Counter(session.external_id for session in stored)
        repeated = {key: count for key, count in per_external_id.items() if count != 1}
        if repeated:
            raise AssertionError(f"external ids with several sessions: {repeated}")
        found = {str(session.external_id): session.id for session in stored}
        if found != agreed:
            raise AssertionError(f"the stored sessions are {found}, the processes got {agreed}")

    def stored_sessions_should_verify(self) -> None:
        """``verify()`` over the whole store finds no problem."""
        report = self._store.verify()
        if not report.ok:
            raise AssertionError(f"verify() found problems: {report.to_dict()['problems']}")


def _race_get_or_create(url: str, actor_name: str, external_ids: int, rounds: int) -> int:
    """The worker: wait for ``go`` on standard input, then call get_or_create over the ids."""
    seen: dict[str, list[str]] = {}
    with PersistentSessionService.from_url(url) as service:
        service.list(limit=1)  # connect before the start, so that all start warm
        if not wait_for_go():
            return 1
        for _ in range(rounds):
            for number in range(external_ids):
                external_id = f"ext-{number:03d}"
                session = service.get_or_create(actor_name, external_id)
                seen.setdefault(external_id, []).append(session.id)
    print(json.dumps(seen), flush=True)
    return 0


helper_file_events = FileEventsLibrary

if __name__ == "__main__":
    _, kind, url, actor, count, repeat = sys.argv
    if kind != "get-or-create":
        raise SystemExit(f"unknown worker kind {kind!r}")
    sys.exit(_race_get_or_create(url, actor, int(count), int(repeat)))
