"""The OpenAI Agents SDK adapter: the SDK's ``Session`` protocol over the async service.

Every test runs on the backend of the run (``AGENT_SESSIONS_TEST_BACKEND``), in the module's
fresh database; each uses SDK session ids of its own.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from agents import (
    Agent,
    Model,
    ModelResponse,
    RunConfig,
    Runner,
    Usage,
    function_tool,
)
from agents.memory import Session as SdkSession
from agents.memory import SessionSettings
from openai.types.responses import (
    EasyInputMessageParam,
    ResponseFunctionToolCall,
    ResponseInputTextParam,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseReasoningItem,
)
from openai.types.responses.response_input_item_param import FunctionCallOutput, Message
from openai.types.responses.response_reasoning_item import Summary

from agent_sessions import (
    AsyncPersistentSessionService,
    InvalidInputError,
    MessageRole,
    Session,
    SessionNotFoundError,
)
from agent_sessions.integrations.openai_agents import (
    DEFAULT_ACTOR_NAME,
    AgentSessionsSession,
    role_of_item,
)
from testsupport.howto import run_example_here

ROOT = Path(__file__).resolve().parents[2]
HOW_TO = ROOT / "docs" / "how-to" / "openai-agents.md"


@pytest_asyncio.fixture(scope="module")
async def service(database_url: str) -> AsyncIterator[AsyncPersistentSessionService]:
    async with await AsyncPersistentSessionService.from_url(database_url) as opened:
        yield opened


def new_id() -> str:
    """Return an SDK session id that no other test uses."""
    return f"sdk-{uuid.uuid4().hex}"


def user(text: str) -> dict[str, Any]:
    return dict(EasyInputMessageParam(role="user", content=text))


# --- items of every shape the SDK sends, with the role and content each is stored with ------


def _output_items() -> list[dict[str, Any]]:
    """Items as the SDK makes them from a model's output (``ModelResponse.to_input_items``)."""
    response = ModelResponse(
        output=[
            ResponseReasoningItem(
                id="rs_1",
                type="reasoning",
                summary=[Summary(type="summary_text", text="Need Zürich's time zone.")],
                encrypted_content="gAAAAB-opaque",
            ),
            ResponseFunctionToolCall(
                type="function_call",
                id="fc_1",
                call_id="call_1",
                name="get_time",
                arguments='{"city": "Zürich"}',
            ),
            ResponseOutputMessage(
                id="msg_1",
                type="message",
                role="assistant",
                status="completed",
                content=[ResponseOutputText(type="output_text", text="مرحبا 👋", annotations=[])],
            ),
        ],
        usage=Usage(),
        response_id=None,
    )
    return [dict(item) for item in response.to_input_items()]


