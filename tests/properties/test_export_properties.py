"""Properties of the export document: a faithful round trip, and no change goes unnoticed.

Sessions carry messages, file events attached to them and, often, an external id. The database
properties run against a real database (see ``conftest.py`` for the backend); the last property
checks the document alone, without a database, on many more examples.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_sessions import (
    FileEvent,
    ImportIntegrityError,
    PersistentSessionService,
    Session,
    SessionMessage,
    UnsupportedSchemaVersionError,
)
from agent_sessions.domain.export_format import build_export_document, parse_export_document
from tests.properties.conftest import Database
from tests.properties.strategies import SESSIONS, FileEventSpec, SessionSpec, single_change

REFUSALS = (ImportIntegrityError, UnsupportedSchemaVersionError)


def _steps(spec: SessionSpec) -> Iterator[tuple[int, FileEventSpec | None]]:
    """Yield the order of recording: ``(index, None)`` for a message, ``(index, event)``.

    Each file event comes as soon as its message is there, so messages and events interleave.
    """
    appended = 0
    for event in spec.file_events:
        while appended <= event.message:
            yield appended, None
            appended += 1
        yield event.message, event
    for index in range(appended, len(spec.messages)):
        yield index, None


def _record(service: PersistentSessionService, spec: SessionSpec) -> Session:
    session = service.create(
        spec.actor_name, title=spec.title, metadata=spec.metadata, external_id=spec.external_id
    )
    message_ids: list[str] = []
    for index, event in _steps(spec):
        if event is None:
            message = spec.messages[index]
            appended = service.append_message(
                session.id,
                message.role,
                message.content,
                metadata=message.metadata,
                token_count=message.token_count,
            )
            message_ids.append(appended.id)
        else:
            service.record_file_event(
                session.id,
                message_ids[index],
                event.event_type,
                file_path=event.file_path,
                diff=event.diff,
                command=event.command,
            )
    return service.update_token_usage(
        session.id, prompt_tokens=spec.prompt_tokens, completion_tokens=spec.completion_tokens
    )


def _as_file(document: dict[str, Any]) -> Any:
    """Return the document as it comes back from a JSON file."""
    return json.loads(json.dumps(document, ensure_ascii=False))


def _without_ids(document: dict[str, Any]) -> dict[str, Any]:
    kept = {key: value for key, value in document.items() if key not in ("exported_at", "checksum")}
    kept["session"] = {key: value for key, value in document["session"].items() if key != "id"}
    for listed in ("messages", "file_events"):
        kept[listed] = [
            {key: value for key, value in item.items() if key != "id"} for item in document[listed]
        ]
    return kept


@dataclasses.dataclass(frozen=True)
class Stored:
    """What the service holds of one session: the session, its messages, its file events."""

    session: Session
    messages: list[SessionMessage]
    file_events: list[FileEvent]

    @classmethod
    def read(cls, service: PersistentSessionService, session_id: str) -> Stored:
        """Read the session, its messages and its file events through the service."""
        return cls(
            service.get(session_id),
            service.get_messages(session_id),
            service.list_file_events(session_id),
        )

    def ids(self) -> set[str]:
        """Return every id: the session's, its messages' and its events'."""
        return {self.session.id, *(m.id for m in self.messages), *(e.id for e in self.file_events)}

    def apart_from_ids(self) -> tuple[Session, list[SessionMessage], list[tuple[int, FileEvent]]]:
        """Return the contents with ids blanked; each event comes with its message's sequence."""
        sequence_of = {message.id: message.sequence for message in self.messages}
        return (
            dataclasses.replace(self.session, id=""),
            [dataclasses.replace(m, id="", session_id="") for m in self.messages],
            [
                (
                    sequence_of[e.message_id],
                    dataclasses.replace(e, id="", session_id="", message_id=""),
                )
                for e in self.file_events
            ],
        )


