"""A real deadlock on a database server: retried whole, or reported as a conflict past the bound.

Two transactions lock the same two sessions in opposite orders, so the server must abort one.
SQLite cannot deadlock (its writers queue on one database lock), so the tests skip it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from agent_sessions import PersistentSessionService
from agent_sessions.domain import DatabaseConflictError, ports
from agent_sessions.infrastructure.database import RetryPolicy, SqlAlchemySessionStore, open_store
from tests.provisioning import provisioned_url

_WAIT_SECONDS = 20.0


@pytest.fixture(scope="module")
def server_url(backend: str) -> Iterator[str]:
    """Yield a migrated database of a server backend."""
    if backend == "sqlite":
        pytest.skip("SQLite writers queue on one database lock: they cannot deadlock")
    with contextlib.ExitStack() as stack:
        url = provisioned_url(stack, backend)
        PersistentSessionService.from_url(url, migrate=True).close()
        yield url


def _crosswise(
    store: SqlAlchemySessionStore, first: str, second: str
) -> tuple[list[BaseException], list[int]]:
    """Run two transactions that update both sessions in opposite orders; return errors, tries."""
    holding = {first: threading.Event(), second: threading.Event()}
    errors: list[BaseException] = []
    tries: list[int] = []

    def work_on(mine: str, theirs: str) -> Callable[[ports.UnitOfWork], None]:
        def work(unit_of_work: ports.UnitOfWork) -> None:
            tries.append(unit_of_work.attempt)
            now = datetime.now(UTC)
            unit_of_work.sessions.update(mine, add_prompt_tokens=1, updated_at=now)
            holding[mine].set()
            assert holding[theirs].wait(_WAIT_SECONDS), "the other transaction never started"
            unit_of_work.sessions.update(theirs, add_prompt_tokens=1, updated_at=now)

        return work

    def run(mine: str, theirs: str) -> None:
        try:
            store.transaction(work_on(mine, theirs), writes=True)
        except BaseException as exc:  # handed to the test thread, which asserts on it
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(first, second)),
        threading.Thread(target=run, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(_WAIT_SECONDS * 2)
    return errors, tries


def _two_sessions(url: str) -> tuple[str, str]:
    service = PersistentSessionService.from_url(url, on_drift="off")
    try:
        return service.create("left").id, service.create("right").id
    finally:
        service.close()


def _prompt_tokens(url: str, session_id: str) -> int:
    service = PersistentSessionService.from_url(url, on_drift="off")
    try:
        return service.get(session_id).prompt_tokens
    finally:
        service.close()


def test_a_deadlock_past_the_retry_bound_is_a_conflict_error(server_url: str) -> None:
    """With one attempt allowed, the deadlock's victim gets a DatabaseConflictError."""
    left, right = _two_sessions(server_url)
    store = open_store(server_url, on_drift="off", retry_policy=RetryPolicy(attempts=1))
    try:
        errors, _tries = _crosswise(store, left, right)
    finally:
        store.close()
    assert len(errors) == 1, errors
    assert isinstance(errors[0], DatabaseConflictError), repr(errors[0])
    assert "still failing after 1 attempt(s)" in str(errors[0]), str(errors[0])
    # The winner committed both of its updates; the victim's were rolled back.
    assert _prompt_tokens(server_url, left) + _prompt_tokens(server_url, right) == 2


def test_a_deadlock_within_the_retry_bound_is_retried_whole(server_url: str) -> None:
    """With the default policy, the victim's transaction runs again and both commit."""
    left, right = _two_sessions(server_url)
    store = open_store(server_url, on_drift="off")
    try:
        errors, tries = _crosswise(store, left, right)
    finally:
        store.close()
    assert errors == []
    assert max(tries) == 2, tries
    assert _prompt_tokens(server_url, left) == 2
    assert _prompt_tokens(server_url, right) == 2