def varied_items() -> list[tuple[dict[str, Any], MessageRole, str]]:
    """Return (item, role stored, content stored) for a wide range of real item shapes."""
    reasoning, function_call, reply = _output_items()
    image = {"type": "input_image", "image_url": "https://example.com/chart.png", "detail": "auto"}
    return [
        (user("Wie spät ist es in Zürich? 🕰️"), MessageRole.USER, "Wie spät ist es in Zürich? 🕰️"),
        (
            dict(
                Message(
                    type="message",
                    role="developer",
                    content=[ResponseInputTextParam(type="input_text", text="Antworte kurz.")],
                )
            ),
            MessageRole.SYSTEM,
            "Antworte kurz.",
        ),
        (
            dict(EasyInputMessageParam(type="message", role="system", content="你是一个助手。")),
            MessageRole.SYSTEM,
            "你是一个助手。",
        ),
        (
            {
                "role": "user",
                "content": [{"type": "input_text", "text": "Что на графике?"}, image],
            },
            MessageRole.USER,
            "Что на графике?\n[input_image]",
        ),
        (reasoning, MessageRole.ASSISTANT, "Need Zürich's time zone."),
        (
            {"type": "reasoning", "id": "rs_2", "summary": [], "content": []},
            MessageRole.ASSISTANT,
            "[reasoning]",
        ),
        (function_call, MessageRole.ASSISTANT, 'get_time({"city": "Zürich"})'),
        (
            dict(
                FunctionCallOutput(
                    type="function_call_output", call_id="call_1", output="14:05 — ☀️, 3.5 °C"
                )
            ),
            MessageRole.TOOL,
            "14:05 — ☀️, 3.5 °C",
        ),
        (reply, MessageRole.ASSISTANT, "مرحبا 👋"),
        (
            {
                "type": "message",
                "role": "assistant",
                "id": "msg_2",
                "status": "completed",
                "content": [{"type": "refusal", "refusal": "I can't share that."}],
            },
            MessageRole.ASSISTANT,
            "I can't share that.",
        ),
        (
            {
                "type": "function_call_output",
                "call_id": "call_2",
                "output": [{"type": "input_text", "text": "the chart:"}, image],
            },
            MessageRole.TOOL,
            "the chart:\n[input_image]",
        ),
        (
            {
                "type": "custom_tool_call",
                "call_id": "call_3",
                "name": "run_sql",
                "input": "SELECT 1",
            },
            MessageRole.ASSISTANT,
            "run_sql(SELECT 1)",
        ),
        (
            {"type": "custom_tool_call_output", "call_id": "c3", "output": "1"},
            MessageRole.TOOL,
            "1",
        ),
        (
            {
                "type": "computer_call_output",
                "call_id": "call_4",
                "output": {"type": "computer_screenshot", "image_url": "https://example.com/s.png"},
            },
            MessageRole.TOOL,
            "[computer_call_output]",
        ),
        (
            {
                "type": "local_shell_call",
                "id": "lsh_1",
                "call_id": "call_5",
                "status": "completed",
                "action": {"type": "exec", "command": ["ls", "-la"], "env": {}, "timeout_ms": 1500},
            },
            MessageRole.ASSISTANT,
            "[local_shell_call]",
        ),
        (
            {"type": "local_shell_call_output", "id": "call_5", "output": "total 0\n"},
            MessageRole.TOOL,
            "total 0\n",
        ),
        (
            {
                "type": "mcp_approval_request",
                "id": "mcpr_1",
                "name": "delete_repo",
                "arguments": "{}",
                "server_label": "github",
            },
            MessageRole.ASSISTANT,
            "delete_repo({})",
        ),
        (
            {
                "type": "mcp_approval_response",
                "approval_request_id": "mcpr_1",
                "approve": False,
                "reason": None,
            },
            MessageRole.USER,
            "[mcp_approval_response]",
        ),
        (
            {
                "type": "mcp_call",
                "id": "mcp_1",
                "name": "search",
                "arguments": '{"q": "x"}',
                "server_label": "docs",
                "output": "3 hits",
            },
            MessageRole.ASSISTANT,
            "3 hits",
        ),
        ({"type": "item_reference", "id": "msg_0"}, MessageRole.ASSISTANT, "[item_reference]"),
        (
            {"type": "function_call_output", "call_id": "call_6", "output": [image]},
            MessageRole.TOOL,
            "[input_image]",
        ),
        (
            {"role": "user", "content": ["a bare string", {"type": "input_file", "file_id": "f1"}]},
            MessageRole.USER,
            "[part]\n[input_file]",
        ),
        (
            {"type": "web_search_call", "id": "ws_1", "status": "completed", "weight": 0.25},
            MessageRole.ASSISTANT,
            "[web_search_call]",
        ),
    ]


# --- the protocol -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_it_satisfies_the_sdk_session_protocol(
    service: AsyncPersistentSessionService,
) -> None:
    session = AgentSessionsSession("conversation-1", service)

    assert isinstance(session, SdkSession)
    assert session.session_id == "conversation-1"
    assert session.actor_name == DEFAULT_ACTOR_NAME == "openai-agents"
    assert session.session_settings == SessionSettings()
    assert "conversation-1" in repr(session)


@pytest.mark.asyncio
async def test_every_item_shape_reads_back_equal(service: AsyncPersistentSessionService) -> None:
    session = AgentSessionsSession(new_id(), service)
    items = [item for item, _, _ in varied_items()]

    await session.add_items(copy.deepcopy(items))

    assert await session.get_items() == items
    assert await session.get_items(len(items)) == items


@pytest.mark.asyncio
async def test_each_item_gets_its_role_and_readable_content(
    service: AsyncPersistentSessionService,
) -> None:
    session = AgentSessionsSession(new_id(), service)
    cases = varied_items()

    await session.add_items([item for item, _, _ in cases])

    stored = await session.stored_session()
    assert stored is not None and stored.external_id == session.session_id
    assert stored.actor_name == "openai-agents"
    messages = await service.get_messages(stored.id)
    assert [(m.role, m.content) for m in messages] == [(role, text) for _, role, text in cases]
    assert [m.sequence for m in messages] == list(range(1, len(cases) + 1))


