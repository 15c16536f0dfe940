"""The service's limits exactly at their edge, over the in-memory store.

At a limit the call succeeds; one step past it the call raises ``InvalidInputError`` (or
``ImportIntegrityError`` for an import) and nothing is written. Every write takes the write
lock: a transaction opened for reading only never changes a row.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from agent_sessions import (
    ImportIntegrityError,
    InvalidInputError,
    NewMessage,
    PersistentSessionService,
    SessionNotFoundError,
)
from agent_sessions.domain import ports
from agent_sessions.domain.export_stream import MAX_LINE_BYTES
from agent_sessions.domain.validation import MAX_LIST_LIMIT, MAX_OFFSET, MAX_TOKEN_COUNT
from agent_sessions.infrastructure.memory import InMemorySessionStore

T = TypeVar("T")
ACTOR = "edge-bot"
UNKNOWN_ID = "01J0000000000000000000000A"


class LockCheckingStore(InMemorySessionStore):
    """An in-memory store that fails a read-only transaction which changes a row.

    It also keeps the ``writes`` flag of every transaction, so a test can see that a write
    asked for the write lock (on a database it is the row lock that orders concurrent writers).
    """

    def __init__(self) -> None:
        super().__init__()
        self.modes: list[bool] = []

    def snapshot(self) -> tuple[dict[Any, Any], ...]:
        """Return copies of the tables' rows (the rows are frozen: copying the dicts will do)."""
        tables = self.tables
        return (
            dict(tables.sessions),
            dict(tables.messages),
            dict(tables.file_events),
            dict(tables.token_usage),
        )

    def transaction(self, work: Callable[[ports.UnitOfWork], T], *, writes: bool) -> T:
        self.modes.append(writes)
        if writes:
            return super().transaction(work, writes=writes)
        before = self.snapshot()
        result = super().transaction(work, writes=writes)
        assert self.snapshot() == before, "a transaction opened without the write lock wrote"
        return result


@pytest.fixture
def store() -> LockCheckingStore:
    """The store of this module's tests; the ``service`` of ``conftest.py`` wraps it."""
    return LockCheckingStore()


def test_every_write_takes_the_write_lock(
    service: PersistentSessionService, store: LockCheckingStore
) -> None:
    def last_mode(call: Callable[[], object]) -> bool:
        store.modes.clear()
        call()
        return store.modes[-1]

    session = service.create(ACTOR, external_id="e-1")
    holder: dict[str, str] = {}

    def append() -> None:
        holder["message"] = service.append_message(session.id, "user", "hi").id

    writes: dict[str, Callable[[], object]] = {
        "create": lambda: service.create(ACTOR),
        "get_or_create": lambda: service.get_or_create(ACTOR, "e-2"),
        "append_message": append,
        "append_messages": lambda: service.append_messages(
            session.id,
            [NewMessage(role="user", content="a")],  # type: ignore[arg-type]
        ),
        "update_token_usage": lambda: service.update_token_usage(session.id, prompt_tokens=1),
        "record_file_event": lambda: service.record_file_event(
            session.id, holder["message"], "read", file_path="a.py"
        ),
        "pop_message": lambda: service.pop_message(session.id),
        "import_session": lambda: service.import_session(
            service.export_session(session.id), on_conflict="new_external_id"
        ),
        "import_session_from": lambda: service.import_session_from(
            _stream_of(service, session.id), on_conflict="new_external_id"
        ),
        "delete": lambda: service.delete(service.create(ACTOR).id),
    }
    taken = {name: last_mode(call) for name, call in writes.items()}
    assert taken == dict.fromkeys(writes, True)
    reads = {
        "get": lambda: service.get(session.id),
        "list": lambda: service.list(),
        "get_messages": lambda: service.get_messages(session.id),
        "export_session": lambda: service.export_session(session.id),
        "verify": lambda: service.verify(),
        "get_by_external_id": lambda: service.get_by_external_id(ACTOR, "e-1"),
        "iter_messages": lambda: list(service.iter_messages(session.id, batch_size=1)),
        "recent_messages": lambda: service.recent_messages(session.id, 2),
        "list_file_events": lambda: service.list_file_events(session.id),
        "files_touched": lambda: service.files_touched(session.id),
        "sessions_touching": lambda: service.sessions_touching("a.py"),
    }
    assert {name: last_mode(call) for name, call in reads.items()} == dict.fromkeys(reads, False)


