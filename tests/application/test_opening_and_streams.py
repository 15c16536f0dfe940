"""How the services are opened, and the kinds of stream a JSON Lines import reads.

``from_url`` hands its URL and options to the store opener the package root registered; a
test registers its own and puts the real one back. An import reads a binary or a text stream,
seekable or not (a pipe), and a retried import reads the stream again from its start.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from agent_sessions import (
    AsyncPersistentSessionService,
    ImportIntegrityError,
    PersistentSessionService,
    UnsupportedSchemaVersionError,
    register_async_store_opener,
    register_store_opener,
)
from agent_sessions.application import store_openers
from agent_sessions.infrastructure.memory import DirectRunner, InMemorySessionStore

ACTOR = "stream-bot"


@pytest.fixture
def opened() -> Iterator[list[tuple[str, bool, dict[str, Any]]]]:
    """Register openers of in-memory stores that note their calls; restore the real ones."""
    calls: list[tuple[str, bool, dict[str, Any]]] = []

    def opener(url: str, *, migrate: bool, **options: Any) -> InMemorySessionStore:
        calls.append((url, migrate, options))
        return InMemorySessionStore()

    async def async_opener(
        url: str, *, migrate: bool, **options: Any
    ) -> tuple[InMemorySessionStore, DirectRunner]:
        return opener(url, migrate=migrate, **options), DirectRunner()

    registered, registered_async = store_openers.store_opener(), store_openers.async_store_opener()
    register_store_opener(opener)
    register_async_store_opener(async_opener)
    try:
        yield calls
    finally:
        register_store_opener(registered)
        register_async_store_opener(registered_async)


def test_without_a_registered_opener_from_url_says_how_to_register_one(monkeypatch) -> None:
    monkeypatch.setattr(store_openers._sync, "_opener", None)
    monkeypatch.setattr(store_openers._async, "_opener", None)
    with pytest.raises(RuntimeError, match=r"no store opener is registered.*register_store_opener"):
        PersistentSessionService.from_url("sqlite://")
    with pytest.raises(RuntimeError, match=r"call register_async_store_opener\(opener\) first"):
        asyncio.run(AsyncPersistentSessionService.from_url("sqlite://"))


def test_from_url_opens_the_store_of_the_registered_opener(opened) -> None:
    with PersistentSessionService.from_url("memory://a", migrate=True, pool_size=3) as service:
        assert repr(service) == "PersistentSessionService(InMemorySessionStore())"
        assert service.create(ACTOR).actor_name == ACTOR
    with PersistentSessionService.from_url("memory://b"):
        pass
    assert opened == [("memory://a", True, {"pool_size": 3}), ("memory://b", False, {})]


def test_the_async_from_url_opens_the_store_of_the_registered_opener(opened) -> None:
    async def use() -> str:
        service = await AsyncPersistentSessionService.from_url("memory://c", retry=1)
        async with service:
            assert repr(service) == "AsyncPersistentSessionService(InMemorySessionStore())"
            created = await service.create(ACTOR, title="async")
            messages = [m async for m in service.iter_messages(created.id)]
            assert messages == []
            return (await service.get(created.id)).title or ""

    assert asyncio.run(use()) == "async"
    assert opened == [("memory://c", False, {"retry": 1})]


class Pipe(io.RawIOBase):
    """A binary stream that cannot seek, as a pipe or a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _exported(service: PersistentSessionService) -> tuple[str, bytes]:
    session = service.create(ACTOR, title="caf\u00e9")
    message = service.append_message(session.id, "user", "\u00e9t\u00e9 " * 3)
    service.record_file_event(session.id, message.id, "command", command="make test")
    stream = io.BytesIO()
    service.export_session_to(session.id, stream)
    return session.id, stream.getvalue()


def _same_content(service: PersistentSessionService, original: str, copy: str) -> None:
    assert service.get(copy).title == service.get(original).title
    assert [m.content for m in service.get_messages(copy)] == [
        m.content for m in service.get_messages(original)
    ]
    assert [e.command for e in service.list_file_events(copy)] == ["make test"]


