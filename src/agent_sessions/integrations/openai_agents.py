"""The OpenAI Agents SDK's ``Session`` protocol, stored by agent-sessions.

:class:`AgentSessionsSession` is the conversation memory that ``Runner.run(..., session=...)``
reads and extends, kept in an agent-sessions database through an
:class:`~agent_sessions.AsyncSessionService`. One SDK session id is one agent-sessions session:
the actor's session whose ``external_id`` is that id, created by the first write.

Each input item is one message. Its role column says who produced it (see
:func:`role_of_item`), its content is the item's readable text, and its metadata holds the
item itself under the key ``"openai_agents"``, so that ``get_items`` returns every item equal
to what ``add_items`` was given. When the readable text is one string field of the item (a
message's text, a tool's text output), that field is kept once, in the content column, and
the path to it is recorded; so a long tool output is bounded by the 7 MiB content limit, not
by the 256 KiB metadata limit.

The items read are the session's visible history: the messages a rewind hid
(:meth:`~agent_sessions.AsyncSessionService.rewind`) are not among them. With
``use_context_messages=True`` they are what
:meth:`~agent_sessions.AsyncSessionService.context_messages` returns: the summary of the
compaction in force, as one ``{"role": ..., "content": ...}`` item, then the items after it.

Install with ``pip install 'agent-sessions[openai-agents]'``; importing this module imports the
SDK.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar, cast

from agents.items import TResponseInputItem
from agents.memory import SessionSettings
from agents.memory.session_settings import coerce_session_settings
from agents.result import RunResultBase
from agents.usage import Usage

from agent_sessions import (
    AsyncPersistentSessionService,
    AsyncSessionService,
    InvalidInputError,
    MessageRole,
    NewMessage,
    Session,
    SessionMessage,
    SessionNotFoundError,
)
from agent_sessions.domain.validation import (
    MAX_MESSAGE_LIMIT,
    validate_actor_name,
    validate_external_id,
    validate_flag,
    validate_idempotency_key,
    validate_new_messages,
    validate_owner_id,
    validate_token_delta,
)
from agent_sessions.integrations.model_context import checked_summary_role, is_summary

if TYPE_CHECKING:
    from agents.memory import Session as SdkSession

__all__ = [
    "DEFAULT_ACTOR_NAME",
    "METADATA_KEY",
    "AgentSessionsSession",
    "role_of_item",
]

DEFAULT_ACTOR_NAME: Final = "openai-agents"
"""The actor of the sessions an :class:`AgentSessionsSession` stores, unless told otherwise."""

METADATA_KEY: Final = "openai_agents"
"""The metadata key of a stored item: ``{"item": ..., "text_at": [...]}``."""

_LOOKUPS: Final = 3
"""How often one call looks the session up when it keeps being deleted under it."""

_MESSAGE_ROLES: Final = {
    "user": MessageRole.USER,
    "system": MessageRole.SYSTEM,
    "developer": MessageRole.SYSTEM,
    "assistant": MessageRole.ASSISTANT,
}
_PLAIN_ROLES: Final = {
    MessageRole.USER: "user",
    MessageRole.SYSTEM: "system",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.TOOL: "user",
}
_TEXT_FIELDS: Final = ("content", "output", "summary")
_PART_TEXT_KEYS: Final = ("text", "refusal")
_STORED_ITEM_PATH: Final = f"metadata[{METADATA_KEY!r}]['item']"

T = TypeVar("T")


class AgentSessionsSession:
    """An OpenAI Agents SDK session whose items live in an agent-sessions database.

    It satisfies the SDK's ``agents.memory.Session`` protocol: pass it to ``Runner.run`` as
    ``session=``. Every method validates its arguments before any I/O (``InvalidInputError``
    naming the argument; nothing is written), reading never creates the stored session, and
    the first write creates it (``get_or_create``, safe when processes race on the same id).
    Database errors propagate unchanged. Many tasks may use one object at once.

    Attributes:
        session_id: the SDK's session id; the stored session's ``external_id``.
        session_settings: the SDK's settings; its ``limit`` applies when ``get_items`` is
            called without one.
        actor_name: the actor of the stored session.
        owner_id: the owner (end user or tenant) the stored session gets when the first write
            creates it, or None; a session that already exists keeps its own.
        use_context_messages: whether ``get_items`` reads the context a model is sent (the
            compaction's summary, then the items after it) rather than the visible history.
        summary_role: the role of the summary's item, with ``use_context_messages``.

    """

    session_id: str
    session_settings: SessionSettings | None
    actor_name: str
    owner_id: str | None
    use_context_messages: bool
    summary_role: MessageRole

    def __init__(
        self,
        session_id: str,
        service: AsyncSessionService,
        *,
        actor_name: str = DEFAULT_ACTOR_NAME,
        owner_id: str | None = None,
        session_settings: SessionSettings | dict[str, Any] | None = None,
        use_context_messages: bool = False,
        summary_role: MessageRole | str = MessageRole.SYSTEM,
    ) -> None:
        """Keep the items of SDK session ``session_id`` through ``service``.

        The caller owns ``service``: :meth:`close` leaves it open. ``session_id`` is a
        non-blank string of at most 255 characters (an ``external_id``). With
        ``use_context_messages``, ``get_items`` starts from the summary of the compaction in
        force (an item of ``summary_role``, ``system`` by default) instead of the messages it
        covers. ``owner_id`` (a non-blank string of at most 255 characters, or None) is given
        to the stored session when the first write creates it.
        """
        if not isinstance(session_id, str):
            raise InvalidInputError(
                "session_id", f"must be a string, got {type(session_id).__name__}"
            )
        try:
            validate_external_id(session_id)
        except InvalidInputError as exc:
            raise InvalidInputError("session_id", exc.reason) from None
        self.session_id = session_id
        self.actor_name = validate_actor_name(actor_name)
        self.owner_id = validate_owner_id(owner_id)
        if not isinstance(service, AsyncSessionService):
            raise InvalidInputError(
                "service", f"must be an AsyncSessionService, got {type(service).__name__}"
            )
        self.session_settings = (
            SessionSettings()
            if session_settings is None
            else coerce_session_settings(session_settings)
        )
        self.use_context_messages = validate_flag(use_context_messages, "use_context_messages")
        self.summary_role = checked_summary_role(summary_role)
        self._service = service
        self._owns_service = False
        self._stored_id: str | None = None

    @classmethod
    async def from_url(
        cls,
        session_id: str,
        url: str,
        *,
        migrate: bool = False,
        actor_name: str = DEFAULT_ACTOR_NAME,
        owner_id: str | None = None,
        session_settings: SessionSettings | dict[str, Any] | None = None,
        use_context_messages: bool = False,
        summary_role: MessageRole | str = MessageRole.SYSTEM,
        **options: Any,
    ) -> Self:
        """Open the database at ``url`` for SDK session ``session_id``, owning the service.

        ``url``, ``migrate`` and ``options`` are those of
        :meth:`AsyncPersistentSessionService.from_url`; the other arguments are the
        constructor's. The session closes that service on :meth:`close` or at the end of
        ``async with``; to share one service between many SDK sessions, open it yourself and
        pass it to the constructor instead. ``owner_id`` is checked before the database is
        opened.
        """
        validate_owner_id(owner_id)
        service = await AsyncPersistentSessionService.from_url(url, migrate=migrate, **options)
        try:
            session = cls(
                session_id,
                service,
                actor_name=actor_name,
                owner_id=owner_id,
                session_settings=session_settings,
                use_context_messages=use_context_messages,
                summary_role=summary_role,
            )
        except BaseException:
            await service.close()
            raise
        session._owns_service = True
        return session

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """Return the newest ``limit`` items (all when None) in chronological order.

        Without ``limit``, ``session_settings.limit`` applies. A limit of 0 returns no item;
        a negative or non-integer limit raises ``InvalidInputError``. A session never written
        to returns an empty list. The items are those of the visible history (a rewind hides
        items), or with ``use_context_messages`` the compaction's summary and the items after
        it: the summary is one item of the ``limit``, left out when the newest ``limit`` items
        all come after it.
        """
        argument = "limit"
        if limit is None and self.session_settings is not None:
            limit, argument = self.session_settings.limit, "session_settings.limit"
        if limit is not None:
            if not isinstance(limit, int) or isinstance(limit, bool):
                raise InvalidInputError(
                    argument, f"must be an integer or None, got {type(limit).__name__}"
                )
            if limit < 0:
                raise InvalidInputError(argument, f"must be 0 or more, got {limit}")
            if limit == 0:
                return []
        messages: list[SessionMessage] = await self._on_stored_session(
            lambda stored_id: self._read(stored_id, limit), create=False, missing=[]
        )
        return [_item_of(message) for message in messages]

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append ``items`` as one batch: one transaction, consecutive sequences, all or none.

        ``items`` is a list of dicts that survive a JSON round trip unchanged. A concurrent
        writer's items come before or after the whole batch, never inside it. An empty list
        writes nothing.
        """
        if not isinstance(items, list | tuple):
            raise InvalidInputError("items", f"must be a list of dicts, got {type(items).__name__}")
        messages = [_new_message(item, index) for index, item in enumerate(items)]
        if messages:
            await self._on_stored_session(
                lambda stored_id: self._service.append_messages(stored_id, messages),
                create=True,
                missing=None,
            )

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove the newest visible item and return it, or return None when there is none.

        Atomic (``pop_message``): of two concurrent calls, each gets a different item. When
        rewound items follow it or a compaction covers it, it is hidden by a rewind rather
        than deleted, so that the transcript keeps it.
        """
        message = await self._on_stored_session(
            self._service.pop_message, create=False, missing=None
        )
        return None if message is None else _item_of(message)

    async def clear_session(self) -> None:
        """Delete the stored session: its items, token counters and file events.

        Does nothing when there is no stored session. The next write starts a new one.
        """
        await self._on_stored_session(self._service.delete, create=False, missing=None)
        self._stored_id = None

    async def record_usage(
        self, usage: Usage | RunResultBase, *, idempotency_key: str | None = None
    ) -> Session:
        """Add a run's token usage to the stored session's counters and return the session.

        ``usage`` is an SDK ``Usage`` or a run result (its ``context_wrapper.usage``):
        ``input_tokens`` go to ``prompt_tokens`` and ``output_tokens`` to
        ``completion_tokens``, atomically (``update_token_usage``). With an
        ``idempotency_key`` (a response id, say), a repeated call adds nothing.
        """
        if isinstance(usage, RunResultBase):
            usage = usage.context_wrapper.usage
        if not isinstance(usage, Usage):
            raise InvalidInputError(
                "usage", f"must be an agents Usage or a run result, got {type(usage).__name__}"
            )
        prompt = validate_token_delta(usage.input_tokens, "usage.input_tokens")
        completion = validate_token_delta(usage.output_tokens, "usage.output_tokens")
        if idempotency_key is not None:
            validate_idempotency_key(idempotency_key)
        session: Session | None = await self._on_stored_session(
            lambda stored_id: self._service.update_token_usage(
                stored_id,
                prompt_tokens=prompt,
                completion_tokens=completion,
                idempotency_key=idempotency_key,
            ),
            create=True,
            missing=None,
        )
        assert session is not None, "a write creates the session"
        return session

    async def stored_session(self) -> Session | None:
        """Return the agent-sessions session that holds the items, or None before any write."""
        return await self._service.get_by_external_id(self.actor_name, self.session_id)

    async def close(self) -> None:
        """Close the service if :meth:`from_url` opened it; leave a caller's service open."""
        if self._owns_service:
            await self._service.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(session_id={self.session_id!r}, actor_name={self.actor_name!r})"
        )

    async def _read(self, stored_id: str, limit: int | None) -> list[SessionMessage]:
        if self.use_context_messages:
            # Like recent_messages, the window may reach back past ``limit``: keep the newest.
            window = limit if limit is not None and limit <= MAX_MESSAGE_LIMIT else None
            messages = await self._service.context_messages(
                stored_id, limit=window, summary_role=self.summary_role
            )
            return messages if limit is None else messages[-limit:]
        if limit is not None and limit <= MAX_MESSAGE_LIMIT:
            # recent_messages reaches back past tool results to the call they answer, so it
            # may return more than ``limit``; the SDK's get_items(limit) promises exactly the
            # newest ``limit`` items, so keep only those.
            return (await self._service.recent_messages(stored_id, limit))[-limit:]
        messages = await self._service.get_messages(stored_id)
        return messages if limit is None else messages[-limit:]

    async def _on_stored_session(
        self, operation: Callable[[str], Awaitable[T]], *, create: bool, missing: T
    ) -> T:
        """Run ``operation`` on the stored session's id, or return ``missing`` when none.

        The id is remembered after the first look-up. When the session was deleted meanwhile
        (``clear_session`` of another object or process), it is looked up again: a write
        creates it anew, a read finds nothing.
        """
        lookups = 0
        while True:
            stored_id = self._stored_id or await self._look_up(create=create)
            if stored_id is None:
                return missing
            try:
                return await operation(stored_id)
            except SessionNotFoundError:
                self._stored_id = None
                lookups += 1
                if lookups == _LOOKUPS:
                    raise

    async def _look_up(self, *, create: bool) -> str | None:
        if create:
            found: Session | None = await self._service.get_or_create(
                self.actor_name, self.session_id, owner_id=self.owner_id
            )
        else:
            found = await self._service.get_by_external_id(self.actor_name, self.session_id)
        self._stored_id = None if found is None else found.id
        return self._stored_id


