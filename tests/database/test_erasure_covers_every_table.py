"""``erase_owner`` on the SQL backends: every table that holds a session's rows is emptied of
the owner's sessions and counted in the receipt.

The tables are read from the live database (its foreign keys to ``sessions`` and its
``session_id`` columns), not from a list in the test or the code, so a table added later that
holds session rows fails this test until the erasure counts it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, column, event, func, inspect, select, table

from agent_sessions import NewMessage, PersistentSessionService
from agent_sessions.application.ids import new_ulid
from agent_sessions.domain import InvalidInputError
from agent_sessions.domain.entities import ERASURE_TABLES
from agent_sessions.infrastructure.database import SqlAlchemySessionStore, open_store, statements
from tests.provisioning import provisioned_url

START = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def session_tables(engine: Engine) -> dict[str, str]:
    """Return the live database's tables that hold session rows, with their session column.

    ``sessions`` by its ``id``; every table with a foreign key to ``sessions`` by the key's
    column; and every other table with a ``session_id`` column by that column (the library's
    bookkeeping tables have none).
    """
    inspector = inspect(engine)
    found = {"sessions": "id"}
    for name in inspector.get_table_names():
        if name == "sessions":
            continue
        for key in inspector.get_foreign_keys(name):
            if key["referred_table"] == "sessions":
                found[name] = key["constrained_columns"][0]
        columns = {item["name"] for item in inspector.get_columns(name)}
        if name not in found and "session_id" in columns:
            found[name] = "session_id"
    return found


def rows_of(engine: Engine, name: str, session_column: str, session_ids: Sequence[str]) -> int:
    """Count the rows of ``name`` whose ``session_column`` is one of ``session_ids``."""
    query = (
        select(func.count())
        .select_from(table(name))
        .where(column(session_column).in_(list(session_ids)))
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def _owner_with_history(service: PersistentSessionService, owner: str) -> list[str]:
    """Give ``owner`` sessions with rows in every table; return the session ids."""
    first = service.create("erasure-tests", owner_id=owner, external_id=f"{owner}-1").id
    stored = service.append_messages(
        first, [NewMessage("user", "question"), NewMessage("assistant", "answer")]
    )
    service.append_messages(first, [NewMessage("user", "more"), NewMessage("assistant", "done")])
    service.record_file_event(first, stored[1].id, "edit", file_path="a.py", diff="+a")
    service.record_file_event(first, stored[1].id, "command", command="pytest -q")
    service.update_token_usage(first, prompt_tokens=3, completion_tokens=4, idempotency_key="c1")
    service.update_token_usage(first, prompt_tokens=1, idempotency_key="c2")
    service.rewind(first, 3, reason="wrong turn")
    service.compact(first, 2, "asked and answered")
    fork = service.fork_session(first)
    second = service.create("erasure-tests", owner_id=owner).id
    service.append_message(second, "user", "hello")
    return [first, fork.id, second]


def test_the_tables_counted_are_the_six_of_the_design_and_the_memory_stores() -> None:
    counted = [counted_table.name for counted_table, _ in statements.ERASURE_TABLES]
    assert sorted(counted) == sorted(ERASURE_TABLES)


def test_erase_owner_deletes_and_counts_the_rows_of_every_table_holding_sessions(
    store: SqlAlchemySessionStore, service: PersistentSessionService
) -> None:
    owner, bystander = f"owner-{new_ulid()}", f"owner-{new_ulid()}"
    erased = _owner_with_history(service, owner)
    kept = _owner_with_history(service, bystander)
    engine = store.engine
    tables = session_tables(engine)
    before = {name: rows_of(engine, name, col, erased) for name, col in tables.items()}
    kept_before = {name: rows_of(engine, name, col, kept) for name, col in tables.items()}
    assert service.get(erased[1]).owner_id == owner, "a fork belongs to its source's owner"
    assert all(before[name] > 0 for name in ERASURE_TABLES), before

    receipt = service.erase_owner(owner)

    assert receipt.owner_id == owner
    assert receipt.sessions == 3
    assert receipt.started_at <= receipt.finished_at
    uncounted = sorted(set(tables) - set(receipt.rows))
    assert not uncounted, f"tables holding session rows missing from the receipt: {uncounted}"
    for name, session_column in tables.items():
        assert rows_of(engine, name, session_column, erased) == 0, f"{name} kept erased rows"
        assert receipt.rows[name] == before[name], f"{name}: counted {receipt.rows[name]}"
    kept_after = {name: rows_of(engine, name, col, kept) for name, col in tables.items()}
    assert kept_after == kept_before
    assert [s.id for s in service.list(owner_id=owner)] == []
    assert sorted(s.id for s in service.list(owner_id=bystander)) == sorted(kept)
    assert service.verify().ok


def test_the_table_check_finds_a_new_table_holding_session_rows(
    store: SqlAlchemySessionStore, backend: str
) -> None:
    """A table added with a foreign key to sessions is found, so the test above would fail."""
    if backend != "sqlite":
        pytest.skip("the check reads any engine's catalogue; one engine shows it")
    with contextlib.ExitStack() as stack:
        url = provisioned_url(stack, backend)
        extra = open_store(url, migrate=True)
        stack.callback(extra.close)
        with extra.engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE session_tags (tag VARCHAR(20), owner_session VARCHAR(26) "
                "REFERENCES sessions (id) ON DELETE CASCADE)"
            )
            connection.exec_driver_sql("CREATE TABLE session_notes (session_id VARCHAR(26))")
        found = session_tables(extra.engine)
    assert found["session_tags"] == "owner_session"
    assert found["session_notes"] == "session_id"
    assert set(found) - set(ERASURE_TABLES) == {"session_tags", "session_notes"}


def test_erase_owner_is_refused_while_a_session_is_held_and_deletes_nothing(
    store: SqlAlchemySessionStore, service: PersistentSessionService
) -> None:
    owner = f"owner-{new_ulid()}"
    sessions = _owner_with_history(service, owner)
    engine = store.engine
    tables = session_tables(engine)
    before = {name: rows_of(engine, name, col, sessions) for name, col in tables.items()}
    held = service.set_hold(sessions[2], "legal hold")
    assert held.held and held.hold_reason == "legal hold"

    with pytest.raises(InvalidInputError) as refused:
        service.erase_owner(owner)

    assert refused.value.argument == "owner_id"
    assert sessions[2] in str(refused.value)
    assert {name: rows_of(engine, name, col, sessions) for name, col in tables.items()} == before
    service.release_hold(sessions[2])
    assert service.erase_owner(owner).sessions == 3


def test_a_hold_writes_only_the_hold(service: PersistentSessionService) -> None:
    session = service.create("erasure-tests", owner_id=f"owner-{new_ulid()}")
    held = service.set_hold(session.id, "audit")
    assert (held.hold_reason, held.updated_at) == ("audit", session.updated_at)
    assert held.held_at is not None
    released = service.release_hold(session.id)
    assert (released.hold_reason, released.held_at, released.held) == (None, None, False)
    assert released.updated_at == session.updated_at


class SteppingClock:
    """A clock that a test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def test_list_by_owner_with_the_filters_and_cursor_paging(store: SqlAlchemySessionStore) -> None:
    clock = SteppingClock()
    service = PersistentSessionService(store, clock=clock)
    owner = f"owner-{new_ulid()}"
    ids: list[str] = []
    for minute in range(5):
        clock.now = START + timedelta(minutes=minute)
        ids.append(service.create("erasure-tests", owner_id=owner, external_id=f"e{minute}").id)
        service.create("erasure-tests", owner_id=f"{owner}-other")  # never listed below
    clock.now = START + timedelta(minutes=10)
    service.append_message(ids[1], "user", "activity")
    newest_first = ids[::-1]

    pages: list[str] = []
    page = service.list(owner_id=owner, limit=2)
    while True:
        pages += [s.id for s in page]
        if page.next_cursor is None:
            break
        page = service.list(owner_id=owner, limit=2, after=page.next_cursor)
    assert pages == newest_first

    def listed(**filters: object) -> list[str]:
        return [s.id for s in service.list(owner_id=owner, **filters)]  # type: ignore[arg-type]

    at = START + timedelta(minutes=2)
    assert listed(created_after=at) == newest_first[:2]  # strictly after: not the one at 2
    assert listed(created_before=at) == newest_first[3:]
    assert listed(created_after=START, created_before=at) == [ids[1]]
    assert listed(updated_after=START + timedelta(minutes=4)) == [ids[1]]
    assert listed(updated_before=START + timedelta(minutes=4)) == [ids[3], ids[2], ids[0]]
    assert listed(external_id="e3") == [ids[3]]
    second = service.list(owner_id=owner, created_before=START + timedelta(minutes=4), limit=2)
    assert [s.id for s in second] == [ids[3], ids[2]]
    rest = service.list(
        owner_id=owner,
        created_before=START + timedelta(minutes=4),
        limit=2,
        after=second.next_cursor,
    )
    assert [s.id for s in rest] == [ids[1], ids[0]]