def test_get_or_create_finds_an_existing_session_without_the_write_lock(
    service: PersistentSessionService, store: LockCheckingStore
) -> None:
    made = service.get_or_create(ACTOR, "ticket-9", title="first")
    store.modes.clear()
    found = service.get_or_create(ACTOR, "ticket-9", title="ignored")
    assert found == made and found.title == "first"
    assert store.modes == [False]
    assert service.get_by_external_id(ACTOR, "ticket-9") == made
    assert service.get_by_external_id(ACTOR, "ticket-8") is None
    assert service.get_by_external_id("other-bot", "ticket-9") is None
    with pytest.raises(InvalidInputError) as raised:
        service.get_or_create(ACTOR, None)  # type: ignore[arg-type]
    assert (raised.value.argument, raised.value.reason) == (
        "external_id",
        "must be a string, got NoneType",
    )


# --- token totals ---------------------------------------------------------------------------


def test_token_totals_reach_the_largest_count_and_not_one_more(
    service: PersistentSessionService, store: LockCheckingStore
) -> None:
    session = service.create(ACTOR)
    service.update_token_usage(session.id, prompt_tokens=MAX_TOKEN_COUNT - 1)
    at_the_limit = service.update_token_usage(session.id, prompt_tokens=1, completion_tokens=5)
    assert at_the_limit.prompt_tokens == MAX_TOKEN_COUNT
    before = store.snapshot()
    with pytest.raises(InvalidInputError) as raised:
        service.update_token_usage(session.id, prompt_tokens=1)
    assert raised.value.argument == "prompt_tokens"
    assert f"to {MAX_TOKEN_COUNT + 1}, above the most allowed {MAX_TOKEN_COUNT}" in str(
        raised.value
    )
    assert "nothing was added" in str(raised.value)
    assert store.snapshot() == before
    assert service.get(session.id).prompt_tokens == MAX_TOKEN_COUNT


def test_the_completion_total_has_the_same_limit(service: PersistentSessionService) -> None:
    session = service.create(ACTOR)
    service.update_token_usage(session.id, completion_tokens=MAX_TOKEN_COUNT)
    with pytest.raises(InvalidInputError) as raised:
        service.update_token_usage(session.id, completion_tokens=1, prompt_tokens=1)
    assert raised.value.argument == "completion_tokens"
    unchanged = service.get(session.id)
    assert (unchanged.prompt_tokens, unchanged.completion_tokens) == (0, MAX_TOKEN_COUNT)


def test_a_repeated_key_with_other_amounts_is_refused(service: PersistentSessionService) -> None:
    session = service.create(ACTOR)
    first = service.update_token_usage(session.id, prompt_tokens=3, idempotency_key="m1")
    again = service.update_token_usage(session.id, prompt_tokens=3, idempotency_key="m1")
    assert again.prompt_tokens == first.prompt_tokens == 3
    with pytest.raises(InvalidInputError) as raised:
        service.update_token_usage(session.id, prompt_tokens=4, idempotency_key="m1")
    assert raised.value.argument == "idempotency_key"
    assert "already recorded prompt_tokens=3, completion_tokens=0" in raised.value.reason
    with pytest.raises(SessionNotFoundError):
        service.update_token_usage(UNKNOWN_ID, prompt_tokens=1)


# --- listing --------------------------------------------------------------------------------


def test_the_largest_offset_gives_an_empty_page(service: PersistentSessionService) -> None:
    service.create(ACTOR)
    page = service.list(offset=MAX_OFFSET)
    assert page == [] and page.next_cursor is None
    with pytest.raises(InvalidInputError) as raised:
        service.list(offset=MAX_OFFSET + 1)
    assert raised.value.argument == "offset"


