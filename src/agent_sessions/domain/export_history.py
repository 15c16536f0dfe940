"""A session's history in an export (version 3): its rewinds and compactions, kept consistent.

An export carries the whole transcript, rewound messages included, with every rewind and
compaction of the session; a message or compaction that a rewind hid names it in
``rewound_by``, by the rewind's id in the export. This module holds what both forms (the
document and the JSON Lines stream) do with that history:

- writing the records (:func:`rewind_record`, :func:`compaction_record`);
- on export, the history *as of the moment the session was read*
  (:class:`HistorySnapshot`): the messages are read after the session (the stream reads them
  in batches, each in a transaction of its own), so a rewind or undo meanwhile would otherwise
  hide or show some of them under a rewind the export does not hold;
- on import, reading the records back and checking them against each other
  (:class:`HistoryReader`): every ``rewound_by`` names a rewind of the export that holds and
  spans the rewound message, no visible message lies inside a rewind that holds, no compaction
  ends past the transcript. The rules are those ``verify`` checks in a store.

See ``docs/reference/export_format.md``.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from agent_sessions.domain.entities import Compaction, Rewind, Session, SessionMessage
from agent_sessions.domain.errors import ImportIntegrityError
from agent_sessions.domain.export_records import (
    ExportedCompaction,
    ExportedMessage,
    ExportedRewind,
    checked_field,
    checked_integer,
    format_timestamp,
    parse_timestamp,
    record_fields,
    record_id,
)
from agent_sessions.domain.validation import (
    validate_metadata,
    validate_reason,
    validate_summary,
    validate_token_count,
)

__all__ = [
    "HistoryReader",
    "HistorySnapshot",
    "compaction_record",
    "rewind_record",
]

_REWIND_FIELDS = frozenset(
    {"id", "to_sequence", "through_sequence", "reason", "created_at", "undone_at"}
)
_COMPACTION_FIELDS = frozenset(
    {"id", "through_sequence", "summary", "metadata", "token_count", "created_at", "rewound_by"}
)


def rewind_record(rewind: Rewind) -> dict[str, Any]:
    """Return the JSON form of a rewind in an export."""
    return {
        "id": rewind.id,
        "to_sequence": rewind.to_sequence,
        "through_sequence": rewind.through_sequence,
        "reason": rewind.reason,
        "created_at": format_timestamp(rewind.created_at),
        "undone_at": None if rewind.undone_at is None else format_timestamp(rewind.undone_at),
    }


def compaction_record(compaction: Compaction) -> dict[str, Any]:
    """Return the JSON form of a compaction in an export."""
    return {
        "id": compaction.id,
        "through_sequence": compaction.through_sequence,
        "summary": compaction.summary,
        "metadata": compaction.metadata,
        "token_count": compaction.token_count,
        "created_at": format_timestamp(compaction.created_at),
        "rewound_by": compaction.rewound_by,
    }


def _span(first: int, last: int) -> str:
    return f"sequence {first}" if first == last else f"sequences {first} to {last}"


class _Hiders:
    """For each sequence, the oldest of the rewinds that hold whose span contains it.

    A rewind hides the messages still visible in ``(to_sequence, through_sequence]``; those
    already hidden keep the earlier rewind that hid them. So in a consistent history the
    message at a sequence is hidden exactly when a holding rewind spans it, by the oldest such
    rewind. Built once with a sweep over the spans' ends, then asked by bisection.
    """

    def __init__(self, holding: Sequence[tuple[str, int, int]]) -> None:
        """Index ``holding``: ``(id, to_sequence, through_sequence)`` in the order recorded."""
        starting: dict[int, list[tuple[int, int, str]]] = {}
        for order, (rewind_id, to_sequence, through_sequence) in enumerate(holding):
            starting.setdefault(to_sequence + 1, []).append(
                (order, through_sequence + 1, rewind_id)
            )
        bounds = sorted({bound for _, to, through in holding for bound in (to + 1, through + 1)})
        open_spans: list[tuple[int, int, str]] = []
        self._starts: list[int] = []
        self._pieces: list[tuple[int, str]] = []  # (last sequence, rewind id) from each start
        for first, after in itertools.pairwise(bounds):
            for span in starting.get(first, ()):
                heapq.heappush(open_spans, span)
            while open_spans and open_spans[0][1] <= first:
                heapq.heappop(open_spans)  # the oldest open span ended before this piece
            if open_spans:
                self._starts.append(first)
                self._pieces.append((after - 1, open_spans[0][2]))

    def at(self, sequence: int) -> str | None:
        """Return the id of the oldest holding rewind that spans ``sequence``, or None."""
        index = bisect.bisect_right(self._starts, sequence) - 1
        if index < 0:
            return None
        last, rewind_id = self._pieces[index]
        return rewind_id if sequence <= last else None


class HistorySnapshot:
    """The rewinds and compactions an export writes, as of the session it read with them.

    Build it from the session and its rewinds and compactions, read in one transaction; then
    pass every message, read then or later, through :meth:`message`.

    Every history write moves the session's ``updated_at`` to at least its own time, and a
    rewind's ``through_sequence`` is the session's ``message_count`` when it was made. So a
    rewind or compaction later than ``updated_at``, or past ``message_count`` while it holds,
    was written after the session was read (under ``READ COMMITTED`` a later statement of the
    same transaction sees it) and is left out, and an undo later than ``updated_at`` is not yet
    done. A compaction keeps its ``rewound_by`` only while that names a rewind of the snapshot
    that holds and hides it.

    Attributes:
        rewinds: the rewinds to export, in the order recorded.
        compactions: the compactions to export, in the order recorded.

    """

    def __init__(
        self, session: Session, rewinds: Iterable[Rewind], compactions: Iterable[Compaction]
    ) -> None:
        """Take the history of ``session`` as it was read."""
        moment, last = session.updated_at, session.message_count
        kept: list[Rewind] = []
        for rewind in rewinds:
            if rewind.undone_at is not None and rewind.undone_at > moment:
                rewind = replace(rewind, undone_at=None)
            if rewind.created_at <= moment and (rewind.undone or rewind.through_sequence <= last):
                kept.append(rewind)
        self._holding = {rewind.id: rewind for rewind in kept if not rewind.undone}
        in_snapshot = []
        for compaction in compactions:
            if compaction.created_at > moment or compaction.through_sequence > last:
                continue
            hider = self._holding.get(compaction.rewound_by or "")
            if hider is None or hider.to_sequence >= compaction.through_sequence:
                compaction = replace(compaction, rewound_by=None)
            in_snapshot.append(compaction)
        self.rewinds: tuple[Rewind, ...] = tuple(kept)
        self.compactions: tuple[Compaction, ...] = tuple(in_snapshot)
        self._hiders = _Hiders(
            [(r.id, r.to_sequence, r.through_sequence) for r in self._holding.values()]
        )

    def message(self, message: SessionMessage) -> SessionMessage:
        """Return ``message`` with the ``rewound_by`` it had when the session was read.

        It keeps its own when that is a rewind of the snapshot that holds and spans it; else
        it gets the oldest such rewind that spans it (a rewind undone since, which hid it
        then), or None (visible then, hidden since by a rewind the export does not hold).
        """
        sequence = message.sequence
        own = self._holding.get(message.rewound_by or "")
        if own is not None and own.to_sequence < sequence <= own.through_sequence:
            return message
        then = self._hiders.at(sequence)
        return message if then == message.rewound_by else replace(message, rewound_by=then)


class HistoryReader:
    """Reads an export's rewinds and compactions, then checks its messages against them.

    Feed it every rewind record first, in order (:meth:`rewind`), then every compaction
    record (:meth:`compaction`), then each message as it is read (:meth:`check_message`).
    It holds the rewinds (not the messages), so a stream is still read in one pass. Every
    problem raises :class:`ImportIntegrityError` whose message starts with the ``where`` given,
    such as ``messages[3].rewound_by``.
    """

    def __init__(self, message_count: int) -> None:
        """Start reading the history of an export that holds ``message_count`` messages."""
        self._message_count = message_count
        self._rewinds: dict[str, ExportedRewind] = {}
        self._last_rewind_at: datetime | None = None
        self._last_compaction_at: datetime | None = None
        self._hiders: _Hiders | None = None

    @property
    def rewinds(self) -> dict[str, ExportedRewind]:
        """The rewinds read so far, by their id in the export."""
        return self._rewinds

    def rewind(self, raw: object, where: str) -> ExportedRewind:
        """Check the next rewind record and return it.

        Its id is a ULID that no earlier rewind has; ``0 <= to_sequence < through_sequence``;
        a rewind that holds ends within the transcript; ``created_at`` is not earlier than the
        rewind before it (the order recorded), and ``undone_at`` is null or a timestamp.
        """
        record = record_fields(raw, _REWIND_FIELDS, where)
        rewind_id = record_id(record["id"], f"{where}.id")
        if rewind_id in self._rewinds:
            raise ImportIntegrityError(f"{where}.id repeats the id of an earlier rewind")
        to_sequence = checked_integer(record["to_sequence"], f"{where}.to_sequence")
        if to_sequence < 0:
            raise ImportIntegrityError(f"{where}.to_sequence is {to_sequence}, below 0")
        through = checked_integer(record["through_sequence"], f"{where}.through_sequence")
        if through <= to_sequence:
            raise ImportIntegrityError(
                f"{where}.through_sequence is {through}, not above to_sequence {to_sequence}"
            )
        undone_at = record["undone_at"]
        rewind = ExportedRewind(
            id=rewind_id,
            to_sequence=to_sequence,
            through_sequence=through,
            reason=checked_field(validate_reason, record["reason"], f"{where}.reason"),
            created_at=parse_timestamp(record["created_at"], f"{where}.created_at"),
            undone_at=None
            if undone_at is None
            else parse_timestamp(undone_at, f"{where}.undone_at"),
        )
        if rewind.holds and through > self._message_count:
            raise ImportIntegrityError(
                f"{where}.through_sequence is {through}, past the transcript's last sequence "
                f"{self._message_count}, for a rewind that holds"
            )
        self._last_rewind_at = _in_order(rewind.created_at, self._last_rewind_at, where, "rewind")
        self._rewinds[rewind_id] = rewind
        return rewind

    def compaction(self, raw: object, where: str) -> ExportedCompaction:
        """Check the next compaction record and return it.

        Its ``through_sequence`` names a message of the transcript; ``created_at`` is not
        earlier than the compaction before it; a ``rewound_by`` names a rewind of the export
        that holds and whose ``to_sequence`` is below ``through_sequence``.
        """
        record = record_fields(raw, _COMPACTION_FIELDS, where)
        record_id(record["id"], f"{where}.id")
        through = checked_integer(record["through_sequence"], f"{where}.through_sequence")
        if not 1 <= through <= self._message_count:
            raise ImportIntegrityError(
                f"{where}.through_sequence is {through}, which names no message of the "
                f"transcript (it holds {self._message_count})"
            )
        raw_rewind = record["rewound_by"]
        rewound_by = None if raw_rewind is None else record_id(raw_rewind, f"{where}.rewound_by")
        if rewound_by is not None:
            rewind = self._holding(rewound_by, f"{where}.rewound_by")
            if rewind.to_sequence >= through:
                raise ImportIntegrityError(
                    f"{where}.rewound_by names rewind {rewound_by}, which keeps the sequences "
                    f"up to {rewind.to_sequence} visible, the compaction's end {through} among "
                    f"them"
                )
        compaction = ExportedCompaction(
            through_sequence=through,
            summary=checked_field(validate_summary, record["summary"], f"{where}.summary"),
            metadata=checked_field(validate_metadata, record["metadata"], f"{where}.metadata"),
            token_count=checked_field(
                validate_token_count, record["token_count"], f"{where}.token_count"
            ),
            created_at=parse_timestamp(record["created_at"], f"{where}.created_at"),
            rewound_by=rewound_by,
        )
        self._last_compaction_at = _in_order(
            compaction.created_at, self._last_compaction_at, where, "compaction"
        )
        return compaction

    def check_message(self, message: ExportedMessage, where: str) -> None:
        """Check a message's ``rewound_by`` against the rewinds (all read before it).

        A rewound message names a rewind of the export that holds and whose span
        ``(to_sequence, through_sequence]`` contains it; a visible message lies in the span of
        no rewind that holds.
        """
        if self._hiders is None:
            holding = [r for r in self._rewinds.values() if r.holds]
            self._hiders = _Hiders([(r.id, r.to_sequence, r.through_sequence) for r in holding])
        sequence = message.sequence
        if message.rewound_by is None:
            hider = self._hiders.at(sequence)
            if hider is not None:
                rewind = self._rewinds[hider]
                raise ImportIntegrityError(
                    f"{where}.rewound_by is null, but the message lies inside rewind {hider}, "
                    f"which hides {_span(rewind.to_sequence + 1, rewind.through_sequence)}"
                )
            return
        rewind = self._holding(message.rewound_by, f"{where}.rewound_by")
        if not rewind.to_sequence < sequence <= rewind.through_sequence:
            raise ImportIntegrityError(
                f"{where}.rewound_by names rewind {rewind.id}, which hides "
                f"{_span(rewind.to_sequence + 1, rewind.through_sequence)}, not sequence "
                f"{sequence}"
            )

    def _holding(self, rewind_id: str, where: str) -> ExportedRewind:
        rewind = self._rewinds.get(rewind_id)
        if rewind is None:
            raise ImportIntegrityError(
                f"{where} names {rewind_id}, which is no rewind of the export"
            )
        if not rewind.holds:
            raise ImportIntegrityError(
                f"{where} names rewind {rewind_id}, which was undone (undoing a rewind shows "
                f"what it hid)"
            )
        return rewind


def _in_order(moment: datetime, previous: datetime | None, where: str, kind: str) -> datetime:
    if previous is not None and moment < previous:
        raise ImportIntegrityError(
            f"{where}.created_at is earlier than the {kind} before it: {kind}s are listed in "
            f"the order recorded"
        )
    return moment