def test_listing_an_owner_reads_the_owner_index_in_order(
    store: SqlAlchemySessionStore, service: PersistentSessionService, backend: str
) -> None:
    """The owner's page, a deep one too, is a range of the owner index, not a sort of all."""
    owner = f"owner-{new_ulid()}"
    for _ in range(3):
        service.create("erasure-tests", owner_id=owner)
    first = service.list(owner_id=owner, limit=1)
    statements_run: list[tuple[str, Any]] = []

    def keep(conn: object, cursor: object, sql: str, params: Any, *_: object) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            statements_run.append((sql, params))

    event.listen(store.engine, "before_cursor_execute", keep)
    try:
        service.list(owner_id=owner, limit=1, after=first.next_cursor)
    finally:
        event.remove(store.engine, "before_cursor_execute", keep)
    sql, params = next(item for item in statements_run if "owner_id" in item[0])
    with store.engine.connect() as connection:
        if backend == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
            plan = " ".join(str(row[-1]) for row in rows)
            assert "ix_sessions_owner_id_created_at_id" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
        elif backend == "postgresql":
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = connection.exec_driver_sql(f"EXPLAIN {sql}", params).all()
            plan = " ".join(str(row[0]) for row in rows)
            assert "ix_sessions_owner_id_created_at_id" in plan, plan
            assert "Sort" not in plan, plan
        else:
            keys = connection.exec_driver_sql(f"EXPLAIN {sql}", params).mappings().all()
            assert "ix_sessions_owner_id_created_at_id" in str(keys[0]["possible_keys"]), keys
