"""Properties of the export document: a faithful round trip, and no change goes unnoticed.

The database properties run against a real database (see ``conftest.py`` for the backend);
the last property checks the document alone, without a database, on many more examples.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_sessions import (
    ImportIntegrityError,
    PersistentSessionService,
    Session,
    SessionMessage,
    UnsupportedSchemaVersionError,
)
from agent_sessions.domain.export_format import build_export_document, parse_export_document
from tests.properties.conftest import Database
from tests.properties.strategies import SESSIONS, SessionSpec, single_change

REFUSALS = (ImportIntegrityError, UnsupportedSchemaVersionError)


def _record(service: PersistentSessionService, spec: SessionSpec) -> Session:
    session = service.create(spec.actor_name, title=spec.title, metadata=spec.metadata)
    for message in spec.messages:
        service.append_message(
            session.id,
            message.role,
            message.content,
            metadata=message.metadata,
            token_count=message.token_count,
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
    kept["messages"] = [
        {key: value for key, value in message.items() if key != "id"}
        for message in document["messages"]
    ]
    return kept


def _session_apart_from_id(session: Session) -> Session:
    return dataclasses.replace(session, id="")


def _message_apart_from_ids(message: SessionMessage) -> SessionMessage:
    return dataclasses.replace(message, id="", session_id="")


@given(spec=SESSIONS)
def test_export_then_import_gives_back_an_equal_session(
    database: Database, spec: SessionSpec
) -> None:
    database.empty()
    service = database.service
    original = _record(service, spec)
    document = service.export_session(original.id)

    imported = service.import_session(_as_file(document))

    assert imported.id != original.id
    assert _session_apart_from_id(imported) == _session_apart_from_id(service.get(original.id))
    original_messages = service.get_messages(original.id)
    imported_messages = service.get_messages(imported.id)
    assert [_message_apart_from_ids(m) for m in imported_messages] == [
        _message_apart_from_ids(m) for m in original_messages
    ]
    assert {m.id for m in imported_messages}.isdisjoint({m.id for m in original_messages})
    assert [m.content for m in imported_messages] == [m.content for m in spec.messages]
    assert imported.metadata == spec.metadata
    assert _without_ids(service.export_session(imported.id)) == _without_ids(document)


@given(spec=SESSIONS, data=st.data())
def test_any_single_change_is_refused_and_nothing_is_written(
    database: Database, spec: SessionSpec, data: st.DataObject
) -> None:
    database.empty()
    service = database.service
    document = _as_file(service.export_session(_record(service, spec).id))
    changed = data.draw(single_change(document), label="changed document")
    before = database.row_counts()

    with pytest.raises(REFUSALS):
        service.import_session(changed)

    assert database.row_counts() == before


def _document_of(spec: SessionSpec) -> dict[str, Any]:
    """Return the export document of ``spec`` as a service would build it, without a database."""
    start = datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC)
    messages = [
        SessionMessage(
            id=f"01HX{index:022d}",
            session_id="01HX" + "S" * 22,
            sequence=index,
            role=message.role,
            content=message.content,
            metadata=message.metadata,
            token_count=message.token_count,
            created_at=start + timedelta(seconds=index),
        )
        for index, message in enumerate(spec.messages, start=1)
    ]
    session = Session(
        id="01HX" + "S" * 22,
        actor_name=spec.actor_name,
        title=spec.title,
        metadata=spec.metadata,
        prompt_tokens=spec.prompt_tokens,
        completion_tokens=spec.completion_tokens,
        message_count=len(messages),
        created_at=start,
        updated_at=start + timedelta(seconds=len(messages)),
    )
    document: dict[str, Any] = _as_file(
        build_export_document(session, messages, start + timedelta(days=1))
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

    changed = data.draw(single_change(document), label="changed document")

    with pytest.raises(REFUSALS):
        parse_export_document(changed)
