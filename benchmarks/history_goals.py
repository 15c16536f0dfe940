"""Issue 16's goals: a fork beside the same ``INSERT ... SELECT`` by hand, and the model's context.

- **Fork**: ``fork_session`` of a long session against :class:`HandFork`, the same copy written
  by hand on the bare driver (stdlib ``sqlite3``, psycopg, PyMySQL; see
  ``common.PlainSQL``): in one transaction, the fork's session row, then one ``INSERT ...
  SELECT`` that numbers the source's visible messages with ``ROW_NUMBER()`` and computes their
  ids in SQL from a prefix (the ULID digits of the row number, as the library's ids are), then
  the fork's ``message_count``, and the commit. The goal: within 2 times the hand copy.
- **Context**: ``context_messages(limit=50)`` of a session with a compaction against
  ``recent_messages(50)`` of the same session. The goal: within 1.5 times.

The ASV suite ``history_bench.py`` times them as ASV does; :func:`measure_history` times them
in turns, for ``benchmarks/compare/run.py`` (``nox -s bench_compare``), which reports the
ratios of one run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from ulid import ULID

from agent_sessions import PersistentSessionService
from agent_sessions.domain.history import CROCKFORD_ALPHABET, ID_NUMBER_DIGITS, ID_PREFIX_LENGTH

from .common import SESSION_COLUMNS, PlainSQL, seed_plain_session

__all__ = [
    "CONTEXT_AFTER",
    "TAIL",
    "WARM_UP_SIZE",
    "HandFork",
    "compact_session",
    "history_goal_lines",
    "measure_history",
]

TAIL = 50
CONTEXT_AFTER = 200
"""Messages after the compaction in the context benchmark's session."""
WARM_UP_SIZE = 100
"""Messages of the small session both forks copy once before anything is timed."""
READ_BLOCK = 20
"""Reads each of the two readers makes in its turn."""

_FORK_COLUMNS = (*SESSION_COLUMNS, "parent_session_id", "forked_at_sequence")
_COPIED = "role, content, metadata, token_count, created_at"


def _numbered_id(backend: str, number: str) -> str:
    """SQL for the id ``? || digits of number``: one ``substr`` of the alphabet per digit."""
    digits = [
        f"substr('{CROCKFORD_ALPHABET}', (({number} >> {5 * place}) & 31) + 1, 1)"
        for place in range(ID_NUMBER_DIGITS - 1, -1, -1)
    ]
    if backend == "mariadb":
        return f"CONCAT(?, {', '.join(digits)})"
    return " || ".join(["?", *digits])


def _copy_statement(backend: str) -> str:
    """The hand-written ``INSERT ... SELECT`` (parameters: prefix, fork, source, point)."""
    row_number = "ROW_NUMBER() OVER (ORDER BY sequence)"
    if backend == "postgresql":
        row_number = f"CAST({row_number} AS INTEGER)"  # substr takes no BIGINT position
    return (
        "INSERT INTO session_messages "
        f"(id, session_id, sequence, {_COPIED}) "
        f"SELECT {_numbered_id(backend, 'n')}, ?, n, {_COPIED} FROM ("
        f"SELECT {_COPIED}, {row_number} AS n FROM session_messages "
        "WHERE session_id = ? AND sequence <= ? AND rewound_by IS NULL"
        ") AS numbered"
    )


class HandFork:
    """The fork written by hand on a plain connection: the floor ``fork_session`` is held to."""

    def __init__(self, plain: PlainSQL) -> None:
        self.plain = plain
        marks = ", ".join("?" * len(_FORK_COLUMNS))
        self._insert_session = plain.sql(
            f"INSERT INTO sessions ({', '.join(_FORK_COLUMNS)}) VALUES ({marks})"
        )
        self._copy = plain.sql(_copy_statement(plain.backend))
        self._count = plain.sql("UPDATE sessions SET message_count = ? WHERE id = ?")

    def fork(self, source_id: str, point: int) -> str:
        """Copy the source's visible messages up to ``point`` into a new session; its id."""
        plain = self.plain
        fork_id = str(ULID())
        now = plain.stamp(datetime.now(UTC))
        cursor = plain.connection.cursor()
        row = (fork_id, "bench-bot", None, "hand fork", plain.document({}), 0, 0, 0, now, now)
        cursor.execute(self._insert_session, (*row, source_id, point))
        prefix = str(ULID())[:ID_PREFIX_LENGTH]
        cursor.execute(self._copy, (prefix, fork_id, source_id, point))
        cursor.execute(self._count, (cursor.rowcount, fork_id))
        plain.commit()
        return fork_id