def test_the_largest_page_and_its_cursor(service: PersistentSessionService) -> None:
    made = [service.create(ACTOR) for _ in range(MAX_LIST_LIMIT + 1)]
    first = service.list(limit=MAX_LIST_LIMIT)
    assert len(first) == MAX_LIST_LIMIT and first.next_cursor is not None
    rest = service.list(limit=MAX_LIST_LIMIT, after=first.next_cursor)
    assert [s.id for s in rest] == [made[0].id] and rest.next_cursor is None
    with pytest.raises(InvalidInputError) as raised:
        service.list(limit=MAX_LIST_LIMIT + 1)
    assert raised.value.argument == "limit"


def test_an_offset_with_a_cursor_is_refused(service: PersistentSessionService) -> None:
    service.create(ACTOR)
    cursor = service.list(limit=1).next_cursor
    assert cursor is not None
    assert service.list(limit=1, after=cursor, offset=0) == []
    with pytest.raises(InvalidInputError) as raised:
        service.list(limit=1, after=cursor, offset=1)
    assert raised.value.argument == "offset"
    assert raised.value.reason == "cannot be combined with after; use one or the other"


# --- metadata that JSON cannot hold ---------------------------------------------------------


@pytest.mark.parametrize("number", [math.nan, math.inf])
def test_nan_and_infinity_are_refused_and_nothing_is_written(
    service: PersistentSessionService, store: LockCheckingStore, number: float
) -> None:
    session = service.create(ACTOR)
    before = store.snapshot()
    with pytest.raises(InvalidInputError) as raised:
        service.append_message(session.id, "user", "x", metadata={"score": number})
    assert raised.value.argument == "metadata"
    with pytest.raises(InvalidInputError) as raised:
        service.create(ACTOR, metadata={"nested": [number]})
    assert raised.value.argument == "metadata"
    assert store.snapshot() == before


# --- imports --------------------------------------------------------------------------------


def _stream_of(service: PersistentSessionService, session_id: str) -> io.BytesIO:
    stream = io.BytesIO()
    service.export_session_to(session_id, stream)
    stream.seek(0)
    return stream


def _resealed(lines: list[bytes]) -> io.BytesIO:
    """Return the stream of ``lines`` (trailer last) with the trailer's checksum recomputed."""
    *body, trailer = lines
    record = json.loads(trailer)
    record["checksum"] = "sha256:" + hashlib.sha256(b"".join(body)).hexdigest()
    return io.BytesIO(b"".join([*body, json.dumps(record).encode() + b"\n"]))


def test_a_stream_line_of_the_largest_size_is_read_and_not_one_byte_more(
    service: PersistentSessionService, store: LockCheckingStore
) -> None:
    session = service.create(ACTOR, title="wide")
    service.append_message(session.id, "user", "hello")
    lines = _stream_of(service, session.id).getvalue().splitlines(keepends=True)

    def widened(line: bytes, size: int) -> bytes:  # JSON allows white space before the newline
        return line[:-1] + b" " * (size - len(line)) + b"\n"

    for number in (1, 2):  # the header, then a message
        at_the_limit = list(lines)
        at_the_limit[number - 1] = widened(lines[number - 1], MAX_LINE_BYTES)
        imported = service.import_session_from(_resealed(at_the_limit))
        assert imported.title == "wide" and imported.message_count == 1
        before = store.snapshot()
        too_wide = list(lines)
        too_wide[number - 1] = widened(lines[number - 1], MAX_LINE_BYTES + 1)
        with pytest.raises(
            ImportIntegrityError, match=f"line {number} is longer than {MAX_LINE_BYTES} bytes"
        ):
            service.import_session_from(_resealed(too_wide))
        assert store.snapshot() == before


