"""Steps about the async service: the sync service's methods, awaited on one event loop."""

from __future__ import annotations

import asyncio
import inspect
import io
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from behave import given, then, when
from behave.runner import Context
from sqlalchemy import create_engine, update

from agent_sessions import (
    AsyncPersistentSessionService,
    AsyncSessionService,
    ErasureReceipt,
    FileEventType,
    RetryPolicy,
    SessionService,
)
from agent_sessions.infrastructure.database.models import SessionModel
from features.session_world import attempt, unknown_session_id
from testsupport.howto import run_example
from testsupport.lost_ack import lose_commit_acknowledgements

ROOT = Path(__file__).resolve().parents[2]

# --- the world --------------------------------------------------------------------------------


def _loop(context: Context) -> asyncio.Runner:
    """The scenario's event loop: one for all its steps, closed after its services."""
    if getattr(context, "loop", None) is None:
        context.loop = asyncio.Runner()
        context.scenario_stack.callback(context.loop.close)
        context.scenario_stack.callback(setattr, context, "loop", None)
    loop: asyncio.Runner = context.loop
    return loop


def _run(context: Context, awaitable: Awaitable[Any]) -> Any:
    async def wrapped() -> Any:
        return await awaitable

    return _loop(context).run(wrapped())


def _attempt(context: Context, make: Callable[[], Awaitable[Any]]) -> None:
    attempt(context, lambda: _run(context, make()))


def _open(context: Context, url: str, **options: Any) -> AsyncPersistentSessionService:
    service: AsyncPersistentSessionService = _run(
        context, AsyncPersistentSessionService.from_url(url, **options)
    )
    context.scenario_stack.callback(lambda: _run(context, service.close()))
    return service


@given("an async service on the scenario's database")
def step_async_service(context: Context) -> None:
    context.async_service = _open(context, context.database_url)


@given("an async service on the scenario's database whose retries wait 200 ms")
def step_async_service_slow_retries(context: Context) -> None:
    policy = RetryPolicy(attempts=3, initial_wait=0.4, max_wait=0.4)  # waits 0.2 to 0.4 s
    context.async_service = _open(context, context.database_url, retry_policy=policy)


@given("a session with {count:d} message appended through it")
@given("a session with {count:d} messages appended through it")
def step_session_with_messages(context: Context, count: int) -> None:
    service = context.async_service

    async def fill() -> str:
        session = await service.create("async-agent")
        await service.append_messages(
            session.id, [{"role": "user", "content": f"message {n}"} for n in range(1, count + 1)]
        )
        return session.id

    context.session_id = _run(context, fill())
    context.session = context.service.get(context.session_id)


# --- the port ---------------------------------------------------------------------------------


def _public_methods(cls: type) -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


@then("every public method of SessionService has an awaitable form on AsyncSessionService")
def step_port_mirrors(context: Context) -> None:
    sync_methods = _public_methods(SessionService)
    async_methods = _public_methods(AsyncSessionService)
    assert sync_methods == async_methods, sync_methods ^ async_methods
    for name in sync_methods - {"iter_messages"}:
        method = getattr(AsyncSessionService, name)
        assert inspect.iscoroutinefunction(method), f"{name} is not a coroutine function"
        if name != "close":
            assert getattr(SessionService, name).__doc__ in (method.__doc__ or ""), name
    assert "async for" in (AsyncSessionService.iter_messages.__doc__ or "")


@then("AsyncPersistentSessionService implements all of them")
def step_implementation_complete(context: Context) -> None:
    assert not inspect.isabstract(AsyncPersistentSessionService), (
        AsyncPersistentSessionService.__abstractmethods__
    )
    assert inspect.isasyncgenfunction(AsyncPersistentSessionService.iter_messages)
    assert issubclass(AsyncPersistentSessionService, AsyncSessionService)


# --- a whole session, awaited -------------------------------------------------------------


