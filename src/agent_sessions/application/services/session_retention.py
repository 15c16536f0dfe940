"""How long sessions live: holds, and erasing an owner's sessions.

:class:`SessionRetention` is the part of :class:`PersistentSessionService` that keeps sessions
(holds) and removes them on purpose (``erase_owner``), in bounded batches so that writers of
other sessions keep going.
"""

from __future__ import annotations

from agent_sessions.application.services.store_backed_service import StoreBackedService
from agent_sessions.domain.entities import ERASURE_TABLES, ErasureReceipt, Session
from agent_sessions.domain.errors import InvalidInputError
from agent_sessions.domain.ports import UnitOfWork
from agent_sessions.domain.validation import (
    validate_hold_reason,
    validate_required_owner_id,
    validate_ulid,
)

__all__ = ["ERASE_BATCH", "SessionRetention"]

ERASE_BATCH = 100
"""How many sessions one transaction of ``erase_owner`` deletes."""


class SessionRetention(StoreBackedService):
    """Hold sessions, and erase an owner's sessions in batches."""

    def set_hold(self, session_id: str, reason: str) -> Session:
        """Put the session under a hold for ``reason``; ``updated_at`` does not move."""
        wanted = validate_ulid(session_id, "session_id")
        why = validate_hold_reason(reason)
        now = self._clock()
        return self._on_session(
            wanted,
            lambda uow: uow.sessions.set_hold(wanted, reason=why, held_at=now),
            writes=True,
        )

    def release_hold(self, session_id: str) -> Session:
        """Release the session's hold, if any; ``updated_at`` does not move."""
        wanted = validate_ulid(session_id, "session_id")
        return self._on_session(
            wanted,
            lambda uow: uow.sessions.set_hold(wanted, reason=None, held_at=None),
            writes=True,
        )

    def erase_owner(self, owner_id: str) -> ErasureReceipt:
        """Delete the owner's sessions and their rows, a batch per transaction; count them.

        One read first refuses the whole erasure while any session of the owner is held. Each
        batch checks its sessions again in its own transaction: a hold set meanwhile stops the
        erasure there, with the batches before it committed and the error naming the session.
        A batch deletes the sessions it has just read, so a retry never deletes or counts a
        session twice; the one limit is a batch whose commit landed but whose acknowledgement
        was lost, whose rows are then missing from the receipt's counts (not from the erasure).
        """
        owner = validate_required_owner_id(owner_id)
        started = self._clock()
        totals = dict.fromkeys(ERASURE_TABLES, 0)
        held = self._store.transaction(
            lambda uow: uow.sessions.owner_batch(owner, limit=1, held=True), writes=False
        )
        if held:
            _refuse_held(owner, held[0], erased=0)

        def erase_batch(uow: UnitOfWork) -> dict[str, int]:
            batch = uow.sessions.owner_batch(owner, limit=ERASE_BATCH)
            for session in batch:
                if session.held:  # held since the check: stop before this batch
                    _refuse_held(owner, session, erased=totals["sessions"])
            if not batch:
                return {}
            return uow.sessions.erase([session.id for session in batch])

        while True:
            counts = self._store.transaction(erase_batch, writes=True)
            if not counts.get("sessions"):
                break
            for table, deleted in counts.items():
                totals[table] = totals.get(table, 0) + deleted
        return ErasureReceipt(
            owner_id=owner,
            sessions=totals["sessions"],
            rows=totals,
            started_at=started,
            finished_at=self._clock(),
        )


def _refuse_held(owner: str, session: Session, *, erased: int) -> None:
    done = (
        "nothing was erased"
        if not erased
        else f"the {erased} session(s) erased before it stay erased"
    )
    raise InvalidInputError(
        "owner_id",
        f"session {session.id} of owner {owner!r} is under a hold ({session.hold_reason!r}); "
        f"release the hold first; {done}",
    )
