"""What every in-memory repository holds: the tables, and the move of a session's time."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from agent_sessions.domain.entities import Session
from agent_sessions.domain.timeline import not_before
from agent_sessions.infrastructure.memory.tables import MemoryTables

__all__ = ["MemoryRepository"]


class MemoryRepository:
    """Works on the store's tables, inside the transaction the store holds its lock for."""

    def __init__(self, tables: MemoryTables) -> None:
        self._tables = tables

    def _advance(self, session: Session, moment: datetime, **changes: Any) -> Session:
        """Store ``session`` with ``changes`` and ``updated_at`` moved to ``moment`` if later."""
        advanced = dataclasses.replace(
            session, updated_at=not_before(session.updated_at, moment), **changes
        )
        self._tables.put_session(advanced)
        return advanced
