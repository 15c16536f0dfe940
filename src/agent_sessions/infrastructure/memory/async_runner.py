"""Calling the synchronous service over an in-memory store from an event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from agent_sessions.domain import ports

__all__ = ["DirectRunner"]

T = TypeVar("T")


class DirectRunner(ports.AsyncRunner):
    """Runs each call straight away on the event loop's thread.

    The in-memory store never waits on I/O, so a call holds the loop only for the moment its
    transaction takes (and, when a thread is in a transaction of the same store, until that
    one ends). A call has no ``await`` inside it, so a cancellation cannot cut it short: it
    reaches the awaiting task once the call has committed or rolled back.
    """

    async def run(self, call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Return ``call(*args, **kwargs)``."""
        return call(*args, **kwargs)
