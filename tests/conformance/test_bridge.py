"""The kit's blocking bridge: an async service called from threads, on a loop of its own."""

from __future__ import annotations

import threading

import pytest

from agent_sessions import AsyncPersistentSessionService, PersistentSessionService
from agent_sessions.testing import BlockingAsyncService, EventLoopThread, opened_service
from tests.conformance.conftest import Store

pytestmark = pytest.mark.usefixtures("sqlite_run")


def _loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "agent-sessions-event-loop"]


def test_loop_thread_runs_coroutines_and_knows_its_thread() -> None:
    async def where() -> bool:
        return loop.is_current

    with EventLoopThread() as loop:
        assert loop.run(where()) is True
        assert loop.is_current is False
    assert loop._loop.is_closed()


def test_a_bridge_from_a_factory_owns_its_loop_and_closes_it(store: Store) -> None:
    before = len(_loop_threads())
    service = BlockingAsyncService.from_factory(store.async_service)
    assert len(_loop_threads()) == before + 1
    session = service.create("bridge-bot")
    assert service.get(session.id) == session
    assert repr(service).startswith("BlockingAsyncService(AsyncPersistentSessionService(")
    service.close()
    assert len(_loop_threads()) == before


def test_a_bridge_on_a_shared_loop_leaves_it_running(store: Store) -> None:
    with EventLoopThread() as loop:
        opened = loop.run(store.async_service())
        # A factory may give the service itself, already opened on the loop, as well as an
        # awaitable of it.
        service = BlockingAsyncService.from_factory(lambda: opened, loop)
        session = service.create("bridge-bot")
        assert list(service.iter_messages(session.id)) == []
        service.close()
        assert loop.run(_answer()) == 42


async def _answer() -> int:
    return 42


def test_a_factory_that_gives_no_async_service_is_refused(store: Store) -> None:
    before = len(_loop_threads())
    with pytest.raises(TypeError, match="the factory gave PersistentSessionService, not an"):
        BlockingAsyncService.from_factory(store.sync_service)
    assert len(_loop_threads()) == before
    with EventLoopThread() as loop:
        with pytest.raises(TypeError, match="the factory gave NoneType"):
            BlockingAsyncService.from_factory(lambda: None, loop)
        assert loop.run(_answer()) == 42, "a loop given to from_factory stays open"


def test_a_call_from_the_loop_thread_is_refused_not_deadlocked(store: Store) -> None:
    service = BlockingAsyncService.from_factory(store.async_service)
    try:
        session = service.create("bridge-bot")

        async def call_back() -> object:
            return service.get(session.id)

        with pytest.raises(RuntimeError, match=r"get\(\) was called on the event loop's own"):
            service.run(call_back())
    finally:
        service.close()


def test_opened_service_refuses_what_is_no_service() -> None:
    refused = pytest.raises(TypeError, match="the factory returned NoneType; a factory returns")
    with refused, opened_service(lambda: None):
        pass


def test_opened_service_closes_what_it_opened(store: Store) -> None:
    with opened_service(store.sync_service) as service:
        assert isinstance(service, PersistentSessionService)
    with opened_service(lambda: store.async_service(AsyncPersistentSessionService)) as bridge:
        assert isinstance(bridge, BlockingAsyncService)
        loop = bridge.loop
    assert loop._loop.is_closed()