@when("I run a session through every method of the async service")
def step_tour(context: Context) -> None:
    service: AsyncPersistentSessionService = context.async_service

    async def tour() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        session = await service.create("tourist", title="tour", external_id="ext-1")
        seen["get"] = await service.get(session.id)
        seen["by_external_id"] = await service.get_by_external_id("tourist", "ext-1")
        seen["get_or_create"] = await service.get_or_create("tourist", "ext-1")
        first = await service.append_message(session.id, "user", "read the README")
        await service.append_messages(
            session.id,
            [{"role": "assistant", "content": "reading"}, {"role": "tool", "content": "done"}],
        )
        seen["event"] = await service.record_file_event(
            session.id, first.id, FileEventType.READ, file_path="README.md"
        )
        seen["events"] = await service.list_file_events(session.id)
        seen["files"] = await service.files_touched(session.id)
        seen["touching"] = await service.sessions_touching("README.md")
        seen["usage"] = await service.update_token_usage(
            session.id, prompt_tokens=30, completion_tokens=7, idempotency_key="turn-1"
        )
        seen["popped"] = await service.pop_message(session.id)
        seen["recent"] = await service.recent_messages(session.id, 10)
        seen["messages"] = await service.get_messages(session.id)
        seen["page"] = await service.list(actor_name="tourist")
        document = await service.export_session(session.id)
        copy = await service.import_session(document, on_conflict="new_external_id")
        stream = io.BytesIO()
        await service.export_session_to(session.id, stream)
        stream.seek(0)
        streamed = await service.import_session_from(stream, on_conflict="new_external_id")
        seen["copies"] = (copy, streamed)
        seen["verify"] = await service.verify()
        await service.delete(copy.id)
        await service.delete(streamed.id)
        seen["session"] = await service.get(session.id)
        return seen

    context.tour = _run(context, tour())


@then("each call gave what the sync service gives for it")
def step_tour_results(context: Context) -> None:
    seen = context.tour
    session = seen["session"]
    assert seen["get"].id == seen["by_external_id"].id == seen["get_or_create"].id == session.id
    assert [m.content for m in seen["messages"]] == ["read the README", "reading"]
    assert seen["recent"] == seen["messages"]
    assert seen["popped"].content == "done" and seen["popped"].sequence == 3
    assert seen["events"] == [seen["event"]] and seen["files"][0].file_path == "README.md"
    assert [s.id for s in seen["touching"]] == [session.id]
    assert (seen["usage"].prompt_tokens, seen["usage"].completion_tokens) == (30, 7)
    assert [s.id for s in seen["page"]] == [session.id]
    assert all(copy.message_count == 2 for copy in seen["copies"])
    assert seen["verify"].problems == (), seen["verify"].problems
    assert session.message_count == 2 and session.total_tokens == 37


@then("the sync service sees the same session, messages and file events")
def step_sync_sees(context: Context) -> None:
    seen = context.tour
    session_id = seen["session"].id
    assert context.service.get(session_id) == seen["session"]
    assert context.service.get_messages(session_id) == seen["messages"]
    assert context.service.list_file_events(session_id) == seen["events"]
    assert len(context.service.list(limit=10)) == 1, "the imported copies were deleted"


# --- fork, rewind and compaction, awaited -----------------------------------------------------


@given("a session of 6 messages, compacted through 3, forked at 4 and rewound to 5")
def step_session_with_history(context: Context) -> None:
    service = context.service  # the sync service writes the history the async one is asked about
    session = service.create("async-history", owner_id="async-owner")
    service.append_messages(
        session.id,
        [{"role": ("user", "assistant")[n % 2], "content": f"turn {n}"} for n in range(1, 7)],
    )
    service.compact(session.id, 3, "the first three turns")
    context.history_fork = service.fork_session(session.id, at_sequence=4)
    service.rewind(session.id, 5)
    context.session_id = session.id


def _history_calls(
    context: Context,
) -> dict[str, tuple[Callable[[AsyncPersistentSessionService], Awaitable[Any]], Callable[[], Any]]]:
    """Per call: what is awaited, and how the sync service reads back what it should return."""
    sid = context.session_id
    fork_id = context.history_fork.id
    sync = context.service
    return {
        "fork_session at 2": (
            lambda service: service.fork_session(sid, at_sequence=2),
            lambda: sync.get(context.async_result.id),
        ),
        "lineage of its fork": (
            lambda service: service.lineage(fork_id),
            lambda: sync.lineage(fork_id),
        ),
        "list forked_from": (
            lambda service: service.list(forked_from=sid),
            lambda: sync.list(forked_from=sid),
        ),
        "rewind to 4": (
            lambda service: service.rewind(sid, 4, reason="async"),
            lambda: sync.list_rewinds(sid)[-1],
        ),
        "undo_rewind": (
            lambda service: service.undo_rewind(sid),
            lambda: sync.list_rewinds(sid)[-1],
        ),
        "list_rewinds": (
            lambda service: service.list_rewinds(sid),
            lambda: sync.list_rewinds(sid),
        ),
        "compact through 4": (
            lambda service: service.compact(sid, 4, "four turns", token_count=3),
            lambda: sync.list_compactions(sid)[-1],
        ),
        "list_compactions": (
            lambda service: service.list_compactions(sid),
            lambda: sync.list_compactions(sid),
        ),
        "context_messages with limit 1": (
            lambda service: service.context_messages(sid, limit=1, summary_role="user"),
            lambda: sync.context_messages(sid, limit=1, summary_role="user"),
        ),
        "get_messages including the rewound": (
            lambda service: service.get_messages(sid, include_rewound=True),
            lambda: sync.get_messages(sid, include_rewound=True),
        ),
        "set_hold": (
            lambda service: service.set_hold(sid, "async hold"),
            lambda: sync.get(sid),
        ),
        "release_hold": (
            lambda service: service.release_hold(sid),
            lambda: sync.get(sid),
        ),
        "erase_owner of its owner": (
            lambda service: service.erase_owner("async-owner"),
            _erased_as_counted(context, sid),
        ),
    }


