"""Both verifiers report the same damage to a session's history in the same words.

The same sessions are written, with the same clock and ids, to the in-memory store and to the
run's SQL backend; then each test damages both the same way (a ``put_*`` of the memory tables,
an SQL statement behind the library's back) and compares the two reports, which must name the
damage. Behave shows the SQL reports on every backend (``features/verify.feature``); here the
in-memory verifier is held to the same answers.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from agent_sessions import PersistentSessionService
from agent_sessions.domain import history
from agent_sessions.infrastructure.database import open_store
from agent_sessions.infrastructure.memory import InMemorySessionStore
from tests.conformance.conftest import Store
from testsupport.databases import damage_by_hand

START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@dataclasses.dataclass
class World:
    """The history written to one store, and the ids a damage names."""

    service: PersistentSessionService
    ids: dict[str, Any]


def _write(service: PersistentSessionService, monkeypatch: pytest.MonkeyPatch) -> World:
    """Write a fork, its parent and an other session; rewind and compact; keep their ids.

    The random digits of the fork's id prefixes count up from 1, so every store draws the same.

    ``branch`` ends with 6 messages: 5 and 6 hidden by ``rewind`` (to 4), whose compaction
    through 5 it hid too; its compaction through 2 is in force.
    """
    drawn = itertools.count(1)
    monkeypatch.setattr(history, "secrets", SimpleNamespace(randbits=lambda bits: next(drawn)))
    root = service.create("root")
    for number in range(4):
        service.append_message(root.id, ("user", "assistant")[number % 2], f"root {number}")
    branch = service.fork_session(root.id, at_sequence=3, actor_name="branch")
    for number in range(3):
        service.append_message(branch.id, ("assistant", "user")[number % 2], f"more {number}")
    kept = service.compact(branch.id, 2, "the first two")
    hidden = service.compact(branch.id, 5, "the first five")
    rewind = service.rewind(branch.id, 4, reason="wrong")
    other = service.create("other")
    for number in range(3):
        service.append_message(other.id, "user", f"other {number}")
    foreign = service.rewind(other.id, 1)
    transcript = service.get_messages(branch.id, include_rewound=True)
    return World(
        service,
        {
            "root": root.id,
            "branch": branch.id,
            "message": {m.sequence: m.id for m in transcript},
            "kept": kept.id,
            "hidden": hidden.id,
            "rewind": rewind.id if rewind else None,
            "foreign": foreign.id if foreign else None,
        },
    )


# Each damage: what the memory tables are told, and the SQL that does the same.
_Damage = tuple[Callable[[InMemorySessionStore, dict[str, Any]], None], str]


def _replace_message(sequence: int, **change: Any) -> Callable[..., None]:
    def damage(store: InMemorySessionStore, ids: dict[str, Any]) -> None:
        message = store.tables.messages[ids["message"][sequence]]
        store.tables.put_message(dataclasses.replace(message, **change_of(change, ids)))

    return damage


def _replace(table: str, key: str, **change: Any) -> Callable[..., None]:
    def damage(store: InMemorySessionStore, ids: dict[str, Any]) -> None:
        rows = getattr(store.tables, table)
        put = getattr(store.tables, f"put_{table[:-1]}")
        row = rows[ids[key]]
        put(dataclasses.replace(row, **change_of(change, ids, row)))

    return damage


def change_of(change: dict[str, Any], ids: dict[str, Any], row: Any = None) -> dict[str, Any]:
    """Resolve ``"<name>"`` to the id kept under ``name`` and ``"=field"`` to the row's field."""
    resolved = {}
    for name, value in change.items():
        if isinstance(value, str) and value.startswith("<"):
            value = ids[value[1:-1]]
        elif isinstance(value, str) and value.startswith("="):
            value = getattr(row, value[1:])
        resolved[name] = value
    return resolved


def _delete_rewind(store: InMemorySessionStore, ids: dict[str, Any]) -> None:
    store.tables.delete_rewind(ids["rewind"])