@pytest.mark.asyncio
async def test_an_item_text_is_stored_once_in_the_content(
    service: AsyncPersistentSessionService,
) -> None:
    session = AgentSessionsSession(new_id(), service)
    output = "line\n" * 100_000  # 500 KB: over the metadata limit, far under the content limit
    item = {"type": "function_call_output", "call_id": "call_1", "output": output}

    await session.add_items([item])

    assert await session.get_items() == [item]
    stored = await session.stored_session()
    assert stored is not None
    (message,) = await service.get_messages(stored.id)
    assert message.content == output
    assert message.metadata["openai_agents"]["text_at"] == ["output"]
    assert message.metadata["openai_agents"]["item"]["output"] is None


def test_roles_of_items_without_a_known_role_or_type() -> None:
    assert role_of_item({"role": "critic", "content": "?"}) is MessageRole.ASSISTANT
    assert role_of_item({"type": "tool_search_output"}) is MessageRole.TOOL
    assert role_of_item({"content": "no type, no role"}) is MessageRole.ASSISTANT


@pytest.mark.asyncio
async def test_messages_other_code_appended_read_as_plain_messages(
    service: AsyncPersistentSessionService,
) -> None:
    session = AgentSessionsSession(new_id(), service)
    await session.add_items([user("hello")])
    stored = await session.stored_session()
    assert stored is not None

    for role in ("system", "assistant", "tool"):
        await service.append_message(stored.id, role, f"a {role} note")

    assert await session.get_items() == [
        user("hello"),
        {"role": "system", "content": "a system note"},
        {"role": "assistant", "content": "a assistant note"},
        {"role": "user", "content": "a tool note"},
    ]


# --- reading, popping, clearing -----------------------------------------------------------------


@pytest.mark.asyncio
async def test_get_items_returns_the_newest_limit_items_in_order(
    service: AsyncPersistentSessionService,
) -> None:
    session = AgentSessionsSession(new_id(), service)
    items = [user(f"message {n}") for n in range(1, 6)]
    await session.add_items(items)

    assert await session.get_items(0) == []
    assert await session.get_items(1) == items[-1:]
    assert await session.get_items(3) == items[2:]
    assert await session.get_items(5) == items
    assert await session.get_items(50) == items
    assert await session.get_items(100_001) == items  # past one query's cap: read in full
    assert await session.get_items(None) == items


