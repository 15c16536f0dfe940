"""LangChain's chat message history, stored in agent-sessions.

:class:`AgentSessionsChatMessageHistory` is a ``BaseChatMessageHistory`` (the store behind
``RunnableWithMessageHistory``) keyed by LangChain's session id, which becomes the ``external_id``
of an agent-sessions session of the actor ``"langchain"``. Install it with
``pip install 'agent-sessions[langchain]'``.

Each LangChain message is one stored message: its role column says who wrote it, its content
column holds its text, and its metadata holds LangChain's own serialisation of it
(``message_to_dict``), so that ``messages_from_dict`` gives back a message equal to the one
added, whatever its type. A string content is stored once, in the content column.

The history read is the session's visible history: the messages a rewind hid
(:meth:`~agent_sessions.SessionService.rewind`) are not in it. With
``use_context_messages=True`` it is what :meth:`~agent_sessions.SessionService.context_messages`
returns: the summary of the compaction in force, as one plain message of ``summary_role``
(a ``SystemMessage`` by default), then the messages after it.

What the history does with the service (look the session up, append, record token usage, delete)
is written once, as a plan of service calls; a synchronous :class:`SessionService` and an
:class:`AsyncSessionService` run the same plan, one calling and the other awaiting each step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Self, TypeVar

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import BaseMessage, message_to_dict, messages_from_dict
from langchain_core.runnables.config import run_in_executor

from agent_sessions import (
    AsyncSessionService,
    InvalidInputError,
    MessageRole,
    NewMessage,
    PersistentSessionService,
    SessionMessage,
    SessionNotFoundError,
    SessionService,
)
from agent_sessions.domain.validation import (
    validate_actor_name,
    validate_external_id,
    validate_flag,
    validate_owner_id,
    validate_token_delta,
)
from agent_sessions.integrations.model_context import checked_summary_role, is_summary

__all__ = ["DEFAULT_ACTOR_NAME", "METADATA_KEY", "AgentSessionsChatMessageHistory"]

DEFAULT_ACTOR_NAME = "langchain"
"""The actor whose sessions hold the histories, unless the history is given another."""
METADATA_KEY = "langchain"
"""The key of a stored message's metadata under which the LangChain message is kept."""

T = TypeVar("T")

_ROLES_OF_TYPES: dict[str, MessageRole] = {
    "human": MessageRole.USER,
    "HumanMessageChunk": MessageRole.USER,
    "ai": MessageRole.ASSISTANT,
    "AIMessageChunk": MessageRole.ASSISTANT,
    "system": MessageRole.SYSTEM,
    "SystemMessageChunk": MessageRole.SYSTEM,
    "tool": MessageRole.TOOL,
    "ToolMessageChunk": MessageRole.TOOL,
    "function": MessageRole.TOOL,
    "FunctionMessageChunk": MessageRole.TOOL,
}
"""The role column of each message type (``message.type``) that ``messages_from_dict`` reads."""
_CHAT_TYPES = frozenset({"chat", "ChatMessageChunk"})
_ROLES_OF_CHAT_ROLES: dict[str, MessageRole] = {
    **{role.value: role for role in MessageRole},
    "human": MessageRole.USER,
    "ai": MessageRole.ASSISTANT,
    "function": MessageRole.TOOL,
}
"""The role column of a ``ChatMessage`` by its ``role``; any other role is stored as ``user``."""
_USAGE_TYPES = frozenset({"ai", "AIMessageChunk"})
_PLAIN_MESSAGES: dict[MessageRole, dict[str, Any]] = {
    MessageRole.USER: {"type": "human", "data": {}},
    MessageRole.ASSISTANT: {"type": "ai", "data": {}},
    MessageRole.SYSTEM: {"type": "system", "data": {}},
    MessageRole.TOOL: {"type": "chat", "data": {"role": "tool"}},
}
"""How a stored message that this module did not write reads back, by its role."""


# --- mapping between LangChain messages and stored messages ----------------------------------


