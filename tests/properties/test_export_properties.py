"""Properties of the export document: a faithful round trip, and no change goes unnoticed.

Sessions carry messages, file events attached to them and, often, an external id; often they
are forks, rewound, compacted, popped and appended to after. The database properties run
against a real database (see ``conftest.py`` for the backend); the last property checks the
document alone, without a database, on many more examples.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import hypothesis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_sessions import (
    Compaction,
    FileEvent,
    ImportIntegrityError,
    InvalidInputError,
    PersistentSessionService,
    Rewind,
    SequenceConflictError,
    Session,
    SessionMessage,
    UnsupportedSchemaVersionError,
)
from agent_sessions.domain.export_format import build_export_document, parse_export_document
from tests.properties.conftest import Database
from tests.properties.strategies import (
    SESSIONS,
    FileEventSpec,
    HistoryStep,
    SessionSpec,
    single_change,
)

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
    """Record ``spec`` through the service (on a parent first for a fork), then its history."""
    fork = spec.fork
    session = service.create(
        spec.actor_name if fork is None else "parent",
        title=spec.title,
        metadata=spec.metadata,
        external_id=spec.external_id if fork is None else None,
        owner_id=spec.owner_id,  # a fork takes its parent's owner
    )
    message_ids: list[str] = []
    for index, event in _steps(spec):
        if fork is not None and event is None and index == fork.at:
            session = _fork(service, session, spec, fork.beyond)
            message_ids = [message.id for message in service.get_messages(session.id)]
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
    if fork is not None and session.parent_session_id is None:
        session = _fork(service, session, spec, fork.beyond)
    for step in spec.history:
        _change_history(service, session.id, step)
    return service.update_token_usage(
        session.id, prompt_tokens=spec.prompt_tokens, completion_tokens=spec.completion_tokens
    )


def _fork(
    service: PersistentSessionService, parent: Session, spec: SessionSpec, beyond: int
) -> Session:
    """Give the parent ``beyond`` messages of its own, then fork it where it was."""
    point = service.get(parent.id).message_count
    for number in range(beyond):
        service.append_message(parent.id, "assistant", f"only the parent's, {number}")
    return service.fork_session(
        parent.id, at_sequence=point, actor_name=spec.actor_name, external_id=spec.external_id
    )


def _change_history(service: PersistentSessionService, session_id: str, step: HistoryStep) -> None:
    """Apply one history step; a step the rules refuse at this point changes nothing."""
    visible = [message.sequence for message in service.get_messages(session_id)]
    try:
        if step.kind == "rewind":
            points = [0, *visible]
            service.rewind(session_id, points[step.choice % len(points)], reason=step.text)
        elif step.kind == "undo":
            service.undo_rewind(session_id)
        elif step.kind == "compact" and visible:
            point = visible[step.choice % len(visible)]
            service.compact(session_id, point, step.text, metadata={"step": step.choice})
        elif step.kind == "pop":
            service.pop_message(session_id)
        elif step.kind == "append":
            service.append_message(session_id, "user", step.text)
    except (InvalidInputError, SequenceConflictError):
        pass  # not allowed here (nothing to undo, a compaction short of the last one...)


def _as_file(document: dict[str, Any]) -> Any:
    """Return the document as it comes back from a JSON file."""
    return json.loads(json.dumps(document, ensure_ascii=False))


def _without_ids(document: dict[str, Any]) -> dict[str, Any]:
    """Return the document without its ids, each rewound_by read as the place of its rewind."""
    place = {rewind["id"]: index for index, rewind in enumerate(document["rewinds"])}

    def kept(item: dict[str, Any]) -> dict[str, Any]:
        fields = {key: value for key, value in item.items() if key != "id"}
        if fields.get("rewound_by") is not None:
            fields["rewound_by"] = place[fields["rewound_by"]]
        return fields

    without = {
        key: value for key, value in document.items() if key not in ("exported_at", "checksum")
    }
    without["session"] = kept(document["session"])
    for listed in ("messages", "file_events", "rewinds", "compactions"):
        without[listed] = [kept(item) for item in document[listed]]
    return without


Row = TypeVar("Row", SessionMessage, Compaction)


def _apart_from_ids(row: Row, place: dict[str, int]) -> Row:
    """Return a message or compaction without ids, its rewind named by its place in the list."""
    hider = None if row.rewound_by is None else f"rewind #{place[row.rewound_by]}"
    return dataclasses.replace(row, id="", session_id="", rewound_by=hider)


@dataclasses.dataclass(frozen=True)
class Stored:
    """What the service holds of one session: itself, its transcript, events and history."""

    session: Session
    messages: list[SessionMessage]
    file_events: list[FileEvent]
    rewinds: list[Rewind]
    compactions: list[Compaction]

    @classmethod
    def read(cls, service: PersistentSessionService, session_id: str) -> Stored:
        """Read the session, its transcript, file events and history through the service."""
        return cls(
            service.get(session_id),
            service.get_messages(session_id, include_rewound=True),
            service.list_file_events(session_id),
            service.list_rewinds(session_id),
            service.list_compactions(session_id),
        )

    def ids(self) -> set[str]:
        """Return every id: the session's, its messages', events', rewinds' and compactions'."""
        rows = [*self.messages, *self.file_events, *self.rewinds, *self.compactions]
        return {self.session.id, *(row.id for row in rows)}

    def apart_from_ids(self) -> tuple[Any, ...]:
        """Return the contents with ids blanked; events name their message's sequence, and
        messages and compactions the place of their rewind."""
        sequence_of = {message.id: message.sequence for message in self.messages}
        place = {rewind.id: index for index, rewind in enumerate(self.rewinds)}
        return (
            dataclasses.replace(self.session, id=""),
            [_apart_from_ids(m, place) for m in self.messages],
            [
                (
                    sequence_of[e.message_id],
                    dataclasses.replace(e, id="", session_id="", message_id=""),
                )
                for e in self.file_events
            ],
            [dataclasses.replace(r, id="", session_id="") for r in self.rewinds],
            [_apart_from_ids(c, place) for c in self.compactions],
        )


@given(spec=SESSIONS)
def test_export_then_import_gives_back_an_equal_session(
    database: Database, spec: SessionSpec
) -> None:
    database.empty()
    service = database.service
    original = Stored.read(service, _record(service, spec).id)
    hypothesis.event(f"rewinds: {min(len(original.rewinds), 2)}")
    hypothesis.event(f"compactions: {min(len(original.compactions), 2)}")
    hypothesis.event(f"hidden messages: {any(message.rewound for message in original.messages)}")
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
    if not spec.history:  # else pops may have deleted some of them
        assert [m.content for m in imported.messages] == [m.content for m in spec.messages]
        events = [(e.event_type, e.file_path, e.diff, e.command) for e in imported.file_events]
        assert events == [(e.event_type, e.file_path, e.diff, e.command) for e in spec.file_events]
    assert imported.session.external_id == spec.external_id
    assert imported.session.owner_id == spec.owner_id
    assert imported.session.parent_session_id == original.session.parent_session_id
    assert (imported.session.parent_session_id is None) == (spec.fork is None)
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
        owner_id=spec.owner_id,
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
    assert parsed.owner_id == spec.owner_id

    changed = data.draw(single_change(document), label="changed document")

    with pytest.raises(REFUSALS):
        parse_export_document(changed)