def role_of_item(item: dict[str, Any]) -> MessageRole:
    """Return the role a Responses input item is stored with.

    A message (an item with a ``role``) keeps its role, ``developer`` and ``system`` being
    :attr:`MessageRole.SYSTEM`. Otherwise the ``type`` decides: tool results (every type
    ending in ``_output``) are :attr:`MessageRole.TOOL`, an MCP approval response is
    :attr:`MessageRole.USER`, and everything else the model produced (function and tool
    calls, reasoning, compaction, item references) is :attr:`MessageRole.ASSISTANT`.
    """
    role = item.get("role")
    if isinstance(role, str) and role in _MESSAGE_ROLES:
        return _MESSAGE_ROLES[role]
    kind = item.get("type")
    if kind == "mcp_approval_response":
        return MessageRole.USER
    if isinstance(kind, str) and kind.endswith("_output"):
        return MessageRole.TOOL
    return MessageRole.ASSISTANT


def _new_message(item: object, index: int) -> NewMessage:
    """Return the message that stores ``item``, checked as ``append_messages`` checks it."""
    argument = f"items[{index}]"
    if not isinstance(item, dict):
        raise InvalidInputError(argument, f"must be a dict, got {type(item).__name__}")
    try:
        stored: dict[str, Any] = json.loads(json.dumps(item, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(argument, f"is not JSON-serialisable: {exc}") from None
    if stored != item:
        raise InvalidInputError(
            argument, "would not read back equal (it holds a tuple or a non-string key)"
        )
    role = role_of_item(stored)
    text, path = _text_of(stored)
    entry: dict[str, Any] = {"item": stored}
    if path is not None:
        _container(stored, path)[path[-1]] = None  # the text lives once, in the content
        entry["text_at"] = list(path)
    message = NewMessage(role=role, content=text, metadata={METADATA_KEY: entry})
    try:
        validate_new_messages([message])
    except InvalidInputError as exc:
        reason = exc.reason.replace(_STORED_ITEM_PATH, "item")
        if exc.argument.endswith(".content"):
            reason = f"its text {reason}"
        elif reason.startswith("is "):
            reason = f"its stored form {reason}"
        raise InvalidInputError(argument, reason) from None
    return message


def _text_of(item: dict[str, Any]) -> tuple[str, tuple[str | int, ...] | None]:
    """Return an item's readable text, and its path when it is one string field of the item."""
    for key in _TEXT_FIELDS:
        value = item.get(key)
        if isinstance(value, str):
            return value, (key,)
        if isinstance(value, list) and value:
            return _text_of_parts(value, key)
    name = item.get("name")
    if isinstance(name, str):
        call = item.get("arguments", item.get("input"))
        return f"{name}({call if isinstance(call, str) else ''})", None
    return f"[{item.get('type', 'item')}]", None


def _text_of_parts(parts: list[Any], key: str) -> tuple[str, tuple[str | int, ...] | None]:
    """Return the text of a list of content parts, and its path when there is one part."""
    keys = [_text_key(part) for part in parts]
    texts = [
        part[text_key] if text_key is not None else f"[{_kind_of(part)}]"
        for part, text_key in zip(parts, keys, strict=True)
    ]
    if len(parts) == 1 and keys[0] is not None:
        return texts[0], (key, 0, keys[0])
    return "\n".join(texts), None


def _text_key(part: object) -> str | None:
    """Return the key of a content part's text (``text`` or ``refusal``), or None."""
    if isinstance(part, dict):
        for key in _PART_TEXT_KEYS:
            if isinstance(part.get(key), str):
                return key
    return None


def _kind_of(part: object) -> object:
    return part.get("type", "part") if isinstance(part, dict) else "part"


def _container(item: dict[str, Any], path: tuple[str | int, ...] | list[Any]) -> Any:
    """Return the dict or list that holds the field at ``path`` of ``item``."""
    container: Any = item
    for step in path[:-1]:
        container = container[step]
    return container


def _item_of(message: SessionMessage) -> TResponseInputItem:
    """Return the item a message stores; a message other code wrote reads as a plain message.

    So does a compaction's summary, whatever the compaction's metadata holds.
    """
    entry = message.metadata.get(METADATA_KEY)
    if not isinstance(entry, dict) or is_summary(message):
        return cast(
            TResponseInputItem, {"role": _PLAIN_ROLES[message.role], "content": message.content}
        )
    item: dict[str, Any] = entry["item"]
    path = entry.get("text_at")
    if path:
        _container(item, path)[path[-1]] = message.content
    return cast(TResponseInputItem, item)


if TYPE_CHECKING:

    def _conforms(session: AgentSessionsSession) -> SdkSession:
        """Let mypy check that the class satisfies the SDK's protocol."""
        return session