@pytest.mark.asyncio
async def test_get_items_cut_at_a_tool_result_still_returns_exactly_limit(
    service: AsyncPersistentSessionService,
) -> None:
    session = AgentSessionsSession(new_id(), service)
    call = {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"}
    outputs = [
        {"type": "function_call_output", "call_id": "c1", "output": f"result {n}"}
        for n in range(1, 4)
    ]
    items = [user("look it up"), call, *outputs]
    await session.add_items(items)
    stored = await session.stored_session()
    assert stored is not None
    # The service's window reaches back to the call; the SDK's contract is the newest two.
    assert len(await service.recent_messages(stored.id, 2)) == 4

    assert await session.get_items(2) == outputs[-2:]
    assert await session.get_items(3) == outputs
    assert await session.get_items(4) == [call, *outputs]


@pytest.mark.asyncio
async def test_session_settings_limit_applies_when_no_limit_is_given(
    service: AsyncPersistentSessionService,
) -> None:
    sdk_id = new_id()
    items = [user(f"message {n}") for n in range(1, 6)]
    await AgentSessionsSession(sdk_id, service).add_items(items)

    limited = AgentSessionsSession(sdk_id, service, session_settings=SessionSettings(limit=2))
    from_dict = AgentSessionsSession(sdk_id, service, session_settings={"limit": 3})

    assert await limited.get_items() == items[-2:]
    assert await limited.get_items(4) == items[-4:]
    assert await from_dict.get_items() == items[-3:]


@pytest.mark.asyncio
async def test_pop_item_removes_and_returns_the_newest(
    service: AsyncPersistentSessionService,
) -> None:
    session = AgentSessionsSession(new_id(), service)
    first, second = (item for item, _, _ in varied_items()[6:8])  # a call and its output
    await session.add_items([first, second])

    assert await session.pop_item() == second
    assert await session.get_items() == [first]
    await session.add_items([user("again")])
    stored = await session.stored_session()
    assert stored is not None
    assert [m.sequence for m in await service.get_messages(stored.id)] == [1, 2]

    assert await session.pop_item() == user("again")
    assert await session.pop_item() == first
    assert await session.pop_item() is None
    assert await session.get_items() == []


@pytest.mark.asyncio
async def test_clear_session_deletes_the_stored_session(
    service: AsyncPersistentSessionService,
) -> None:
    session = AgentSessionsSession(new_id(), service)
    await session.add_items([user("first conversation")])
    await session.record_usage(Usage(requests=1, input_tokens=10, output_tokens=2))
    before = await session.stored_session()
    assert before is not None

    await session.clear_session()

    assert await session.stored_session() is None
    assert await session.get_items() == []
    with pytest.raises(SessionNotFoundError):
        await service.get(before.id)
    await session.clear_session()  # nothing left: does nothing

    await session.add_items([user("second conversation")])
    after = await session.stored_session()
    assert after is not None and after.id != before.id
    assert (after.prompt_tokens, after.completion_tokens) == (0, 0)
    assert await session.get_items() == [user("second conversation")]


@pytest.mark.asyncio
async def test_an_unwritten_session_is_empty_and_reading_does_not_create_it(
    service: AsyncPersistentSessionService,
) -> None:
    session = AgentSessionsSession(new_id(), service)

    assert await session.get_items() == []
    assert await session.get_items(3) == []
    assert await session.pop_item() is None
    await session.clear_session()
    await session.add_items([])

    assert await session.stored_session() is None
    assert await service.get_by_external_id("openai-agents", session.session_id) is None


@pytest.mark.asyncio
async def test_sdk_session_ids_and_actors_are_isolated(
    service: AsyncPersistentSessionService,
) -> None:
    sdk_id = new_id()
    alice = AgentSessionsSession(sdk_id, service)
    bob = AgentSessionsSession(new_id(), service)
    other_actor = AgentSessionsSession(sdk_id, service, actor_name="another-app")

    await alice.add_items([user("alice")])
    await bob.add_items([user("bob")])
    await other_actor.add_items([user("another app")])
    await bob.pop_item()

    assert await alice.get_items() == [user("alice")]
    assert await bob.get_items() == []
    assert await other_actor.get_items() == [user("another app")]
    await other_actor.clear_session()
    assert await alice.get_items() == [user("alice")]


# --- concurrency and sessions deleted under an object ------------------------------------------


@pytest.mark.asyncio
async def test_concurrent_batches_stay_whole(service: AsyncPersistentSessionService) -> None:
    sdk_id = new_id()
    writers = [AgentSessionsSession(sdk_id, service) for _ in range(5)]
    batches = [[user(f"writer {w} item {i}") for i in range(4)] for w in range(5)]

    await asyncio.gather(*(w.add_items(b) for w, b in zip(writers, batches, strict=True)))

    items = await writers[0].get_items()
    assert len(items) == 20
    chunks = [items[start : start + 4] for start in range(0, 20, 4)]
    assert sorted(chunks, key=lambda chunk: chunk[0]["content"]) == batches
    stored = await writers[0].stored_session()
    assert stored is not None and stored.message_count == 20

    popped = await asyncio.gather(*(w.pop_item() for w in writers))
    assert sorted(p["content"] for p in popped if p is not None) == sorted(
        item["content"] for item in items[-5:]
    )
    assert await writers[0].get_items() == items[:-5]


@pytest.mark.asyncio
async def test_an_object_follows_when_another_clears_its_session(
    service: AsyncPersistentSessionService,
) -> None:
    sdk_id = new_id()
    mine = AgentSessionsSession(sdk_id, service)
    theirs = AgentSessionsSession(sdk_id, service)

    await mine.add_items([user("one")])
    await theirs.clear_session()
    assert await mine.get_items() == []

    await mine.add_items([user("two")])
    await theirs.clear_session()
    await mine.add_items([user("three")])

    assert await mine.get_items() == [user("three")]
    assert await theirs.get_items() == [user("three")]


class DeletingService(AsyncPersistentSessionService):
    """A service whose sessions vanish right after ``get_or_create`` returns them."""

    async def get_or_create(self, actor_name: str, external_id: str, **kwargs: Any) -> Session:
        session: Session = await super().get_or_create(actor_name, external_id, **kwargs)
        await self.delete(session.id)
        return session


@pytest.mark.asyncio
async def test_a_session_deleted_under_every_write_gives_up(database_url: str) -> None:
    async with await DeletingService.from_url(database_url) as deleting:
        session = AgentSessionsSession(new_id(), deleting)

        with pytest.raises(SessionNotFoundError):
            await session.add_items([user("lost")])


# --- token usage ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_record_usage_adds_to_the_token_counters(
    service: AsyncPersistentSessionService,
) -> None:
    session = AgentSessionsSession(new_id(), service)

    first = await session.record_usage(Usage(requests=1, input_tokens=120, output_tokens=30))
    again = await session.record_usage(
        Usage(requests=1, input_tokens=7, output_tokens=3), idempotency_key="resp_1"
    )
    repeated = await session.record_usage(
        Usage(requests=1, input_tokens=7, output_tokens=3), idempotency_key="resp_1"
    )

    assert (first.prompt_tokens, first.completion_tokens) == (120, 30)
    assert (again.prompt_tokens, again.completion_tokens) == (127, 33)
    assert repeated.total_tokens == 160
    assert first.external_id == session.session_id


