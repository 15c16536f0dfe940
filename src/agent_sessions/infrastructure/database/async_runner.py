"""Calling the synchronous service from an event loop, the way SQLAlchemy's asyncio layer does.

On an asyncio engine, SQLAlchemy runs synchronous code in a greenlet (``greenlet_spawn``):
each time that code waits on the driver, the greenlet hands the wait to the event loop as an
``await``. So the async service runs the very same service, repositories, statements, retry
policy and error translation as the sync one, with no thread and without blocking the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.util import greenlet_spawn

from agent_sessions.domain import ports

__all__ = ["GreenletRunner"]

T = TypeVar("T")


class GreenletRunner(ports.AsyncRunner):
    """Runs a synchronous call in a greenlet on the running event loop."""

    async def run(self, call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``call(*args, **kwargs)`` to its end, even if the awaiting task is cancelled.

        A write that has started is never abandoned half-way: the call goes on in its own task
        until it commits or rolls back, and only then does the cancellation reach the caller
        (as ``CancelledError``; what the call wrote stays written).
        """
        work = asyncio.ensure_future(greenlet_spawn(call, *args, **kwargs))
        cancelled = False
        while not work.done():
            try:
                await asyncio.wait({work})
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            work.exception()  # retrieved: the caller gets the cancellation it asked for
            raise asyncio.CancelledError
        return work.result()