def test_a_damaged_stream_writes_nothing(
    service: PersistentSessionService, store: LockCheckingStore
) -> None:
    session = service.create(ACTOR)
    message = service.append_message(session.id, "user", "hello")
    service.record_file_event(session.id, message.id, "edit", file_path="a.py", diff="+1")
    lines = _stream_of(service, session.id).getvalue().splitlines(keepends=True)
    before = store.snapshot()
    changed = [lines[0], lines[1].replace(b"hello", b"HELLO"), *lines[2:]]
    with pytest.raises(ImportIntegrityError, match="checksum mismatch"):
        service.import_session_from(io.BytesIO(b"".join(changed)))
    with pytest.raises(ImportIntegrityError, match="cut short"):
        service.import_session_from(io.BytesIO(b"".join(lines[:-1])))
    with pytest.raises(ImportIntegrityError, match="goes on after its trailer"):
        service.import_session_from(io.BytesIO(b"".join([*lines, lines[1]])))
    with pytest.raises(ImportIntegrityError, match="the stream is empty"):
        service.import_session_from(io.BytesIO(b"\n"))
    upper = lines[-1].replace(b"sha256:", b"SHA256:")
    with pytest.raises(ImportIntegrityError, match="64 lower-case hex digits"):
        service.import_session_from(io.BytesIO(b"".join([*lines[:-1], upper])))
    assert store.snapshot() == before
    copy = service.import_session_from(io.BytesIO(b"".join(lines)))
    assert service.list_file_events(copy.id)[0].diff == "+1"


def test_a_text_stream_imports_as_the_bytes_do(service: PersistentSessionService) -> None:
    session = service.create(ACTOR, title="caf\u00e9")
    service.append_message(session.id, "assistant", "\u00e9t\u00e9")
    text = _stream_of(service, session.id).getvalue().decode("utf-8")
    written = io.StringIO()
    service.export_session_to(session.id, written)
    assert written.getvalue().splitlines()[1:-1] == text.splitlines()[1:-1]  # the messages
    copy = service.import_session_from(io.StringIO(text))
    assert copy.title == "caf\u00e9"
    assert [m.content for m in service.get_messages(copy.id)] == ["\u00e9t\u00e9"]


def test_a_tampered_document_writes_nothing(
    service: PersistentSessionService, store: LockCheckingStore
) -> None:
    session = service.create(ACTOR, external_id="ticket-1")
    service.append_message(session.id, "user", "hello")
    document = service.export_session(session.id)
    before = store.snapshot()
    tampered = {**document, "messages": [{**document["messages"][0], "content": "bye"}]}
    with pytest.raises(ImportIntegrityError, match="checksum mismatch"):
        service.import_session(tampered)
    upper = {**document, "checksum": document["checksum"].upper()}
    with pytest.raises(ImportIntegrityError, match="64 lower-case hex digits"):
        service.import_session(upper)
    with pytest.raises(ImportIntegrityError, match="already names session"):
        service.import_session(document)
    assert store.snapshot() == before
    copy = service.import_session(document, on_conflict="new_external_id")
    assert copy.external_id is None and copy.id != session.id


def test_a_file_event_names_a_message_of_its_own_session(
    service: PersistentSessionService,
) -> None:
    mine, other = service.create(ACTOR), service.create(ACTOR)
    message = service.append_message(other.id, "user", "elsewhere")
    with pytest.raises(InvalidInputError) as raised:
        service.record_file_event(mine.id, message.id, "read", file_path="a.py")
    assert (raised.value.argument, raised.value.reason) == (
        "message_id",
        f"{message.id} is not a message of session {mine.id}",
    )
    with pytest.raises(SessionNotFoundError):
        service.record_file_event(UNKNOWN_ID, message.id, "read", file_path="a.py")


def test_a_page_holds_50_sessions_unless_told(service: PersistentSessionService) -> None:
    for _ in range(51):
        service.create(ACTOR)
    page = service.list()
    assert len(page) == 50 and page.next_cursor is not None
    assert len(service.list(after=page.next_cursor)) == 1