def _erased_as_counted(context: Context, sid: str) -> Callable[[], ErasureReceipt]:
    """The receipt an erasure of the session's owner gives, counted now, before the erasure.

    The owner holds the session and its fork. Read back after the erasure: the sync service
    no longer finds a session of the owner.
    """
    sync = context.service
    owned = [session.id for session in sync.list(owner_id="async-owner")]
    rows = {
        "sessions": len(owned),
        "session_messages": sum(len(sync.get_messages(i, include_rewound=True)) for i in owned),
        "session_file_events": sum(len(sync.list_file_events(i)) for i in owned),
        "session_token_usage": 0,
        "session_rewinds": sum(len(sync.list_rewinds(i)) for i in owned),
        "session_compactions": sum(len(sync.list_compactions(i)) for i in owned),
    }

    def read_back() -> ErasureReceipt:
        returned = context.async_result
        assert sync.list(owner_id="async-owner") == [], "the owner still has sessions"
        return ErasureReceipt(
            "async-owner", len(owned), rows, returned.started_at, returned.finished_at
        )

    return read_back


@when("I await {call} on that session")
def step_await_history_call(context: Context, call: str) -> None:
    awaited, read_back = _history_calls(context)[call]
    context.async_result = _run(context, awaited(context.async_service))
    context.read_back = read_back


@then("the sync service reads back what the async service returned")
def step_sync_reads_back(context: Context) -> None:
    returned = context.async_result
    assert returned not in (None, []), f"the async call returned {returned!r}"
    read_back = context.read_back()
    assert returned == read_back, f"awaited {returned!r}\nread back {read_back!r}"
    assert context.service.verify().ok


# --- refusals ---------------------------------------------------------------------------------


@when("I await an append to a session that does not exist")
def step_append_unknown(context: Context) -> None:
    service = context.async_service
    _attempt(context, lambda: service.append_message(unknown_session_id(), "user", "hello?"))


@when("I await the creation of a session with an empty actor name")
def step_create_refused(context: Context) -> None:
    _attempt(context, lambda: context.async_service.create(""))


# --- iteration --------------------------------------------------------------------------------


@when("I iterate over its messages asynchronously, {size:d} at a time")
def step_iterate(context: Context, size: int) -> None:
    async def read() -> list[int]:
        return [
            message.sequence
            async for message in context.async_service.iter_messages(
                context.session_id, batch_size=size
            )
        ]

    context.sequences = _run(context, read())


@then("I get the sequences 1 to {last:d} in order")
def step_sequences(context: Context, last: int) -> None:
    assert context.sequences == list(range(1, last + 1)), context.sequences


@when("I iterate asynchronously over a session that does not exist")
def step_iterate_unknown(context: Context) -> None:
    async def read() -> list[Any]:
        return [m async for m in context.async_service.iter_messages(unknown_session_id())]

    _attempt(context, read)


# --- one event loop, many sessions ------------------------------------------------------------


@when("{tasks:d} tasks on one event loop each append {count:d} messages to a session of their own")
def step_many_tasks(context: Context, tasks: int, count: int) -> None:
    service = context.async_service

    async def writer(index: int) -> str:
        session = await service.create(f"agent-{index}")
        for n in range(1, count + 1):
            await service.append_message(session.id, "user", f"turn {n} of agent {index}")
        return session.id

    async def all_writers() -> list[str]:
        return list(await asyncio.gather(*(writer(index) for index in range(tasks))))

    context.session_ids = _run(context, all_writers())


