"""The store-opener registry: how ``from_url`` opens a store without importing its adapter.

The application layer may not import the infrastructure, so the services' ``from_url`` call
whatever opener the composition root registered here (the package root ``agent_sessions``
registers the SQLAlchemy adapter). See ``docs/adr/0002-composition-root.md``.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

from agent_sessions.domain.ports import AsyncRunner, SessionStore

__all__ = [
    "AsyncStoreOpener",
    "StoreOpener",
    "async_store_opener",
    "register_async_store_opener",
    "register_store_opener",
    "store_opener",
]

_Opener = TypeVar("_Opener")


class StoreOpener(Protocol):
    """Opens a :class:`SessionStore` for a database URL (supplied by the composition root)."""

    def __call__(self, url: str, *, migrate: bool, **options: Any) -> SessionStore:
        """Open the store, migrating first when ``migrate`` is true."""
        ...


class AsyncStoreOpener(Protocol):
    """Opens a store on an asyncio engine and the runner that calls into it."""

    async def __call__(
        self, url: str, *, migrate: bool, **options: Any
    ) -> tuple[SessionStore, AsyncRunner]:
        """Open the store, migrating first when ``migrate`` is true."""
        ...


class _Slot(Generic[_Opener]):
    """One process-wide opener: registering another replaces it for every later call."""

    def __init__(self, register: str) -> None:
        self._register = register
        self._opener: _Opener | None = None

    def fill(self, opener: _Opener) -> None:
        self._opener = opener

    def opener(self) -> _Opener:
        if self._opener is None:
            raise RuntimeError(
                f"no store opener is registered: import the service from the package root "
                f"(`from agent_sessions import ...`), which registers the SQLAlchemy one, or "
                f"call {self._register}(opener) first"
            )
        return self._opener


_sync = _Slot[StoreOpener]("register_store_opener")
_async = _Slot[AsyncStoreOpener]("register_async_store_opener")


def register_store_opener(opener: StoreOpener) -> None:
    """Install the function that ``PersistentSessionService.from_url`` opens stores with.

    The package root registers the SQLAlchemy adapter, so that the application layer never
    imports the infrastructure (see ``docs/adr/0002-composition-root.md``).
    """
    _sync.fill(opener)


def register_async_store_opener(opener: AsyncStoreOpener) -> None:
    """Install what ``AsyncPersistentSessionService.from_url`` opens stores with.

    The package root registers the SQLAlchemy adapter, as for the sync service.
    """
    _async.fill(opener)


def store_opener() -> StoreOpener:
    """Return the registered opener; raise ``RuntimeError`` when none is registered."""
    return _sync.opener()


def async_store_opener() -> AsyncStoreOpener:
    """Return the registered asyncio opener; raise ``RuntimeError`` when none is registered."""
    return _async.opener()