def compact_session(service: PersistentSessionService, session_id: str, size: int) -> None:
    """Compact the session through all but its last :data:`CONTEXT_AFTER` messages."""
    service.compact(session_id, size - CONTEXT_AFTER, "what the conversation settled so far")


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure_history(
    url: str, fork_size: int, fork_runs: int, context_size: int, context_reads: int
) -> dict[str, list[float]]:
    """Time both goals on the migrated database at ``url``; return seconds per measure.

    Forks: ``fork_runs`` of each on a session of ``fork_size`` messages, taking turns (which
    goes first alternates); each copy is deleted, untimed, before the next. Context: a
    session of ``context_size`` messages compacted through all but its last
    :data:`CONTEXT_AFTER`, ``context_reads`` reads of each, in turns of :data:`READ_BLOCK`.
    """
    service = PersistentSessionService.from_url(url)
    plain = PlainSQL(url)
    try:
        hand = HandFork(plain)
        warm = seed_plain_session(url, WARM_UP_SIZE)
        service.delete(service.fork_session(warm).id)
        service.delete(hand.fork(warm, WARM_UP_SIZE))
        source = seed_plain_session(url, fork_size)
        times: dict[str, list[float]] = {"fork_session": [], "hand_insert_select": []}
        for run in range(fork_runs):
            turns = [("fork_session", lambda: service.fork_session(source).id)]
            turns.append(("hand_insert_select", lambda: hand.fork(source, fork_size)))
            for key, fork in turns if run % 2 == 0 else turns[::-1]:
                started = time.perf_counter()
                fork_id = fork()
                times[key].append(time.perf_counter() - started)
                service.delete(fork_id)

        session = seed_plain_session(url, context_size)
        compact_session(service, session, context_size)
        readers = {
            "context_messages": lambda: service.context_messages(session, limit=TAIL),
            "recent_messages": lambda: service.recent_messages(session, TAIL),
        }
        for read in readers.values():  # warm up: statements compiled, pages cached
            read()
        times.update({key: [] for key in readers})
        for _ in range(context_reads // READ_BLOCK):
            for key, read in readers.items():
                times[key].extend(_timed(read) for _ in range(READ_BLOCK))
        return times
    finally:
        plain.close()
        service.close()


def history_goal_lines(
    history: dict[str, dict[str, list[float]]], titles: dict[str, str]
) -> list[str]:
    """The report of :func:`measure_history`'s numbers per backend: medians and the goals."""
    lines = [
        "| backend | `fork_session` | by hand `INSERT ... SELECT` | ratio |"
        f" `context_messages(limit={TAIL})` | `recent_messages({TAIL})` | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    goals = []
    for backend, times in history.items():
        median = {key: statistics.median(values) for key, values in times.items()}
        fork = median["fork_session"] / median["hand_insert_select"]
        context = median["context_messages"] / median["recent_messages"]
        lines.append(
            f"| {titles[backend]} | {median['fork_session'] * 1000:,.0f} ms"
            f" | {median['hand_insert_select'] * 1000:,.0f} ms | {fork:.2f}"
            f" | {median['context_messages'] * 1000:.3f} ms"
            f" | {median['recent_messages'] * 1000:.3f} ms | {context:.2f} |"
        )
        runs = ", ".join(
            f"{ours / theirs:.2f}"
            for ours, theirs in zip(times["fork_session"], times["hand_insert_select"], strict=True)
        )
        goals.append(
            f"- {titles[backend]} fork, times the hand `INSERT ... SELECT`: {fork:.2f}"
            f" (goal <= 2): {'MET' if fork <= 2 else 'NOT MET'}; per run {runs}"
        )
        goals.append(
            f"- {titles[backend]} `context_messages` of {TAIL}, times `recent_messages`:"
            f" {context:.2f} (goal <= 1.5): {'MET' if context <= 1.5 else 'NOT MET'}"
        )
    return [*lines, "", "## Goals of issue 16 (measured in this run)", "", *goals]