@pytest.mark.parametrize(
    "kind",
    ["bytes", "pipe", "text", "text over a pipe", "text in memory"],
)
def test_every_kind_of_stream_imports_the_same_session(kind: str) -> None:
    store = InMemorySessionStore()
    service = PersistentSessionService(store)
    original, data = _exported(service)
    stream = {
        "bytes": lambda: io.BytesIO(data),
        "pipe": lambda: io.BufferedReader(Pipe(data)),
        "text": lambda: io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"),
        "text over a pipe": lambda: io.TextIOWrapper(
            io.BufferedReader(Pipe(data)), encoding="utf-8"
        ),
        "text in memory": lambda: io.StringIO(data.decode("utf-8")),
    }[kind]()
    # The first try fails before its commit: the retry must read the stream from its start.
    store.fail_next(committed=False)
    copy = service.import_session_from(stream)
    assert store.pending_faults == 0
    _same_content(service, original, copy.id)
    assert len(store.tables.sessions) == 2


def test_an_export_writes_to_a_text_stream_as_to_a_binary_one() -> None:
    service = PersistentSessionService(InMemorySessionStore())
    original, data = _exported(service)
    text = io.StringIO()
    service.export_session_to(original, text)
    lines, written = data.decode("utf-8").splitlines(), text.getvalue().splitlines()
    assert len(written) == len(lines) == 4  # header, message, event, trailer
    assert written[1:3] == lines[1:3]
    copy = service.import_session_from(io.StringIO(text.getvalue()))
    _same_content(service, original, copy.id)


def test_a_stream_longer_than_a_batch_imports_whole() -> None:
    service = PersistentSessionService(InMemorySessionStore())
    session = service.create(ACTOR)
    messages = service.append_messages(
        session.id, [{"role": "user", "content": f"m{i}"} for i in range(1001)]
    )
    for index in range(1001):
        service.record_file_event(session.id, messages[index].id, "read", file_path=f"f{index}.py")
    stream = io.BytesIO()
    service.export_session_to(session.id, stream)
    stream.seek(0)
    copy = service.import_session_from(stream)
    assert [m.content for m in service.get_messages(copy.id)] == [f"m{i}" for i in range(1001)]
    events = service.list_file_events(copy.id)
    assert [e.file_path for e in events] == [f"f{i}.py" for i in range(1001)]
    assert [e.message_id for e in events] == [m.id for m in service.get_messages(copy.id)]


def _lines(service: PersistentSessionService) -> list[bytes]:
    _, data = _exported(service)
    return data.splitlines(keepends=True)


def _trailer(lines: list[bytes], **changes: object) -> list[bytes]:
    record = json.loads(lines[-1])
    record.update(changes)
    return [*lines[:-1], json.dumps(record).encode() + b"\n"]


def test_the_trailer_states_what_the_stream_holds() -> None:
    store = InMemorySessionStore()
    service = PersistentSessionService(store)
    lines = _lines(service)
    before = len(store.tables.sessions)

    def refusal(stream_lines: list[bytes]) -> str:
        with pytest.raises(ImportIntegrityError) as raised:
            service.import_session_from(io.BytesIO(b"".join(stream_lines)))
        return str(raised.value)

    assert refusal(_trailer(lines, messages=2)) == (
        "line 4 states 2 messages, 1 file event, 0 rewinds and 0 compactions, but the stream "
        "holds 1, 1, 0 and 0"
    )
    assert refusal(_trailer(lines, file_events=0, rewinds=1)) == (
        "line 4 states 1 message, 0 file events, 1 rewind and 0 compactions, but the stream "
        "holds 1, 1, 0 and 0"
    )
    assert (
        refusal(_trailer(lines, extra=True)) == "line 4 (the trailer) has unknown field(s) 'extra'"
    )
    assert refusal(_trailer(lines, checksum="sha256:XYZ")).endswith(
        "64 lower-case hex digits, got 'sha256:XYZ'"
    )
    header = json.loads(lines[0])
    header["session"]["message_count"] = 2
    resealed = [json.dumps(header).encode() + b"\n", *lines[1:-1]]
    digest = "sha256:" + hashlib.sha256(b"".join(resealed)).hexdigest()
    assert refusal(_trailer([*resealed, lines[-1]], checksum=digest)) == (
        "session.message_count is 2 but the stream holds 1 messages"
    )
    assert len(store.tables.sessions) == before


