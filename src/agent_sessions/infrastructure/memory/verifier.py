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
from agent_sessions.domain.entities import Session, SessionMessage
from agent_sessions.domain.verification import (
    DUPLICATE_SEQUENCE,
    MESSAGE_COUNT_MISMATCH,
    MISATTRIBUTED_FILE_EVENT,
    ORPHAN_MESSAGE,
    PROBLEM_KINDS,
    SEQUENCE_GAP,
    TOKENS_BELOW_MESSAGES,
    UNDECODABLE_JSON,
    VerificationProblem,
    VerificationReport,
)
from agent_sessions.infrastructure.memory.tables import MemoryTables

__all__ = ["InMemorySessionVerifier"]


def _span(first: int, last: int) -> str:
    return f"sequence {first}" if first == last else f"sequences {first} to {last}"


def _metadata_fault(metadata: Any) -> str | None:
    """Return None for a JSON object, else what is wrong with the value."""
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError):
        return "is not valid JSON"
    return None if isinstance(metadata, dict) else "is JSON but not an object"


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
        ]
        found.sort(key=lambda p: (p.session_id, PROBLEM_KINDS.index(p.kind)))
        return VerificationReport(
            sessions_checked=len(sessions),
            messages_checked=checked,
            problems=tuple(found),
            session_id=session_id,
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
                    verb = "is" if message.sequence - previous == 2 else "are"
                    missing = _span(previous + 1, message.sequence - 1)
                    yield VerificationProblem(SEQUENCE_GAP, owner, f"{missing} {verb} missing")
                previous = message.sequence
            held = Counter(message.sequence for message in messages)
            for sequence, count in sorted(held.items()):
                if count > 1:
                    yield VerificationProblem(
                        DUPLICATE_SEQUENCE,
                        owner,
                        f"sequence {sequence} is held by {count} messages",
                    )

    def _count_and_token_problems(
        self, sessions: list[Session], by_session: dict[str, list[SessionMessage]]
    ) -> Iterator[VerificationProblem]:
        for session in sessions:
            messages = by_session.get(session.id, [])
            if session.message_count != len(messages):
                yield VerificationProblem(
                    MESSAGE_COUNT_MISMATCH,
                    session.id,
                    f"message_count is {session.message_count} but {len(messages)} messages "
                    f"are stored",
                )
            counted = [m.token_count for m in messages if m.token_count is not None]
            totals = session.prompt_tokens + session.completion_tokens
            if counted and totals < sum(counted):
                yield VerificationProblem(
                    TOKENS_BELOW_MESSAGES,
                    session.id,
                    f"prompt_tokens + completion_tokens = {session.prompt_tokens} + "
                    f"{session.completion_tokens} = {totals}, below the {sum(counted)} tokens "
                    f"recorded on its messages",
                )

    def _orphans(
        self, by_session: dict[str, list[SessionMessage]]
    ) -> Iterator[VerificationProblem]:
        for owner, messages in by_session.items():
            if owner in self._tables.sessions:
                continue
            count = len(messages)
            held = "1 message" if count == 1 else f"{count} messages"
            verb = "belongs" if count == 1 else "belong"
            span = _span(messages[0].sequence, messages[-1].sequence)
            yield VerificationProblem(
                ORPHAN_MESSAGE, owner, f"{held} ({span}) {verb} to no stored session"
            )

    def _undecodable_metadata(
        self, sessions: list[Session], by_session: dict[str, list[SessionMessage]]
    ) -> Iterator[VerificationProblem]:
        for session in sessions:
            fault = _metadata_fault(session.metadata)
            if fault is not None:
                yield VerificationProblem(
                    UNDECODABLE_JSON, session.id, f"the session's metadata {fault}"
                )
        for owner, messages in by_session.items():
            for message in messages:
                fault = _metadata_fault(message.metadata)
                if fault is not None:
                    yield VerificationProblem(
                        UNDECODABLE_JSON,
                        owner,
                        f"the metadata of message {message.id} (sequence {message.sequence}) "
                        f"{fault}",
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
            held = "1 file event" if count == 1 else f"{count} file events"
            yield VerificationProblem(
                MISATTRIBUTED_FILE_EVENT,
                owner,
                f"{held} of this session name a message of session {other}",
            )