DAMAGES: dict[str, _Damage] = {
    "a rewind undone behind its messages' back": (
        _replace("rewinds", "rewind", undone_at="=created_at"),
        "UPDATE session_rewinds SET undone_at = created_at WHERE id = :rewind",
    ),
    "a hidden message made visible": (
        _replace_message(6, rewound_by=None),
        "UPDATE session_messages SET rewound_by = NULL WHERE id = :m6",
    ),
    "a message hidden by a rewind that does not span it": (
        _replace_message(2, rewound_by="<rewind>"),
        "UPDATE session_messages SET rewound_by = :rewind WHERE id = :m2",
    ),
    "a message hidden by another session's rewind": (
        _replace_message(3, rewound_by="<foreign>"),
        "UPDATE session_messages SET rewound_by = :foreign WHERE id = :m3",
    ),
    "a message hidden by a rewind that is gone": (
        _delete_rewind,
        "DELETE FROM session_rewinds WHERE id = :rewind",
    ),
    "a compaction in force past the transcript": (
        _replace("compactions", "kept", through_sequence=9),
        "UPDATE session_compactions SET through_sequence = 9 WHERE id = :kept",
    ),
    "a compaction hidden by another session's rewind": (
        _replace("compactions", "kept", rewound_by="<foreign>"),
        "UPDATE session_compactions SET rewound_by = :foreign WHERE id = :kept",
    ),
    "a compaction hidden by a rewind that keeps its end visible": (
        _replace("compactions", "kept", rewound_by="<rewind>"),
        "UPDATE session_compactions SET rewound_by = :rewind WHERE id = :kept",
    ),
    "a fork point past its parent": (
        _replace("sessions", "branch", forked_at_sequence=9),
        "UPDATE sessions SET forked_at_sequence = 9 WHERE id = :branch",
    ),
    "a session that is its own parent": (
        _replace("sessions", "root", parent_session_id="<root>", forked_at_sequence=0),
        "UPDATE sessions SET parent_session_id = id, forked_at_sequence = 0 WHERE id = :root",
    ),
}
KINDS = {
    "a rewind undone behind its messages' back": {
        "unexplained_rewound_message",
        "unexplained_rewound_compaction",
    },
    "a hidden message made visible": {"visible_message_in_rewind"},
    "a message hidden by a rewind that does not span it": {"unexplained_rewound_message"},
    "a message hidden by another session's rewind": {"unexplained_rewound_message"},
    "a message hidden by a rewind that is gone": {
        "unexplained_rewound_message",
        "unexplained_rewound_compaction",
    },
    "a compaction in force past the transcript": {"compaction_end_missing"},
    "a compaction hidden by another session's rewind": {"unexplained_rewound_compaction"},
    "a compaction hidden by a rewind that keeps its end visible": {
        "unexplained_rewound_compaction"
    },
    "a fork point past its parent": {"fork_point_past_parent"},
    "a session that is its own parent": {"own_parent"},
}


def _service(store: Any) -> PersistentSessionService:
    """Open a service whose ids and times run the same over every store."""
    ids = (f"01{n:024d}" for n in itertools.count(1))
    moments = (START + timedelta(milliseconds=n) for n in itertools.count())
    return PersistentSessionService(
        store, clock=lambda: next(moments), id_factory=lambda: next(ids)
    )


def _sql_parameters(ids: dict[str, Any]) -> dict[str, Any]:
    named = {key: value for key, value in ids.items() if isinstance(value, str)}
    return {**named, **{f"m{sequence}": id_ for sequence, id_ in ids["message"].items()}}


@pytest.mark.parametrize("damage", DAMAGES, ids=str)
def test_both_verifiers_report_the_damage_alike(
    store: Store, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.empty()
    in_memory, statement = DAMAGES[damage]
    memory_store = InMemorySessionStore()
    with _service(memory_store) as memory, _service(open_store(store.url, on_drift="off")) as sql:
        memory_world, sql_world = (_write(memory, monkeypatch), _write(sql, monkeypatch))
        assert memory_world.ids == sql_world.ids
        assert memory.verify() == sql.verify()
        assert memory.verify().ok, memory.verify().render()

        in_memory(memory_store, memory_world.ids)
        damage_by_hand(store.url, [(statement, _sql_parameters(sql_world.ids))], relax=True)

        found = memory.verify()
        assert found == sql.verify(), (found.render(), sql.verify().render())
        assert {problem.kind for problem in found.problems} == KINDS[damage], found.render()
        for session_id in (sql_world.ids["root"], sql_world.ids["branch"]):
            assert memory.verify(session_id) == sql.verify(session_id)