# --- bad input --------------------------------------------------------------------------------


class Opaque:
    pass


@pytest.mark.parametrize(
    ("limit", "reason"),
    [
        (-1, "must be 0 or more, got -1"),
        ("3", "must be an integer or None, got str"),
        (2.0, "must be an integer or None, got float"),
        (True, "must be an integer or None, got bool"),
    ],
)
@pytest.mark.asyncio
async def test_a_bad_limit_is_refused(
    service: AsyncPersistentSessionService, limit: Any, reason: str
) -> None:
    session = AgentSessionsSession(new_id(), service)

    with pytest.raises(InvalidInputError) as raised:
        await session.get_items(limit)

    assert (raised.value.argument, raised.value.reason) == ("limit", reason)


@pytest.mark.asyncio
async def test_a_bad_settings_limit_is_refused_by_name(
    service: AsyncPersistentSessionService,
) -> None:
    session = AgentSessionsSession(new_id(), service, session_settings=SessionSettings(limit=-2))

    with pytest.raises(InvalidInputError) as raised:
        await session.get_items()

    assert raised.value.argument == "session_settings.limit"


@pytest.mark.parametrize(
    ("items", "argument", "reason"),
    [
        ("hello", "items", "must be a list of dicts, got str"),
        ({"role": "user", "content": "hi"}, "items", "must be a list of dicts, got dict"),
        ([user("fine"), "hello"], "items[1]", "must be a dict, got str"),
        ([user("fine"), None], "items[1]", "must be a dict, got NoneType"),
        ([{"role": "user", "content": {"a", "b"}}], "items[0]", "is not JSON-serialisable"),
        ([{"role": "user", "content": "x", "o": Opaque()}], "items[0]", "is not JSON-serialisable"),
        ([{"role": "user", "content": "x", "score": math.nan}], "items[0]", "is not JSON"),
        ([{"role": "user", "content": ("a", "b")}], "items[0]", "would not read back equal"),
        ([{"role": "user", "content": "x", 1: "one"}], "items[0]", "would not read back equal"),
        ([user("a\x00b")], "items[0]", "its text contains a NUL character"),
        (
            [{"type": "function_call", "name": "f", "call_id": "c\x00"}],
            "items[0]",
            "item['call_id'] contains a NUL",
        ),
        ([{"type": "x", "n": 2**60}], "items[0]", "item['n'] is 1152921504606846976, outside"),
        ([user("é" * 4_000_000)], "items[0]", "its text is 8000000 bytes of UTF-8"),
        ([{"type": "x", "blob": "b" * 300_000}], "items[0]", "its stored form is 30"),
        ([{"type": "x", "k\x00": 1}], "items[0]", "a key of item contains a NUL"),
    ],
)
@pytest.mark.asyncio
async def test_bad_items_are_refused_and_nothing_is_written(
    service: AsyncPersistentSessionService, items: Any, argument: str, reason: str
) -> None:
    session = AgentSessionsSession(new_id(), service)

    with pytest.raises(InvalidInputError) as raised:
        await session.add_items(items)

    assert raised.value.argument == argument
    assert raised.value.reason.startswith(reason), raised.value.reason
    assert await session.stored_session() is None


@pytest.mark.asyncio
async def test_a_bad_item_keeps_its_whole_batch_out(
    service: AsyncPersistentSessionService,
) -> None:
    session = AgentSessionsSession(new_id(), service)
    await session.add_items([user("kept")])

    with pytest.raises(InvalidInputError):
        await session.add_items([user("one"), user("two"), {"role": "user", "content": {1}}])

    assert await session.get_items() == [user("kept")]


