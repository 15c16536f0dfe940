"""The service over the in-memory store answers exactly as over the run's SQL backends.

One scripted workload, with the same clock and the same ids, runs against both stores, and
every answer is compared: the sessions, messages and events each call returns, their times
(the clock steps back now and then, so "``updated_at`` never moves back" and "an event one
microsecond past the session's time" are exercised), listing orders and cursors, file paths in
code-point order, idempotent usage, exports, imports and ``verify``; and a session's history:
compactions whose end moves off a tool result, rewinds that hide compactions, an undo, pops
that delete and pops that hide, forks with their copied ids, lineage and the forks listed;
owners, the list filters and their cursors, holds, and an owner's erasure with its receipt.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest

from agent_sessions import NewMessage, PersistentSessionService
from agent_sessions.domain import InvalidInputError, history
from agent_sessions.domain.ports import SessionStore
from agent_sessions.infrastructure.database import open_store
from agent_sessions.infrastructure.memory import InMemorySessionStore
from tests.conformance.conftest import Store

T = TypeVar("T")
START = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class ScriptedClock:
    """A clock set by the workload: it may stand still or step back."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> None:
        self.now = START + timedelta(seconds=seconds)


def _workload(service: PersistentSessionService, clock: ScriptedClock) -> list[Any]:
    seen: list[Any] = []

    def keep(value: T) -> T:
        seen.append(value)
        return value

    a = keep(service.create("alpha", title="A", metadata={"k": [1]}, external_id="x"))
    b = keep(service.create("beta"))  # the same created_at as a: the ids order them
    clock.at(5)
    keep(service.append_message(a.id, "user", "one", token_count=2))
    clock.at(3)  # back in time: the message takes the session's later time
    keep(service.append_messages(a.id, [NewMessage("assistant", "two"), NewMessage("tool", "3")]))
    newest = service.get_messages(a.id)[-1]
    for path in ("b.py", "B.py", "\u00e4.py", "a.py", "b.py"):
        keep(service.record_file_event(a.id, newest.id, "edit", file_path=path, diff="+x"))
    keep(service.record_file_event(a.id, newest.id, "command", command="pytest -q"))
    clock.at(9)
    keep(
        service.record_file_event(
            b.id, keep(service.append_message(b.id, "user", "hi")).id, "read", file_path="a.py"
        )
    )
    keep(service.update_token_usage(a.id, prompt_tokens=2, idempotency_key="call-1"))
    keep(service.update_token_usage(a.id, prompt_tokens=2, idempotency_key="call-1"))
    clock.at(1)
    keep(service.pop_message(a.id))
    keep(service.get_or_create("alpha", "x"))
    c = keep(service.get_or_create("alpha", "y"))
    clock.at(20)
    document = keep(service.export_session(a.id))
    copy = keep(service.import_session(document, on_conflict="new_external_id"))
    for session_id in (a.id, b.id, c.id, copy.id):
        keep(service.get(session_id))
        keep(service.get_messages(session_id))
        keep(service.recent_messages(session_id, 2))
        keep(service.list_file_events(session_id))
        keep(service.list_file_events(session_id, event_type="edit", file_path="b.py"))
        keep(service.files_touched(session_id))
    keep(service.sessions_touching("a.py"))
    keep(service.verify().to_dict())
    first = keep(service.list(limit=2))
    keep((first.next_cursor, service.list(limit=2, after=first.next_cursor)))
    keep(service.list(actor_name="alpha", offset=1))
    service.delete(b.id)
    keep(service.list())
    keep(service.verify().to_dict())
    seen += _history_workload(service, clock)
    seen += _owner_workload(service, clock)
    return seen


def _owner_workload(service: PersistentSessionService, clock: ScriptedClock) -> list[Any]:
    """Owners, the list filters, holds and erasure: the same answers and the same receipt."""
    seen: list[Any] = []

    def keep(value: T) -> T:
        seen.append(value)
        return value

    clock.at(40)
    o1 = keep(service.create("omega", owner_id="owner-1", external_id="o1"))
    o2 = keep(service.create("omega", owner_id="owner-1"))
    clock.at(41)
    o3 = keep(service.create("omega", owner_id="owner-1"))
    other = keep(service.create("omega", owner_id="owner-2"))
    keep(service.get_or_create("omega", "o1", owner_id="owner-3"))  # found: the owner stays
    clock.at(42)
    keep(service.append_message(o1.id, "user", "mine"))
    keep(service.append_message(o3.id, "user", "mine too"))
    keep(service.update_token_usage(o3.id, prompt_tokens=1, idempotency_key="k"))
    keep(service.rewind(o1.id, 0))
    first = keep(service.list(owner_id="owner-1", limit=2))
    keep(service.list(owner_id="owner-1", limit=2, after=first.next_cursor))
    keep(service.list(external_id="o1"))
    keep(service.list(created_after=START + timedelta(seconds=40)))
    keep(service.list(created_before=START + timedelta(seconds=41)))
    keep(service.list(updated_after=START + timedelta(seconds=41), owner_id="owner-1"))
    keep(service.list(updated_before=START + timedelta(seconds=42)))
    clock.at(43)
    keep(service.set_hold(o2.id, "litigation"))
    keep(service.get(o2.id))
    with pytest.raises(InvalidInputError) as refused:
        service.erase_owner("owner-1")
    keep(str(refused.value))
    keep(service.release_hold(o2.id))
    keep(service.erase_owner("owner-1"))
    keep(service.list(owner_id="owner-1"))
    keep(service.get(other.id))
    keep(service.verify().to_dict())
    return seen


