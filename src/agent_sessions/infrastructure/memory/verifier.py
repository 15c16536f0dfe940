"""The in-memory adapter of the :class:`~agent_sessions.domain.ports.SessionVerifier` port.

The checks read the tables' rows as they are, indexes aside, so that they find what a store
damaged on purpose (through :class:`~agent_sessions.infrastructure.memory.tables.MemoryTables`'
``put_*`` and ``delete_*`` methods) holds, as the SQL verifier finds what a hand edit left.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from agent_sessions.domain import ports
from agent_sessions.domain import verification as problems
from agent_sessions.domain.entities import Compaction, Rewind, Session, SessionMessage
from agent_sessions.domain.verification import (
    HiderFacts,
    VerificationProblem,
    VerificationReport,
)
from agent_sessions.infrastructure.memory.tables import MemoryTables

__all__ = ["InMemorySessionVerifier"]


def _metadata_fault(metadata: Any) -> str | None:
    """Return None for a JSON object, else what is wrong with the value."""
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError):
        return problems.METADATA_NOT_JSON
    return None if isinstance(metadata, dict) else problems.METADATA_NOT_OBJECT


class InMemorySessionVerifier(ports.SessionVerifier):
    """Runs the integrity checks over the tables, inside the store's transaction."""

    def __init__(self, tables: MemoryTables) -> None:
        self._tables = tables

    def find_problems(self, session_id: str | None = None) -> VerificationReport | None:
        """Check every session (or only ``session_id``) and report each broken invariant."""
        sessions = [s for s in self._tables.sessions.values() if session_id in (None, s.id)]
        by_session: defaultdict[str, list[SessionMessage]] = defaultdict(list)
        for message in self._tables.messages.values():
            if session_id in (None, message.session_id):
                by_session[message.session_id].append(message)
        checked = sum(len(messages) for messages in by_session.values())
        if session_id is not None and not sessions and not checked:
            return None
        for messages in by_session.values():
            messages.sort(key=lambda m: m.sequence)
        found = [
            *self._sequence_problems(by_session),
            *self._count_and_token_problems(sessions, by_session),
            *self._orphans(by_session),
            *self._undecodable_metadata(sessions, by_session),
            *self._misattributed_file_events(session_id),
            *self._history_problems(sessions, by_session),
            *self._lineage_problems(sessions),
        ]
        return problems.report(
            found, sessions_checked=len(sessions), messages_checked=checked, session_id=session_id
        )

    def _sequence_problems(
        self, by_session: dict[str, list[SessionMessage]]
    ) -> Iterator[VerificationProblem]:
        for owner, messages in by_session.items():
            if owner not in self._tables.sessions:
                continue  # orphans are reported as such
            previous = 0
            for message in messages:
                if message.sequence > previous + 1:
                    yield problems.sequence_gap(owner, previous + 1, message.sequence - 1)
                previous = message.sequence
            held = Counter(message.sequence for message in messages)
            for sequence, count in sorted(held.items()):
                if count > 1:
                    yield problems.duplicate_sequence(owner, sequence, count)

    def _count_and_token_problems(
        self, sessions: list[Session], by_session: dict[str, list[SessionMessage]]
    ) -> Iterator[VerificationProblem]:
        for session in sessions:
            messages = by_session.get(session.id, [])
            if session.message_count != len(messages):
                yield problems.message_count_mismatch(
                    session.id, session.message_count, len(messages)
                )
            counted = [m.token_count for m in messages if m.token_count is not None]
            totals = session.prompt_tokens + session.completion_tokens
            forked = session.parent_session_id is not None  # its copies' tokens: the parent's
            if counted and totals < sum(counted) and not forked:
                yield problems.tokens_below_messages(
                    session.id, session.prompt_tokens, session.completion_tokens, sum(counted)
                )

    def _orphans(
        self, by_session: dict[str, list[SessionMessage]]
    ) -> Iterator[VerificationProblem]:
        for owner, messages in by_session.items():
            if owner in self._tables.sessions:
                continue
            first, last = messages[0].sequence, messages[-1].sequence
            yield problems.orphan_messages(owner, len(messages), first, last)

    def _undecodable_metadata(
        self, sessions: list[Session], by_session: dict[str, list[SessionMessage]]
    ) -> Iterator[VerificationProblem]:
        for session in sessions:
            fault = _metadata_fault(session.metadata)
            if fault is not None:
                yield problems.undecodable_session_metadata(session.id, fault)
        for owner, messages in by_session.items():
            for message in messages:
                fault = _metadata_fault(message.metadata)
                if fault is not None:
                    yield problems.undecodable_message_metadata(
                        owner, message.id, message.sequence, fault
                    )

    def _misattributed_file_events(self, session_id: str | None) -> Iterator[VerificationProblem]:
        pairs: Counter[tuple[str, str]] = Counter()
        for event in self._tables.file_events.values():
            message = self._tables.messages.get(event.message_id)
            if (
                session_id in (None, event.session_id)
                and message is not None
                and message.session_id != event.session_id
            ):
                pairs[(event.session_id, message.session_id)] += 1
        for (owner, other), count in sorted(pairs.items()):
            yield problems.misattributed_file_events(owner, count, other)

    def _hider(self, rewind_id: str) -> HiderFacts:
        rewind = self._tables.rewinds.get(rewind_id)
        if rewind is None:
            return HiderFacts(None)
        undone = rewind.undone_at is not None
        return HiderFacts(rewind.session_id, rewind.to_sequence, rewind.through_sequence, undone)

    def _history_problems(
        self, sessions: list[Session], by_session: dict[str, list[SessionMessage]]
    ) -> Iterator[VerificationProblem]:
        rewinds_of: defaultdict[str, list[Rewind]] = defaultdict(list)
        for rewind in self._tables.rewinds.values():
            rewinds_of[rewind.session_id].append(rewind)
        compactions_of: defaultdict[str, list[Compaction]] = defaultdict(list)
        for compaction in self._tables.compactions.values():
            compactions_of[compaction.session_id].append(compaction)
        for session in sessions:
            messages = by_session.get(session.id, [])
            for message in messages:
                if message.rewound_by is None:
                    continue
                fault = self._hider(message.rewound_by).fault(session.id, message.sequence)
                if fault is not None:
                    yield problems.unexplained_rewound_message(
                        session.id, message.id, message.sequence, message.rewound_by, fault
                    )
            for rewind in sorted(rewinds_of[session.id], key=lambda r: (r.created_at, r.id)):
                yield from _visible_inside(session.id, rewind, messages)
            compactions = sorted(compactions_of[session.id], key=lambda c: (c.created_at, c.id))
            yield from self._compaction_problems(session, messages, compactions)

    def _compaction_problems(
        self, session: Session, messages: list[SessionMessage], compactions: list[Compaction]
    ) -> Iterator[VerificationProblem]:
        stored = {message.sequence for message in messages}
        for compaction in compactions:
            through = compaction.through_sequence
            if compaction.rewound_by is None:
                if through not in stored or through > session.message_count:
                    yield problems.compaction_end_missing(
                        session.id, compaction.id, through, session.message_count
                    )
                continue
            hider = self._hider(compaction.rewound_by)
            fault = hider.fault(session.id, through, whole_span=False)
            if fault is not None:
                yield problems.unexplained_rewound_compaction(
                    session.id, compaction.id, through, compaction.rewound_by, fault
                )

    def _lineage_problems(self, sessions: list[Session]) -> Iterator[VerificationProblem]:
        for session in sessions:
            parent_id, point = session.parent_session_id, session.forked_at_sequence
            if parent_id is None:
                continue
            if parent_id == session.id:
                yield problems.own_parent(session.id)
                continue
            parent = self._tables.sessions.get(parent_id)
            if parent is not None and point is not None and point > parent.message_count:
                yield problems.fork_point_past_parent(
                    session.id, point, parent.id, parent.message_count
                )


def _visible_inside(
    session_id: str, rewind: Rewind, messages: list[SessionMessage]
) -> Iterator[VerificationProblem]:
    """Yield the problem of the visible messages inside ``rewind``'s span while it holds."""
    if rewind.undone_at is not None:
        return
    inside = [
        message.sequence
        for message in messages
        if message.rewound_by is None
        and rewind.to_sequence < message.sequence <= rewind.through_sequence
    ]
    if inside:
        yield problems.visible_messages_in_rewind(
            session_id,
            rewind.id,
            (rewind.to_sequence, rewind.through_sequence),
            (len(inside), min(inside), max(inside)),
        )