@pytest.mark.parametrize(
    ("session_id", "options", "argument"),
    [
        ("", {}, "session_id"),
        ("   ", {}, "session_id"),
        ("x" * 256, {}, "session_id"),
        (None, {}, "session_id"),
        (42, {}, "session_id"),
        ("fine", {"actor_name": ""}, "actor_name"),
        ("fine", {"actor_name": "a" * 256}, "actor_name"),
        ("fine", {"use_context_messages": 1}, "use_context_messages"),
        ("fine", {"summary_role": "narrator"}, "summary_role"),
        ("fine", {"owner_id": " "}, "owner_id"),
        ("fine", {"owner_id": "o" * 256}, "owner_id"),
        ("fine", {"owner_id": 7}, "owner_id"),
    ],
)
@pytest.mark.asyncio
async def test_bad_constructor_arguments_are_refused(
    service: AsyncPersistentSessionService, session_id: Any, options: Any, argument: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        AgentSessionsSession(session_id, service, **options)

    assert raised.value.argument == argument


def test_a_service_that_is_not_one_is_refused() -> None:
    with pytest.raises(InvalidInputError) as raised:
        AgentSessionsSession("fine", "sqlite:///agent_sessions.db")  # type: ignore[arg-type]

    assert raised.value.argument == "service"


@pytest.mark.parametrize(
    ("usage", "options", "argument"),
    [
        ({"input_tokens": 1}, {}, "usage"),
        (None, {}, "usage"),
        (Usage(input_tokens=-1), {}, "usage.input_tokens"),
        (Usage(output_tokens=-5), {}, "usage.output_tokens"),
        (Usage(input_tokens=1), {"idempotency_key": " "}, "idempotency_key"),
    ],
)
@pytest.mark.asyncio
async def test_bad_usage_is_refused_and_nothing_is_written(
    service: AsyncPersistentSessionService, usage: Any, options: Any, argument: str
) -> None:
    session = AgentSessionsSession(new_id(), service)

    with pytest.raises(InvalidInputError) as raised:
        await session.record_usage(usage, **options)

    assert raised.value.argument == argument
    assert await session.stored_session() is None


# --- the owner -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_first_write_creates_the_session_with_the_owner_given(
    service: AsyncPersistentSessionService,
) -> None:
    sdk_id = new_id()
    session = AgentSessionsSession(sdk_id, service, owner_id="customer-42")
    assert session.owner_id == "customer-42"

    await session.add_items([user("Hi")])

    stored = await session.stored_session()
    assert stored is not None
    assert stored.owner_id == "customer-42"
    listed = await service.list(owner_id="customer-42", external_id=sdk_id)
    assert [found.id for found in listed] == [stored.id]


@pytest.mark.asyncio
async def test_a_stored_session_that_exists_keeps_its_owner(
    service: AsyncPersistentSessionService,
) -> None:
    sdk_id = new_id()
    await service.create(DEFAULT_ACTOR_NAME, external_id=sdk_id, owner_id="first-owner")

    session = AgentSessionsSession(sdk_id, service, owner_id="second-owner")
    await session.add_items([user("Hi")])

    stored = await session.stored_session()
    assert stored is not None
    assert stored.owner_id == "first-owner"