def _sealed_stream(lines: list[bytes]) -> bytes:
    """Return ``lines`` with a trailer whose checksum and counts match them."""
    trailer = {
        "checksum": "sha256:" + hashlib.sha256(b"".join(lines)).hexdigest(),
        "messages": sum(line.startswith(b'{"message"') for line in lines),
        "file_events": sum(line.startswith(b'{"file_event"') for line in lines),
        "rewinds": sum(line.startswith(b'{"rewind"') for line in lines),
        "compactions": sum(line.startswith(b'{"compaction"') for line in lines),
    }
    return b"".join([*lines, json.dumps(trailer).encode() + b"\n"])


def test_a_damaged_line_is_named_by_its_number() -> None:
    store = InMemorySessionStore()
    service = PersistentSessionService(store)
    header, message, event, _ = _lines(service)
    before = len(store.tables.sessions)
    header_record = json.loads(header)
    del header_record["exported_at"]
    role = json.loads(message)
    role["message"]["role"] = "robot"
    cases = {
        b"[1]\n": "line 1: format is [1], expected 'agent-sessions/export-jsonl': not an "
        "agent-sessions JSON Lines export",
        b'{"format": "x"}\n': "line 1: format is 'x', expected",
        json.dumps(header_record).encode() + b"\n": "line 1 (the header) lacks the field(s) "
        "exported_at",
        _sealed_stream([header, b"{oops\n"]): "line 2 is not valid JSON: ",
        _sealed_stream([header, b'{"note": 1, "n": 2}\n']): "line 2 is neither a message, a file "
        "event, a rewind, a compaction nor the trailer (keys 'n', 'note')",
        _sealed_stream([header, b"[]\n"]): "line 2 must be a JSON object, got list",
        _sealed_stream([header, event, message]): "line 3 a message comes after a file event; "
        "messages come first",
        _sealed_stream([header, json.dumps(role).encode() + b"\n"]): "line 2: message.role: "
        "'robot' is not one of",
        b"".join([header, message, event, b'{"checksum": "sha256:0"}\n']): "line 4 (the trailer) "
        "lacks the field(s) compactions, file_events, messages, rewinds",
    }
    for stream, expected in cases.items():
        with pytest.raises(ImportIntegrityError) as raised:
            service.import_session_from(io.BytesIO(stream))
        assert str(raised.value).startswith(expected), stream[:60]
    assert len(store.tables.sessions) == before


def test_a_stream_header_names_its_version_and_events_keep_their_order() -> None:
    service = PersistentSessionService(InMemorySessionStore())
    session = service.create(ACTOR)
    message = service.append_message(session.id, "user", "hi")
    service.record_file_event(session.id, message.id, "read", file_path="a.py")
    service.record_file_event(session.id, message.id, "read", file_path="b.py")
    stream = io.BytesIO()
    service.export_session_to(session.id, stream)
    header, first, event, later, _ = stream.getvalue().splitlines(keepends=True)

    def refusal(lines: list[bytes]) -> Exception:
        with pytest.raises((ImportIntegrityError, UnsupportedSchemaVersionError)) as raised:
            service.import_session_from(io.BytesIO(_sealed_stream(lines)))
        return raised.value

    record = json.loads(header)
    for version, kind in (("2", "str"), (True, "bool")):
        changed = json.dumps({**record, "schema_version": version}).encode() + b"\n"
        assert str(refusal([changed, first])) == (
            f"line 1: schema_version must be an integer, got {kind}"
        )
    newer = json.dumps({**record, "schema_version": 4}).encode() + b"\n"
    unsupported = refusal([newer, first])
    assert isinstance(unsupported, UnsupportedSchemaVersionError)
    assert (unsupported.found, unsupported.supported) == (4, (2, 3))
    timeless = json.dumps({**record, "exported_at": "now"}).encode() + b"\n"
    assert (
        str(refusal([timeless, first])) == "line 1: exported_at is not an ISO 8601 timestamp: 'now'"
    )
    same_time = json.loads(later)
    same_time["file_event"]["created_at"] = json.loads(event)["file_event"]["created_at"]
    repeated = json.dumps(same_time).encode() + b"\n"
    assert str(refusal([header, first, event, repeated])).startswith(
        "line 4: file_event.created_at is not later than the event before it"
    )
    assert str(refusal([header, first, b"{}\n"])) == "line 3 must be a JSON object, got dict"