def _history_workload(service: PersistentSessionService, clock: ScriptedClock) -> list[Any]:
    seen: list[Any] = []

    def keep(value: T) -> T:
        seen.append(value)
        return value

    clock.at(30)
    h = keep(service.create("gamma", metadata={"k": 1}))
    turns = [("user", "q"), ("assistant", "a"), ("tool", "r"), ("tool", "s"), ("assistant", "b")]
    stored = keep(service.append_messages(h.id, [NewMessage(r, c) for r, c in turns]))
    keep(service.append_message(h.id, "user", "q2", token_count=4))
    keep(service.record_file_event(h.id, stored[1].id, "edit", file_path="h.py", diff="+h"))
    keep(service.record_file_event(h.id, stored[4].id, "read", file_path="h.py"))
    clock.at(25)  # back in time: the history's writes move updated_at no further back
    keep(service.compact(h.id, 2, "asked", metadata={"m": [1]}, token_count=3))  # ends at 1
    clock.at(26)
    keep(service.compact(h.id, 5, "answered"))
    keep(service.context_messages(h.id))
    keep(service.context_messages(h.id, limit=1, summary_role="user"))
    clock.at(27)
    keep(service.rewind(h.id, 4, reason="wrong"))  # hides 5, 6 and the second compaction
    keep(service.rewind(h.id, 4))  # the end: nothing written
    keep(service.files_touched(h.id))
    keep(service.context_messages(h.id, limit=2))
    clock.at(28)
    keep(service.undo_rewind(h.id))
    keep(service.rewind(h.id, 3))
    clock.at(29)
    keep(service.append_message(h.id, "user", "after"))  # sequence 7
    keep(service.recent_messages(h.id, 1))
    keep(service.pop_message(h.id))  # 7: the transcript's end, uncovered: deleted
    keep(service.pop_message(h.id))  # 3, with rewound messages after it: hidden
    f = keep(service.fork_session(h.id))
    g = keep(service.fork_session(f.id, at_sequence=1, title="g", external_id="g"))
    keep(service.fork_session(h.id, at_sequence=0, actor_name="delta"))
    for session_id in (h.id, f.id, g.id):
        keep(service.get(session_id))
        keep(service.get_messages(session_id, include_rewound=True))
        keep(service.get_messages(session_id, limit=1, offset=1))
        keep(list(service.iter_messages(session_id, batch_size=2)))
        keep(service.list_file_events(session_id))
        keep(service.files_touched(session_id))
        keep(service.list_rewinds(session_id))
        keep(service.list_compactions(session_id))
        keep(service.context_messages(session_id))
        keep(service.lineage(session_id))
        keep(service.list(forked_from=session_id))
    keep(service.verify().to_dict())
    service.delete(h.id)
    keep(service.lineage(g.id))
    keep(service.list(forked_from=h.id))
    keep(service.verify().to_dict())
    return seen


def _answers(store: SessionStore, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    clock = ScriptedClock()
    ids = (f"01{n:024d}" for n in itertools.count(1))
    # The random digits of the fork id prefixes count up from 1, so both runs draw the same.
    drawn = itertools.count(1)
    monkeypatch.setattr(history, "secrets", SimpleNamespace(randbits=lambda bits: next(drawn)))
    with PersistentSessionService(store, clock=clock, id_factory=lambda: next(ids)) as service:
        return _workload(service, clock)


def test_the_memory_store_answers_as_the_sql_store(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.empty()
    over_sql = _answers(open_store(store.url, on_drift="off"), monkeypatch)
    over_memory = _answers(InMemorySessionStore(), monkeypatch)
    assert len(over_memory) == len(over_sql)
    for number, (memory, sql) in enumerate(zip(over_memory, over_sql, strict=True)):
        assert memory == sql, f"answer {number} differs"