@pytest.mark.asyncio
async def test_from_url_refuses_a_bad_owner_before_opening_the_database(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def never(*_args: Any, **_options: Any) -> AsyncPersistentSessionService:
        raise AssertionError("the database was opened")

    monkeypatch.setattr(AsyncPersistentSessionService, "from_url", never)
    with pytest.raises(InvalidInputError) as raised:
        await AgentSessionsSession.from_url(new_id(), database_url, owner_id="")

    assert raised.value.argument == "owner_id"


# --- opening and closing ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_from_url_owns_its_service_and_closes_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[AsyncPersistentSessionService] = []
    close = AsyncPersistentSessionService.close

    async def recording_close(self: AsyncPersistentSessionService) -> None:
        closed.append(self)
        await close(self)

    monkeypatch.setattr(AsyncPersistentSessionService, "close", recording_close)
    sdk_id = new_id()

    async with await AgentSessionsSession.from_url(
        sdk_id, database_url, actor_name="my-app", session_settings={"limit": 1}
    ) as session:
        await session.add_items([user("one"), user("two")])
        assert await session.get_items() == [user("two")]
        assert len(closed) == 0
    assert len(closed) == 1

    async with await AsyncPersistentSessionService.from_url(database_url) as service:
        async with AgentSessionsSession(sdk_id, service, actor_name="my-app") as borrowed:
            assert await borrowed.get_items() == [user("one"), user("two")]
        assert len(closed) == 1  # a caller's service stays open
    assert len(closed) == 2

    with pytest.raises(InvalidInputError):
        await AgentSessionsSession.from_url("", database_url)
    assert len(closed) == 3  # the service it opened is closed again


# --- the proof: the SDK's own Runner, two turns, one session ----------------------------------


class ScriptedModel(Model):
    """A model that answers from a script and keeps every input it was given."""

    def __init__(self, *replies: ModelResponse) -> None:
        self.replies = list(replies)
        self.inputs: list[list[dict[str, Any]]] = []

    async def get_response(
        self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
    ) -> ModelResponse:
        assert isinstance(input, list)
        self.inputs.append(copy.deepcopy(input))
        return self.replies.pop(0)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


def says(text: str, *, item_id: str, input_tokens: int, output_tokens: int) -> ModelResponse:
    message = ResponseOutputMessage(
        id=item_id,
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )
    usage = Usage(requests=1, input_tokens=input_tokens, output_tokens=output_tokens)
    return ModelResponse(output=[message], usage=usage, response_id=None)


def calls_get_weather(city: str) -> ModelResponse:
    call = ResponseFunctionToolCall(
        type="function_call",
        id="fc_1",
        call_id="call_1",
        name="get_weather",
        arguments=f'{{"city": "{city}"}}',
    )
    usage = Usage(requests=1, input_tokens=50, output_tokens=12)
    return ModelResponse(output=[call], usage=usage, response_id=None)


@function_tool
def get_weather(city: str) -> str:
    """Return the weather in a city."""
    return f"Sunny and 21 °C in {city}."


@pytest.mark.asyncio
async def test_the_sdk_runner_sees_the_first_turn_in_the_second(
    service: AsyncPersistentSessionService,
) -> None:
    model = ScriptedModel(
        calls_get_weather("Kraków"),
        says("It is sunny in Kraków.", item_id="msg_1", input_tokens=80, output_tokens=9),
        says("You asked about Kraków.", item_id="msg_2", input_tokens=120, output_tokens=7),
    )
    agent = Agent(name="Weather", instructions="Be brief.", model=model, tools=[get_weather])
    session = AgentSessionsSession(new_id(), service)
    config = RunConfig(tracing_disabled=True)

    first = await Runner.run(agent, "Weather in Kraków?", session=session, run_config=config)
    await session.record_usage(first)
    second = await Runner.run(agent, "Which city was it?", session=session, run_config=config)
    await session.record_usage(second, idempotency_key="turn-2")

    assert (first.final_output, second.final_output) == (
        "It is sunny in Kraków.",
        "You asked about Kraków.",
    )
    history = await session.get_items()
    second_turn_input = model.inputs[2]
    assert second_turn_input == history[:5]
    assert second_turn_input[0] == user("Weather in Kraków?")
    assert second_turn_input[1]["type"] == "function_call"
    assert second_turn_input[2] == {
        "type": "function_call_output",
        "call_id": "call_1",
        "output": "Sunny and 21 °C in Kraków.",
    }
    assert second_turn_input[3]["content"][0]["text"] == "It is sunny in Kraków."
    assert second_turn_input[4] == user("Which city was it?")

    stored = await session.stored_session()
    assert stored is not None
    messages = await service.get_messages(stored.id)
    assert [m.role.value for m in messages] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]
    assert (stored.prompt_tokens, stored.completion_tokens) == (50 + 80 + 120, 12 + 9 + 7)


# --- rewinds and compactions: what the next run's model is sent --------------------------------