@then("every one of the {tasks:d} sessions holds the sequences 1 to {count:d} without gap")
def step_many_checked(context: Context, tasks: int, count: int) -> None:
    assert len(set(context.session_ids)) == tasks
    for session_id in context.session_ids:
        messages = context.service.get_messages(session_id)
        assert [m.sequence for m in messages] == list(range(1, count + 1)), session_id
        assert context.service.get(session_id).message_count == count


@then("the async service's verify finds no problem in them")
def step_async_verify(context: Context) -> None:
    report = _run(context, context.async_service.verify())
    assert report.problems == (), report.problems
    assert report.sessions_checked == len(context.session_ids)


# --- cancellation -----------------------------------------------------------------------------


@given("another connection holds the session's row lock")
def step_hold_lock(context: Context) -> None:
    engine = create_engine(context.database_url)
    connection = engine.connect()
    transaction = connection.begin()
    sessions = SessionModel.__table__
    connection.execute(
        update(sessions).where(sessions.c.id == context.session_id).values(title="locked")
    )
    context.lock_holder = (engine, connection, transaction)

    def release() -> None:
        if transaction.is_active:
            transaction.rollback()
        connection.close()
        engine.dispose()

    context.scenario_stack.callback(release)


@when('a task starts appending "{content}" to the session and is cancelled while it waits')
def step_cancelled_append(context: Context, content: str) -> None:
    service = context.async_service

    async def start_and_cancel() -> asyncio.Task[Any]:
        task = asyncio.ensure_future(service.append_message(context.session_id, "user", content))
        await asyncio.sleep(0.3)  # the append has begun and waits on the lock
        assert not task.done(), "the append did not wait on the lock"
        task.cancel()
        await asyncio.sleep(0.1)
        assert not task.done(), "the cancellation abandoned the write half-way"
        return task

    context.cancelled_task = _run(context, start_and_cancel())


@when("the other connection lets go of the lock")
def step_release_lock(context: Context) -> None:
    _engine, _connection, transaction = context.lock_holder
    releaser = threading.Timer(0.1, transaction.commit)
    releaser.start()

    async def outcome() -> BaseException | None:
        try:
            await context.cancelled_task
        except asyncio.CancelledError as exc:
            return exc
        return None

    context.outcome = _run(context, outcome())
    releaser.join()


@then("the cancelled task ends with CancelledError")
def step_cancelled(context: Context) -> None:
    assert isinstance(context.outcome, asyncio.CancelledError), context.outcome


@then('the session holds {count:d} messages, the last one "{content}"')
def step_holds_last(context: Context, count: int, content: str) -> None:
    messages = context.service.get_messages(context.session_id)
    assert len(messages) == count, [m.content for m in messages]
    assert messages[-1].content == content and messages[-1].sequence == count


# --- retries ----------------------------------------------------------------------------------


@when("the next commit's acknowledgement is lost while I await an append beside a ticking task")
def step_lost_ack_with_ticker(context: Context) -> None:
    service: AsyncPersistentSessionService = context.async_service
    engine = service._service._store.engine  # the asyncio engine's synchronous core

    async def append_beside_ticker() -> int:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                await asyncio.sleep(0.005)
                ticks += 1

        ticking = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        before = ticks
        with lose_commit_acknowledgements(engine, times=1) as lost:
            await service.append_message(context.session_id, "assistant", "written once")
        during = ticks - before
        stop.set()
        await ticking
        assert lost.broken == 1, lost
        return during

    context.ticks_during_append = _run(context, append_beside_ticker())


@then("the ticking task kept running while the append waited to retry")
def step_ticker_ran(context: Context) -> None:
    # A back-off of at least 200 ms that blocked the loop would leave the ticker at 0 or 1.
    assert context.ticks_during_append >= 10, context.ticks_during_append


# --- opening ----------------------------------------------------------------------------------


@when("I open an async service on a new, unmigrated database")
def step_open_unmigrated(context: Context) -> None:
    url = context.provision_database()
    _attempt(context, lambda: AsyncPersistentSessionService.from_url(url))


@when('I open an async service on "{url}"')
def step_open_url(context: Context, url: str) -> None:
    _attempt(context, lambda: AsyncPersistentSessionService.from_url(url))


# --- the how-to -------------------------------------------------------------------------------


@when('I run the Python example of "{path}" on a new database')
def step_run_example(context: Context, path: str) -> None:
    context.example_output, context.expected_output = run_example(
        ROOT / path, context.provision_database()
    )


@then("it prints what the how-to says it prints")
def step_example_output(context: Context) -> None:
    assert context.example_output == context.expected_output, context.example_output