@dataclass(frozen=True, slots=True)
class _Batch:
    """Messages to append, checked and mapped, with the token usage their AI messages report."""

    rows: list[NewMessage]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_index: int | None = None
    """The index of the first message that reports usage; None when none does."""

    @classmethod
    def of(cls, messages: object) -> _Batch:
        """Check and map ``messages``; raise ``InvalidInputError`` before any I/O."""
        if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
            raise InvalidInputError(
                "messages",
                f"must be a sequence of LangChain messages, got {type(messages).__name__}",
            )
        rows: list[NewMessage] = []
        prompt = completion = 0
        usage_index = None
        for index, message in enumerate(messages):
            where = f"messages[{index}]"
            rows.append(_stored_form(message, where))
            usage = getattr(message, "usage_metadata", None)
            if message.type not in _USAGE_TYPES or usage is None:
                continue
            where = f"{where}.usage_metadata"
            prompt += validate_token_delta(usage["input_tokens"], f"{where}.input_tokens")
            completion += validate_token_delta(usage["output_tokens"], f"{where}.output_tokens")
            usage_index = index if usage_index is None else usage_index
        return cls(rows, prompt, completion, usage_index)


def _stored_form(message: object, where: str) -> NewMessage:
    """Return the stored form of one LangChain message (``where`` names it in errors)."""
    if not isinstance(message, BaseMessage):
        raise InvalidInputError(
            where, f"must be a LangChain message (a BaseMessage), got {type(message).__name__}"
        )
    kept = message_to_dict(message)
    role = _role_of(kept, where)
    if isinstance(message.content, str):
        del kept["data"]["content"]  # the content column holds it
        text = message.content
    else:
        text = str(message.text)  # the text parts, as LangChain joins them
    return NewMessage(role=role, content=text, metadata={METADATA_KEY: kept})


def _role_of(kept: dict[str, Any], where: str) -> MessageRole:
    kind = kept["type"]
    if kind in _CHAT_TYPES:
        return _ROLES_OF_CHAT_ROLES.get(kept["data"]["role"], MessageRole.USER)
    role = _ROLES_OF_TYPES.get(kind)
    if role is None:
        readable = ", ".join(sorted({*_ROLES_OF_TYPES, *_CHAT_TYPES}))
        raise InvalidInputError(
            where, f"is a message of type {kind!r}; a chat history stores only {readable}"
        )
    return role


def _langchain_messages(stored: Sequence[SessionMessage]) -> list[BaseMessage]:
    """Return the LangChain messages that stored messages hold, in the same order."""
    return messages_from_dict([_langchain_form(message) for message in stored])


def _langchain_form(message: SessionMessage) -> dict[str, Any]:
    """Return the dict ``messages_from_dict`` reads; a summary is a plain message of its role."""
    kept = None if is_summary(message) else message.metadata.get(METADATA_KEY)
    kept = kept or _PLAIN_MESSAGES[message.role]
    return {"type": kept["type"], "data": {"content": message.content, **kept["data"]}}


# --- what the history does with a session service, written once for sync and async ----------


@dataclass(frozen=True, slots=True)
class _Call:
    """One call of a session service method, the same on a sync and on an async service."""

    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)

    def on(self, service: SessionService | AsyncSessionService) -> Any:
        """Make the call on ``service``: its result, or for an async service its coroutine."""
        return getattr(service, self.method)(*self.args, **self.kwargs)


_Plan = Generator[_Call, Any, T]
"""A history operation: it yields the service calls it makes and receives their results."""


class _Steps(Generic[T]):
    """Runs a plan: hands out its calls one at a time and feeds each outcome back into it."""

    def __init__(self, plan: _Plan[T]) -> None:
        self._plan = plan
        self.value: Any = None
        self._error: Exception | None = None
        self.result: T

    def next_call(self) -> _Call | None:
        """Return the plan's next call, or None when it has finished (its value in ``result``)."""
        try:
            if self._error is None:
                return self._plan.send(self.value)
            error, self._error = self._error, None
            return self._plan.throw(error)
        except StopIteration as stop:
            self.result = stop.value
            return None

    @contextlib.contextmanager
    def outcome(self) -> Iterator[None]:
        """Keep an error of the call made in the block, for the plan to handle or raise."""
        try:
            yield
        except Exception as exc:
            self._error = exc