class WeatherTurns:
    """An agent with a scripted model, and two turns of it run in an SDK session."""

    def __init__(self) -> None:
        self.model = ScriptedModel(
            says("Sunny in Kraków.", item_id="msg_1", input_tokens=20, output_tokens=4),
            says("Rain in Gdańsk.", item_id="msg_2", input_tokens=30, output_tokens=4),
            says("You asked about Kraków.", item_id="msg_3", input_tokens=25, output_tokens=5),
        )
        self.agent = Agent(name="Weather", instructions="Be brief.", model=self.model)
        self.config = RunConfig(tracing_disabled=True)

    async def run(self, question: str, session: AgentSessionsSession) -> Any:
        return await Runner.run(self.agent, question, session=session, run_config=self.config)

    async def two_turns(self, session: AgentSessionsSession) -> tuple[list[Any], Session]:
        """Ask about Kraków, then Gdańsk; return the first turn's items and the stored session."""
        await self.run("Weather in Kraków?", session)
        first_turn = await session.get_items()
        await self.run("And in Gdańsk?", session)
        stored = await session.stored_session()
        assert stored is not None
        return first_turn, stored


@pytest.mark.asyncio
async def test_the_sdk_runner_no_longer_sees_a_turn_the_caller_rewound(
    service: AsyncPersistentSessionService,
) -> None:
    turns = WeatherTurns()
    session = AgentSessionsSession(new_id(), service)
    first_turn, stored = await turns.two_turns(session)

    rewind = await service.rewind(stored.id, len(first_turn), reason="wrong city")
    third = await turns.run("Which city did I ask about?", session)

    assert rewind is not None
    assert third.final_output == "You asked about Kraków."
    assert "Gdańsk" in json.dumps(turns.model.inputs[1], ensure_ascii=False)
    assert turns.model.inputs[2] == [*first_turn, user("Which city did I ask about?")]
    assert "Gdańsk" not in json.dumps(turns.model.inputs[2], ensure_ascii=False)
    transcript = await service.get_messages(stored.id, include_rewound=True)
    assert [m.rewound_by for m in transcript] == [None, None, rewind.id, rewind.id, None, None]


@pytest.mark.asyncio
async def test_with_context_messages_the_runner_starts_from_the_summary(
    service: AsyncPersistentSessionService,
) -> None:
    turns = WeatherTurns()
    writer = AgentSessionsSession(new_id(), service)
    first_turn, stored = await turns.two_turns(writer)
    second_turn = (await writer.get_items())[len(first_turn) :]

    await service.compact(stored.id, len(first_turn), "The user asked about Kraków: sunny.")
    reader = AgentSessionsSession(writer.session_id, service, use_context_messages=True)
    await turns.run("Which city did I ask about?", reader)

    assert turns.model.inputs[2] == [
        {"role": "system", "content": "The user asked about Kraków: sunny."},
        *second_turn,
        user("Which city did I ask about?"),
    ]
    assert len(await writer.get_items()) == 6  # the visible history keeps every item


@pytest.mark.asyncio
async def test_context_items_count_the_summary_as_one_of_the_limit(
    service: AsyncPersistentSessionService,
) -> None:
    session = AgentSessionsSession(
        new_id(), service, use_context_messages=True, summary_role="user"
    )
    items = [user(f"message {n}") for n in range(1, 6)]
    await session.add_items(items)
    stored = await session.stored_session()
    assert stored is not None
    await service.compact(stored.id, 3, "Three messages, summarised.")
    summary = {"role": "user", "content": "Three messages, summarised."}

    assert await session.get_items() == [summary, *items[3:]]
    assert await session.get_items(3) == [summary, *items[3:]]
    assert await session.get_items(2) == items[3:]
    assert await session.get_items(1) == items[4:]
    assert await session.get_items(100_001) == [summary, *items[3:]]
    assert await AgentSessionsSession(session.session_id, service).get_items() == items


@pytest.mark.asyncio
async def test_context_items_cut_at_a_tool_result_still_number_exactly_limit(
    service: AsyncPersistentSessionService,
) -> None:
    session = AgentSessionsSession(new_id(), service, use_context_messages=True)
    call = {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"}
    outputs = [
        {"type": "function_call_output", "call_id": "c1", "output": f"result {n}"}
        for n in range(1, 3)
    ]
    await session.add_items([user("hello"), user("look it up"), call, *outputs])
    stored = await session.stored_session()
    assert stored is not None
    await service.compact(stored.id, 1, "A greeting.")

    assert await session.get_items(1) == outputs[-1:]
    assert await session.get_items(4) == [user("look it up"), call, *outputs]
    assert (await session.get_items(5))[0] == {"role": "system", "content": "A greeting."}


# --- the how-to -------------------------------------------------------------------------------


def test_the_how_to_example_prints_what_it_says(database_url: str) -> None:
    printed, expected = run_example_here(HOW_TO, database_url)

    assert printed == expected