@given(spec=SESSIONS)
def test_export_then_import_gives_back_an_equal_session(
    database: Database, spec: SessionSpec
) -> None:
    database.empty()
    service = database.service
    original = Stored.read(service, _record(service, spec).id)
    document = service.export_session(original.session.id)
    first = Stored.read(
        service, service.import_session(_as_file(document), on_conflict="new_external_id").id
    )
    if spec.external_id is None:
        imported = first
    else:
        # The original still holds the external id: the first copy goes without it...
        session = dataclasses.replace(original.session, external_id=None)
        without = dataclasses.replace(original, session=session)
        assert first.apart_from_ids() == without.apart_from_ids()
        # ...and once the original is gone, the document imports whole, external id included.
        service.delete(original.session.id)
        imported = Stored.read(service, service.import_session(_as_file(document)).id)

    assert imported.apart_from_ids() == original.apart_from_ids()
    assert imported.ids().isdisjoint(original.ids())
    assert [m.content for m in imported.messages] == [m.content for m in spec.messages]
    assert [(e.event_type, e.file_path, e.diff, e.command) for e in imported.file_events] == [
        (e.event_type, e.file_path, e.diff, e.command) for e in spec.file_events
    ]
    assert imported.session.external_id == spec.external_id
    assert _without_ids(service.export_session(imported.session.id)) == _without_ids(document)


@given(spec=SESSIONS, data=st.data())
def test_any_single_change_is_refused_and_nothing_is_written(
    database: Database, spec: SessionSpec, data: st.DataObject
) -> None:
    database.empty()
    service = database.service
    recorded = _record(service, spec)
    document = _as_file(service.export_session(recorded.id))
    # Without the original, an import that got through would write, even with its external id.
    service.delete(recorded.id)
    changed = data.draw(single_change(document), label="changed document")
    before = database.row_counts()

    with pytest.raises(REFUSALS):
        service.import_session(changed)

    assert database.row_counts() == before


def _document_of(spec: SessionSpec) -> dict[str, Any]:
    """Return the export document of ``spec`` as a service would build it, without a database."""
    start = datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC)
    session_id = "01HX" + "S" * 22
    messages: list[SessionMessage] = []
    events: list[FileEvent] = []
    moment = start
    for step, (index, event) in enumerate(_steps(spec), start=1):
        moment = start + timedelta(seconds=step)
        if event is None:
            message = spec.messages[index]
            messages.append(
                SessionMessage(
                    id=f"01HX{index:022d}",
                    session_id=session_id,
                    sequence=index + 1,
                    role=message.role,
                    content=message.content,
                    metadata=message.metadata,
                    token_count=message.token_count,
                    created_at=moment,
                )
            )
        else:
            events.append(
                FileEvent(
                    id=f"01HY{len(events):022d}",
                    session_id=session_id,
                    message_id=messages[index].id,
                    event_type=event.event_type,
                    file_path=event.file_path,
                    diff=event.diff,
                    command=event.command,
                    created_at=moment,
                )
            )
    session = Session(
        id=session_id,
        actor_name=spec.actor_name,
        title=spec.title,
        metadata=spec.metadata,
        prompt_tokens=spec.prompt_tokens,
        completion_tokens=spec.completion_tokens,
        message_count=len(messages),
        created_at=start,
        updated_at=moment,
        external_id=spec.external_id,
    )
    document: dict[str, Any] = _as_file(
        build_export_document(session, messages, start + timedelta(days=1), events)
    )
    return document


@settings(max_examples=200)
@given(spec=SESSIONS, data=st.data())
def test_the_document_alone_reveals_any_single_change(
    spec: SessionSpec, data: st.DataObject
) -> None:
    document = _document_of(spec)
    parsed = parse_export_document(document)
    assert [message.content for message in parsed.messages] == [m.content for m in spec.messages]
    assert [
        (e.message_sequence - 1, e.event_type, e.file_path, e.diff, e.command)
        for e in parsed.file_events
    ] == [(e.message, e.event_type, e.file_path, e.diff, e.command) for e in spec.file_events]
    assert parsed.external_id == spec.external_id

    changed = data.draw(single_change(document), label="changed document")

    with pytest.raises(REFUSALS):
        parse_export_document(changed)