class AgentSessionsChatMessageHistory(BaseChatMessageHistory):
    """A LangChain chat message history kept in an agent-sessions session.

    The history of LangChain's ``session_id`` is the session of ``actor_name`` whose
    ``external_id`` is that id. Reading never creates a session (an unknown id reads as an
    empty history); the first :meth:`add_messages` creates it (with ``get_or_create``, so
    processes racing on a new id share one session). Every message is stored in order and reads
    back equal to the message added.

    The synchronous members (:attr:`messages`, :meth:`add_messages`, :meth:`clear`) run on
    ``service``; the coroutines (:meth:`aget_messages`, :meth:`aadd_messages`,
    :meth:`aclear`) await ``async_service`` when there is one, and otherwise run the
    synchronous member in LangChain's executor. Give either service or both. A history holds
    no state of its own beyond its arguments, so it may be shared between threads and tasks.

    Args:
        session_id: LangChain's session id (a non-blank string of at most 255 characters).
        service: the service the synchronous members use, such as a
            :class:`~agent_sessions.PersistentSessionService`.
        async_service: the service the coroutines await, such as an
            :class:`~agent_sessions.AsyncPersistentSessionService`.
        actor_name: the actor whose sessions hold the histories.
        owner_id: the owner (end user or tenant) a session gets when the first
            :meth:`add_messages` creates it (a non-blank string of at most 255 characters),
            or None; a session that already exists keeps its own.
        record_token_usage: add the ``usage_metadata`` of the AI messages added to the
            session's token totals (``input_tokens`` to ``prompt_tokens``, ``output_tokens`` to
            ``completion_tokens``).
        use_context_messages: read the context a model is sent (the summary of the
            compaction in force, then the messages after it) instead of the visible history.
        summary_role: the role of the summary's message with ``use_context_messages``
            (``system``: a ``SystemMessage``).

    Raises:
        InvalidInputError: a bad ``session_id``, ``actor_name``, ``owner_id``,
            ``use_context_messages`` or ``summary_role`` (the error names it), or no service,
            or a service that is not a session service.

    """

    def __init__(
        self,
        session_id: str,
        service: SessionService | None = None,
        *,
        async_service: AsyncSessionService | None = None,
        actor_name: str = DEFAULT_ACTOR_NAME,
        owner_id: str | None = None,
        record_token_usage: bool = True,
        use_context_messages: bool = False,
        summary_role: MessageRole | str = MessageRole.SYSTEM,
    ) -> None:
        super().__init__()
        self._session_id = _checked_session_id(session_id)
        self._actor_name = validate_actor_name(actor_name)
        self._owner_id = validate_owner_id(owner_id)
        self._use_context_messages = validate_flag(use_context_messages, "use_context_messages")
        self._summary_role = checked_summary_role(summary_role)
        if service is not None and not isinstance(service, SessionService):
            raise InvalidInputError(
                "service",
                f"must be a SessionService (such as PersistentSessionService) or None, got "
                f"{type(service).__name__}; an AsyncSessionService goes in async_service",
            )
        if async_service is not None and not isinstance(async_service, AsyncSessionService):
            raise InvalidInputError(
                "async_service",
                f"must be an AsyncSessionService (such as AsyncPersistentSessionService) or "
                f"None, got {type(async_service).__name__}",
            )
        if service is None and async_service is None:
            raise InvalidInputError("service", "give a service, an async_service or both")
        self._service = service
        self._async_service = async_service
        self._record_token_usage = record_token_usage
        self._owned: SessionService | None = None

    @classmethod
    def from_url(
        cls,
        session_id: str,
        url: str,
        *,
        actor_name: str = DEFAULT_ACTOR_NAME,
        owner_id: str | None = None,
        record_token_usage: bool = True,
        use_context_messages: bool = False,
        summary_role: MessageRole | str = MessageRole.SYSTEM,
        migrate: bool = False,
        **options: Any,
    ) -> Self:
        """Open a :class:`~agent_sessions.PersistentSessionService` on ``url`` for one history.

        The history owns that service: :meth:`close` (or leaving a ``with`` block) closes it.
        Each call opens an engine, so a program that serves many session ids should open one
        service and give it to a history per id instead. ``migrate`` and ``options`` are those
        of :meth:`PersistentSessionService.from_url
        <agent_sessions.PersistentSessionService.from_url>`; the other arguments are the
        constructor's; ``owner_id`` is checked before the database is opened.
        """
        validate_owner_id(owner_id)
        service = PersistentSessionService.from_url(url, migrate=migrate, **options)
        try:
            history = cls(
                session_id,
                service,
                actor_name=actor_name,
                owner_id=owner_id,
                record_token_usage=record_token_usage,
                use_context_messages=use_context_messages,
                summary_role=summary_role,
            )
        except BaseException:
            service.close()
            raise
        history._owned = service
        return history

    @property
    def session_id(self) -> str:
        """LangChain's session id: the ``external_id`` of the session that holds the history."""
        return self._session_id

    @property
    def actor_name(self) -> str:
        """The actor whose session holds the history."""
        return self._actor_name

    @property
    def owner_id(self) -> str | None:
        """The owner a session gets when the first :meth:`add_messages` creates it, or None."""
        return self._owner_id

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The history's messages, oldest first (an empty list if it has none).

        The visible history (a rewind hides messages), or with ``use_context_messages`` the
        summary of the compaction in force followed by the messages after it.
        """
        return self._run(self._read())

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append ``messages`` in order, in one transaction (all or none are stored).

        Creates the session on the first add. Each message must be a LangChain message of a
        type ``messages_from_dict`` reads, with JSON-serialisable fields; otherwise
        ``InvalidInputError`` names it (``messages[2]``...) and nothing is written. With
        ``record_token_usage``, the usage the AI messages report is added to the session's
        totals in a second call (idempotent: keyed by the stored message's id).
        """
        self._run(self._add(messages))

    def clear(self) -> None:
        """Delete the session that holds the history, with its token totals, if there is one.

        The next :meth:`add_messages` starts a new session with the same ``external_id``.
        """
        self._run(self._clear())

    async def aget_messages(self) -> list[BaseMessage]:
        """Return the history's messages, oldest first; the coroutine form of :attr:`messages`."""
        return await self._arun(self._read())

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append ``messages`` as :meth:`add_messages` does; its coroutine form."""
        await self._arun(self._add(messages))

    async def aclear(self) -> None:
        """Delete the history as :meth:`clear` does; its coroutine form."""
        await self._arun(self._clear())

    def close(self) -> None:
        """Close the service :meth:`from_url` opened; a service given by the caller stays open."""
        if self._owned is not None:
            self._owned.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the plans --------------------------------------------------------------------------

    def _find(self) -> _Call:
        return _Call("get_by_external_id", (self._actor_name, self._session_id))

    def _get_or_create(self) -> _Call:
        return _Call(
            "get_or_create", (self._actor_name, self._session_id), {"owner_id": self._owner_id}
        )

    def _read(self) -> _Plan[list[BaseMessage]]:
        session = yield self._find()
        if session is None:
            return []
        read = (
            _Call("context_messages", (session.id,), {"summary_role": self._summary_role})
            if self._use_context_messages
            else _Call("get_messages", (session.id,))
        )
        try:
            stored = yield read
        except SessionNotFoundError:  # cleared by another caller since the look-up
            return []
        return _langchain_messages(stored)

    def _add(self, messages: Sequence[BaseMessage]) -> _Plan[None]:
        batch = _Batch.of(messages)
        if not batch.rows:
            return
        session = yield self._get_or_create()
        try:
            stored = yield _Call("append_messages", (session.id, batch.rows))
        except SessionNotFoundError:  # cleared by another caller in between: add after that
            session = yield self._get_or_create()
            stored = yield _Call("append_messages", (session.id, batch.rows))
        if not self._record_token_usage or batch.usage_index is None:
            return
        usage = {
            "prompt_tokens": batch.prompt_tokens,
            "completion_tokens": batch.completion_tokens,
            "idempotency_key": stored[batch.usage_index].id,
        }
        with contextlib.suppress(SessionNotFoundError):  # cleared since, with these messages
            yield _Call("update_token_usage", (session.id,), usage)

    def _clear(self) -> _Plan[None]:
        session = yield self._find()
        if session is not None:
            with contextlib.suppress(SessionNotFoundError):  # another caller cleared it first
                yield _Call("delete", (session.id,))

    # --- the two ways to run a plan ---------------------------------------------------------

    def _run(self, plan: _Plan[T]) -> T:
        if self._service is None:
            raise InvalidInputError(
                "service",
                "this history has only an async_service, so use aget_messages, aadd_messages "
                "and aclear, or give it a SessionService as service for the synchronous members",
            )
        steps = _Steps(plan)
        while (call := steps.next_call()) is not None:
            with steps.outcome():
                steps.value = call.on(self._service)
        return steps.result

    async def _arun(self, plan: _Plan[T]) -> T:
        if self._async_service is None:
            return await run_in_executor(None, self._run, plan)
        steps = _Steps(plan)
        while (call := steps.next_call()) is not None:
            with steps.outcome():
                steps.value = await call.on(self._async_service)
        return steps.result


def _checked_session_id(session_id: object) -> str:
    try:
        checked = validate_external_id(session_id)
    except InvalidInputError as exc:
        raise InvalidInputError("session_id", exc.reason) from None
    if checked is None:
        raise InvalidInputError("session_id", "must be a string, got NoneType")
    return checked
