"""The LangChain chat message history over agent-sessions, on the run's backend.

langchain-tests has no standard tests for chat message histories, so these port what LangChain
checks of its own ``InMemoryChatMessageHistory`` (empty, add, order, clear, isolation, the async
members) and add what a persistent store owes: every message type read back equal, the role
column, one transaction per batch, token usage, errors that write nothing, and
``RunnableWithMessageHistory`` over two turns.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import (
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    HumanMessageChunk,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables.history import RunnableWithMessageHistory

from agent_sessions import (
    AsyncPersistentSessionService,
    InvalidInputError,
    MessageRole,
    PersistentSessionService,
)
from agent_sessions.integrations.langchain import AgentSessionsChatMessageHistory
from testsupport.howto import run_example_here

ROOT = Path(__file__).resolve().parents[2]
HOW_TO = ROOT / "docs" / "how-to" / "langchain.md"

pytestmark = pytest.mark.filterwarnings(
    "ignore:RunnableWithMessageHistory is deprecated:DeprecationWarning"
)


class RecordingService(PersistentSessionService):
    """Records the service calls a history makes, and can clear the session before one of them.

    ``clear_before = "append_messages"`` deletes the session just before that call runs, as
    another process's ``clear`` would between the history's look-up and its write.
    """

    calls: list[str]
    clear_before: str | None

    def _before(self, name: str, session_id: str | None = None) -> None:
        self.calls = [*getattr(self, "calls", []), name]
        if getattr(self, "clear_before", None) == name and session_id is not None:
            self.clear_before = None
            self.delete(session_id)

    def get_by_external_id(self, actor_name, external_id):
        self._before("get_by_external_id")
        return super().get_by_external_id(actor_name, external_id)

    def get_or_create(self, actor_name, external_id, **options):
        self._before("get_or_create")
        return super().get_or_create(actor_name, external_id, **options)

    def get_messages(self, session_id, **options):
        self._before("get_messages", session_id)
        return super().get_messages(session_id, **options)

    def append_messages(self, session_id, messages):
        self._before("append_messages", session_id)
        return super().append_messages(session_id, messages)

    def update_token_usage(self, session_id, **usage):
        self._before("update_token_usage", session_id)
        return super().update_token_usage(session_id, **usage)

    def delete(self, session_id):
        self._before("delete", session_id)
        super().delete(session_id)


class ModelInputs(BaseCallbackHandler):
    """Keeps the messages each chat model call was given."""

    def __init__(self) -> None:
        self.calls: list[list[BaseMessage]] = []

    def on_chat_model_start(self, serialized, messages, **kwargs) -> None:
        self.calls.append(messages[0])


@pytest.fixture(scope="module")
def service(database_url: str):
    with RecordingService.from_url(database_url) as opened:
        yield opened


@pytest.fixture
def session_id() -> str:
    return f"lc-{uuid.uuid4().hex}"


@pytest.fixture
def history(service: RecordingService, session_id: str) -> AgentSessionsChatMessageHistory:
    return AgentSessionsChatMessageHistory(session_id, service)


def stored_session(service: PersistentSessionService, session_id: str, actor="langchain"):
    return service.get_by_external_id(actor, session_id)


def stored_messages(service: PersistentSessionService, session_id: str):
    return service.get_messages(stored_session(service, session_id).id)


def usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    total = input_tokens + output_tokens
    return {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": total}


EVERY_KIND = [
    pytest.param(HumanMessage("Hello", id="h-1", name="ada"), "user", "Hello", id="human"),
    pytest.param(
        AIMessage(
            "",
            id="run-1",
            name="helper",
            tool_calls=[{"name": "lookup", "args": {"city": "Paris", "days": 3}, "id": "call-1"}],
            invalid_tool_calls=[
                {"name": "lookup", "args": '{"city": ', "id": "call-2", "error": "bad JSON"}
            ],
            usage_metadata=usage(12, 7),
            response_metadata={"model_name": "gpt-x", "finish_reason": "tool_calls"},
            additional_kwargs={"refusal": None, "scores": [0.5, 1.25]},
        ),
        "assistant",
        "",
        id="ai-tool-calls",
    ),
    pytest.param(
        ToolMessage(
            "18 degrees",
            tool_call_id="call-1",
            status="error",
            artifact={"rows": [1, 2], "source": "meteo"},
            name="lookup",
        ),
        "tool",
        "18 degrees",
        id="tool",
    ),
    pytest.param(SystemMessage("Be brief."), "system", "Be brief.", id="system"),
    pytest.param(ChatMessage("Looks wrong.", role="critic"), "user", "Looks wrong.", id="chat"),
    pytest.param(ChatMessage("Done.", role="assistant"), "assistant", "Done.", id="chat-ai"),
    pytest.param(FunctionMessage('{"ok": true}', name="f"), "tool", '{"ok": true}', id="function"),
    pytest.param(
        HumanMessage(
            [
                {"type": "text", "text": "What is "},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "text", "text": "this?"},
            ]
        ),
        "user",
        "What is this?",
        id="multimodal",
    ),
    pytest.param(AIMessageChunk("Hel", id="run-2"), "assistant", "Hel", id="ai-chunk"),
    pytest.param(HumanMessageChunk("Hi"), "user", "Hi", id="human-chunk"),
]


# --- what LangChain checks of its in-memory history ----------------------------------------


def test_an_unknown_session_id_reads_as_an_empty_history_and_creates_nothing(
    history, service, session_id
):
    assert history.messages == []
    assert stored_session(service, session_id) is None


def test_added_user_and_ai_messages_read_back_in_order(history):
    history.add_user_message("Hello!")
    history.add_ai_message(AIMessage("Hi, how can I help?"))
    history.add_user_message(HumanMessage("Book a table."))
    history.add_ai_message("Done.")

    assert history.messages == [
        HumanMessage("Hello!"),
        AIMessage("Hi, how can I help?"),
        HumanMessage("Book a table."),
        AIMessage("Done."),
    ]
    assert str(history) == "Human: Hello!\nAI: Hi, how can I help?\nHuman: Book a table.\nAI: Done."


def test_add_messages_appends_a_batch_in_order_in_one_write(history, service, session_id):
    history.add_messages([SystemMessage("Be brief."), HumanMessage("One")])
    service.calls = []
    batch = [HumanMessage(str(n)) if n % 2 else AIMessage(str(n)) for n in range(50)]
    history.add_messages(batch)

    assert history.messages == [SystemMessage("Be brief."), HumanMessage("One"), *batch]
    assert service.calls.count("append_messages") == 1
    stored = stored_messages(service, session_id)
    assert [message.sequence for message in stored] == list(range(1, 53))


def test_adding_no_messages_writes_nothing(history, service, session_id):
    history.add_messages([])

    assert stored_session(service, session_id) is None


def test_clear_empties_the_history_and_the_next_add_starts_again(history, service, session_id):
    history.add_messages([HumanMessage("Hello"), AIMessage("Hi")])
    first = stored_session(service, session_id)

    history.clear()
    assert history.messages == []
    assert stored_session(service, session_id) is None

    history.clear()  # nothing left to clear: no error
    history.add_user_message("Again")
    assert history.messages == [HumanMessage("Again")]
    again = stored_session(service, session_id)
    assert again.id != first.id
    assert [message.sequence for message in stored_messages(service, session_id)] == [1]


def test_two_session_ids_and_two_actors_are_separate_histories(service, session_id):
    first = AgentSessionsChatMessageHistory(session_id, service)
    second = AgentSessionsChatMessageHistory(f"{session_id}-2", service)
    other_actor = AgentSessionsChatMessageHistory(session_id, service, actor_name="support-bot")
    first.add_user_message("for the first")
    second.add_user_message("for the second")
    other_actor.add_user_message("for the other actor")

    second.clear()

    assert first.messages == [HumanMessage("for the first")]
    assert second.messages == []
    assert other_actor.messages == [HumanMessage("for the other actor")]
    assert other_actor.session_id == session_id
    assert other_actor.actor_name == "support-bot"
    assert stored_session(service, session_id, actor="support-bot") is not None


# --- every message type, stored with its role and read back equal -------------------------


@pytest.mark.parametrize(("message", "role", "content"), EVERY_KIND)
def test_each_message_type_reads_back_equal_with_its_role_and_text(
    history, service, session_id, message, role, content
):
    history.add_messages([message])

    (read,) = history.messages
    assert read == message
    assert type(read) is type(message)
    (stored,) = stored_messages(service, session_id)
    assert (stored.role, stored.content) == (MessageRole(role), content)


def test_a_conversation_of_every_type_reads_back_equal(history):
    conversation = [message.values[0] for message in EVERY_KIND]
    history.add_messages(conversation)

    assert history.messages == conversation
    assert history.messages != list(reversed(conversation))


def test_a_string_content_larger_than_the_metadata_limit_reads_back(history):
    message = HumanMessage("x" * (300 * 1024), id="long")
    history.add_messages([message])

    assert history.messages == [message]


def test_messages_written_by_others_read_back_as_plain_messages(history, service, session_id):
    history.add_user_message("from LangChain")
    session = stored_session(service, session_id)
    service.append_messages(
        session.id,
        [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "usr", "metadata": {"source": "cli"}},
            {"role": "assistant", "content": "asst"},
            {"role": "tool", "content": "out"},
        ],
    )

    assert history.messages == [
        HumanMessage("from LangChain"),
        SystemMessage("sys"),
        HumanMessage("usr"),
        AIMessage("asst"),
        ChatMessage("out", role="tool"),
    ]


# --- token usage -----------------------------------------------------------------------------


def test_the_usage_of_ai_messages_adds_to_the_session_totals(history, service, session_id):
    history.add_messages([HumanMessage("Q1"), AIMessage("A1", usage_metadata=usage(10, 4))])
    history.add_messages(
        [
            HumanMessage("Q2"),
            AIMessage("A2a", usage_metadata=usage(20, 5)),
            AIMessage("A2b", usage_metadata=usage(1, 2)),
        ]
    )
    history.add_messages([HumanMessage("Q3"), AIMessage("A3")])  # no usage reported

    session = stored_session(service, session_id)
    assert (session.prompt_tokens, session.completion_tokens) == (31, 11)
    assert service.verify(session.id).ok


def test_usage_is_not_recorded_when_switched_off(service, session_id):
    history = AgentSessionsChatMessageHistory(session_id, service, record_token_usage=False)
    history.add_messages([AIMessage("A", usage_metadata=usage(10, 4))])

    assert stored_session(service, session_id).total_tokens == 0
    assert history.messages == [AIMessage("A", usage_metadata=usage(10, 4))]


# --- a clear by another process, between the history's calls --------------------------------


@pytest.mark.parametrize("step", ["get_messages", "delete"])
def test_a_concurrent_clear_reads_as_empty_and_clears_without_error(
    history, service, session_id, step
):
    history.add_messages([HumanMessage("Hello")])
    service.clear_before = step

    if step == "get_messages":
        assert history.messages == []
    else:
        history.clear()
    assert history.messages == []


def test_an_add_after_a_concurrent_clear_lands_in_the_new_session(history, service, session_id):
    history.add_messages([HumanMessage("old")])
    service.clear_before = "append_messages"

    history.add_messages([HumanMessage("new"), AIMessage("reply", usage_metadata=usage(3, 2))])

    assert history.messages == [HumanMessage("new"), AIMessage("reply", usage_metadata=usage(3, 2))]
    assert stored_session(service, session_id).total_tokens == 5


def test_a_clear_before_the_usage_is_recorded_loses_nothing_else(history, service, session_id):
    service.clear_before = "update_token_usage"

    history.add_messages([AIMessage("reply", usage_metadata=usage(3, 2))])

    assert history.messages == []


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "   ", "x" * 256, "a\x00b", None, 42])
def test_a_bad_session_id_is_refused_naming_it(service, bad):
    with pytest.raises(InvalidInputError) as caught:
        AgentSessionsChatMessageHistory(bad, service)
    assert caught.value.argument == "session_id"


def test_runnable_with_message_history_with_a_blank_session_id_names_it(service):
    chain = RunnableWithMessageHistory(
        FakeMessagesListChatModel(responses=[AIMessage("never")]),
        lambda session_id: AgentSessionsChatMessageHistory(session_id, service),
    )
    with pytest.raises(InvalidInputError, match="session_id"):
        chain.invoke([HumanMessage("hi")], config={"configurable": {"session_id": " "}})


def test_bad_constructor_arguments_are_refused_naming_them(service, database_url):
    cases = [
        (lambda: AgentSessionsChatMessageHistory("s", service, actor_name=""), "actor_name"),
        (lambda: AgentSessionsChatMessageHistory("s"), "service"),
        (lambda: AgentSessionsChatMessageHistory("s", database_url), "service"),
        (lambda: AgentSessionsChatMessageHistory("s", async_service=service), "async_service"),
        (lambda: AgentSessionsChatMessageHistory.from_url(" ", database_url), "session_id"),
        (
            lambda: AgentSessionsChatMessageHistory("s", service, use_context_messages="yes"),
            "use_context_messages",
        ),
        (
            lambda: AgentSessionsChatMessageHistory("s", service, summary_role="narrator"),
            "summary_role",
        ),
    ]
    for make, argument in cases:
        with pytest.raises(InvalidInputError) as caught:
            make()
        assert caught.value.argument == argument


@pytest.mark.parametrize(
    ("batch", "argument", "reason"),
    [
        ([HumanMessage("ok"), "not a message"], "messages[1]", "got str"),
        ([HumanMessage("ok"), {"role": "user", "content": "hi"}], "messages[1]", "got dict"),
        ([RemoveMessage(id="m-1")], "messages[0]", "'remove'"),
        ([ToolMessage("x", tool_call_id="c", artifact=object())], "messages[0].metadata", "object"),
        ([HumanMessage("a\x00b")], "messages[0].content", "NUL"),
        (
            [AIMessage("x", usage_metadata=usage(-1, 2))],
            "messages[0].usage_metadata.input_tokens",
            "",
        ),
        (HumanMessage("not in a list"), "messages", "HumanMessage"),
        ("hello", "messages", "str"),
    ],
)
def test_a_bad_batch_is_refused_naming_the_message_and_writes_nothing(
    history, service, session_id, batch, argument, reason
):
    history.add_user_message("kept")

    with pytest.raises(InvalidInputError) as caught:
        history.add_messages(batch)

    assert caught.value.argument == argument
    assert reason in caught.value.reason
    assert history.messages == [HumanMessage("kept")]
    assert stored_session(service, session_id).total_tokens == 0


# --- rewinds and compactions ------------------------------------------------------------------

FOUR = [HumanMessage("Lisbon?"), AIMessage("Sunny."), HumanMessage("Porto?"), AIMessage("Rain.")]


def test_the_history_leaves_out_what_a_rewind_hid(history, service, session_id):
    history.add_messages(FOUR)
    session = stored_session(service, session_id)

    service.rewind(session.id, 2, reason="wrong city")

    assert history.messages == FOUR[:2]
    history.add_user_message("Faro?")
    assert history.messages == [*FOUR[:2], HumanMessage("Faro?")]
    assert len(service.get_messages(session.id, include_rewound=True)) == 5


def test_with_context_messages_the_history_starts_from_the_summary(history, service, session_id):
    history.add_messages(FOUR)
    session = stored_session(service, session_id)
    service.compact(session.id, 2, "Lisbon was sunny.")

    context = AgentSessionsChatMessageHistory(session_id, service, use_context_messages=True)
    as_user = AgentSessionsChatMessageHistory(
        session_id, service, use_context_messages=True, summary_role="user"
    )

    assert context.messages == [SystemMessage("Lisbon was sunny."), *FOUR[2:]]
    assert as_user.messages == [HumanMessage("Lisbon was sunny."), *FOUR[2:]]
    assert history.messages == FOUR  # the default reads the whole visible history
    service.rewind(session.id, 1)  # hides the compaction with the messages it covered
    assert context.messages == FOUR[:1]


@pytest.mark.asyncio
async def test_the_async_members_read_the_context_too(database_url, service, session_id):
    AgentSessionsChatMessageHistory(session_id, service).add_messages(FOUR)
    service.compact(stored_session(service, session_id).id, 2, "Lisbon was sunny.")

    async with await AsyncPersistentSessionService.from_url(database_url) as async_service:
        history = AgentSessionsChatMessageHistory(
            session_id, async_service=async_service, use_context_messages=True
        )
        assert await history.aget_messages() == [SystemMessage("Lisbon was sunny."), *FOUR[2:]]


# --- the owner --------------------------------------------------------------------------------


def test_the_first_add_creates_the_session_with_the_owner_given(service, session_id):
    history = AgentSessionsChatMessageHistory(session_id, service, owner_id="customer-42")
    assert history.owner_id == "customer-42"
    history.add_user_message("Hi")
    assert stored_session(service, session_id).owner_id == "customer-42"
    assert [session.external_id for session in service.list(owner_id="customer-42")] == [session_id]


def test_a_session_that_exists_keeps_its_owner(service, session_id):
    service.create("langchain", external_id=session_id, owner_id="first-owner")
    history = AgentSessionsChatMessageHistory(session_id, service, owner_id="second-owner")
    history.add_user_message("Hi")
    assert stored_session(service, session_id).owner_id == "first-owner"


@pytest.mark.asyncio
async def test_the_async_members_give_the_owner_too(database_url, service, session_id):
    async with await AsyncPersistentSessionService.from_url(database_url) as async_service:
        history = AgentSessionsChatMessageHistory(
            session_id, async_service=async_service, owner_id="customer-7"
        )
        await history.aadd_messages([HumanMessage("Hi")])
    assert stored_session(service, session_id).owner_id == "customer-7"


@pytest.mark.parametrize("bad", ["", "   ", "x" * 256, 42])
def test_a_bad_owner_is_refused_naming_it_before_the_database_is_opened(
    service, database_url, monkeypatch, bad
):
    with pytest.raises(InvalidInputError) as caught:
        AgentSessionsChatMessageHistory("s", service, owner_id=bad)
    assert caught.value.argument == "owner_id"

    def never(*_args: Any, **_options: Any) -> PersistentSessionService:
        raise AssertionError("the database was opened")

    monkeypatch.setattr(PersistentSessionService, "from_url", never)
    with pytest.raises(InvalidInputError) as caught:
        AgentSessionsChatMessageHistory.from_url("s", database_url, owner_id=bad)
    assert caught.value.argument == "owner_id"


# --- from_url ------------------------------------------------------------------------------


def test_from_url_opens_a_service_that_closing_the_history_closes(
    database_url, service, session_id, monkeypatch
):
    closed: list[PersistentSessionService] = []
    close = PersistentSessionService.close
    monkeypatch.setattr(
        PersistentSessionService, "close", lambda self: (closed.append(self), close(self))
    )
    with AgentSessionsChatMessageHistory.from_url(session_id, database_url) as history:
        history.add_user_message("Hello")
        assert closed == []
    assert len(closed) == 1

    given = AgentSessionsChatMessageHistory(session_id, service)
    with given:
        assert given.messages == [HumanMessage("Hello")]
    assert len(closed) == 1  # a service the caller gave stays the caller's to close


# --- the async members -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_async_members_await_the_async_service(database_url, service, session_id):
    async with await AsyncPersistentSessionService.from_url(database_url) as async_service:
        history = AgentSessionsChatMessageHistory(session_id, async_service=async_service)
        assert await history.aget_messages() == []

        batch = [
            SystemMessage("Be brief."),
            HumanMessage("Hi"),
            AIMessage("Hello", usage_metadata=usage(5, 1)),
        ]
        await history.aadd_messages(batch)
        assert await history.aget_messages() == batch
        assert stored_session(service, session_id).total_tokens == 6
        with pytest.raises(InvalidInputError) as caught:
            await history.aadd_messages([HumanMessage("ok"), 3])
        assert caught.value.argument == "messages[1]"

        await history.aclear()
        assert await history.aget_messages() == []
        assert stored_session(service, session_id) is None


@pytest.mark.asyncio
async def test_a_history_with_only_a_sync_service_runs_its_async_members_in_a_thread(
    history, service, session_id
):
    await history.aadd_messages([HumanMessage("Hi"), AIMessage("Hello")])
    assert await history.aget_messages() == [HumanMessage("Hi"), AIMessage("Hello")]
    assert "append_messages" in service.calls

    await history.aclear()
    assert history.messages == []


@pytest.mark.asyncio
async def test_a_history_with_only_an_async_service_refuses_the_sync_members(
    database_url, session_id
):
    async with await AsyncPersistentSessionService.from_url(database_url) as async_service:
        history = AgentSessionsChatMessageHistory(session_id, async_service=async_service)
        for member in (
            lambda: history.messages,
            lambda: history.add_user_message("Hi"),
            lambda: history.clear(),
        ):
            with pytest.raises(InvalidInputError, match="aget_messages") as caught:
                member()
            assert caught.value.argument == "service"
        assert await history.aget_messages() == []


@pytest.mark.asyncio
async def test_a_history_with_both_services_uses_each_for_its_members(
    database_url, service, session_id
):
    async with await AsyncPersistentSessionService.from_url(database_url) as async_service:
        history = AgentSessionsChatMessageHistory(session_id, service, async_service=async_service)
        service.calls = []
        await history.aadd_messages([HumanMessage("async")])
        assert service.calls == []  # the sync service was not used
        history.add_messages([AIMessage("sync")])
        assert await history.aget_messages() == [HumanMessage("async"), AIMessage("sync")]


# --- RunnableWithMessageHistory ----------------------------------------------------------------


def two_turn_chain(history_of):
    model = GenericFakeChatModel(
        messages=iter([AIMessage("Hello Ada!"), AIMessage("Your name is Ada.")])
    )
    prompt = ChatPromptTemplate.from_messages(
        [MessagesPlaceholder("history"), ("human", "{question}")]
    )
    return RunnableWithMessageHistory(
        prompt | model,
        history_of,
        input_messages_key="question",
        history_messages_key="history",
    )


EXPECTED_HISTORY = [
    HumanMessage("I am Ada."),
    AIMessage("Hello Ada!"),
    HumanMessage("What is my name?"),
    AIMessage("Your name is Ada."),
]


def assert_second_turn_saw_the_first(inputs: ModelInputs) -> None:
    first, second = inputs.calls
    assert [(m.type, m.content) for m in first] == [("human", "I am Ada.")]
    assert [(m.type, m.content) for m in second] == [
        (m.type, m.content) for m in EXPECTED_HISTORY[:3]
    ]


def test_runnable_with_message_history_keeps_two_turns(service, session_id):
    chain = two_turn_chain(lambda sid: AgentSessionsChatMessageHistory(sid, service))
    inputs = ModelInputs()
    config: Any = {"configurable": {"session_id": session_id}, "callbacks": [inputs]}

    for question in ("I am Ada.", "What is my name?"):
        chain.invoke({"question": question}, config=config)

    assert_second_turn_saw_the_first(inputs)
    stored = AgentSessionsChatMessageHistory(session_id, service).messages
    assert [(m.type, m.content) for m in stored] == [(m.type, m.content) for m in EXPECTED_HISTORY]


@pytest.mark.asyncio
async def test_runnable_with_message_history_keeps_two_turns_on_the_async_service(
    database_url, service, session_id
):
    async with await AsyncPersistentSessionService.from_url(database_url) as async_service:
        chain = two_turn_chain(
            lambda sid: AgentSessionsChatMessageHistory(sid, async_service=async_service)
        )
        inputs = ModelInputs()
        config: Any = {"configurable": {"session_id": session_id}, "callbacks": [inputs]}

        for question in ("I am Ada.", "What is my name?"):
            await chain.ainvoke({"question": question}, config=config)

    assert_second_turn_saw_the_first(inputs)
    stored = AgentSessionsChatMessageHistory(session_id, service).messages
    assert [(m.type, m.content) for m in stored] == [(m.type, m.content) for m in EXPECTED_HISTORY]


# --- the how-to ------------------------------------------------------------------------------


def test_the_how_to_example_prints_what_the_how_to_says(database_url):
    printed, expected = run_example_here(HOW_TO, database_url)

    assert printed == expected
