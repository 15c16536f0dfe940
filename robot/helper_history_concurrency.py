"""Robot Framework keyword library of the history concurrency suite, and its worker process.

The library opens a throwaway database of the run's backend, starts OS processes that write to
one session at the same moment (:mod:`testsupport.racing_workers`), keeps what each process was
acknowledged, and checks the end state through the public API. Run as a script
(``python helper_history_concurrency.py KIND URL SESSION_ID COUNT [SPREAD]``), the module is
one worker:

- ``append``: appends COUNT messages, prints the ``[id, sequence, content]`` of each.
- ``history``: COUNT rounds, spread over the next SPREAD messages the others append, of a fork
  (every other one at an explicit visible point), a compaction through the newest visible
  message or the middle of the newest twelve, and a rewind that hides that compaction or the
  two newest visible messages; prints the forks' ids and the refusals it met (a compaction
  that would fall short of the compaction in force is refused, not a failure).
- ``optimistic``: appends with ``expected_sequence`` = the ``message_count`` it just read until
  the session holds COUNT messages; prints its wins ``[sequence, id, content]`` and conflicts.

Each worker prints one JSON line last.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from agent_sessions import (
    InvalidInputError,
    PersistentSessionService,
    Rewind,
    SequenceConflictError,
    SessionMessage,
)
from testsupport.racing_workers import run_racing_workers, wait_for_go
from testsupport.robot_databases import SuiteStore

__all__ = ["HistoryConcurrencyLibrary"]

PACE_SECONDS = 0.01
"""How often the history worker looks whether the appenders have got far enough."""

GROWTH_WAIT_SECONDS = 60.0
"""How long it waits for them at most (should an appender have failed)."""

TURN_PAUSE_SECONDS = 0.005
"""An appender's pause between two messages, as an agent's turns have one. Without it, on
SQLite, the appenders' back-to-back transactions keep the file's write lock to themselves and
the history worker's first write waits until they have all finished."""

COPIED_FIELDS = ("role", "content", "metadata", "token_count", "created_at")


class HistoryConcurrencyLibrary:
    """Keywords that race appends, forks, rewinds and compactions on one session."""

    ROBOT_LIBRARY_SCOPE = "SUITE"

    def __init__(self, backend: str = "postgresql") -> None:
        self._suite = SuiteStore(backend)
        self._outputs: list[tuple[str, Any]] = []

    def open_history_store(self) -> None:
        """Provision a fresh database of the backend, migrate it and open a service on it."""
        self._suite.open()

    def close_history_store(self) -> None:
        """Close the service and drop the database."""
        self._suite.close()

    @property
    def _store(self) -> PersistentSessionService:
        return self._suite.service

    def create_session_with_messages(self, count: int = 0) -> str:
        """Create a session holding ``count`` messages and return its id."""
        session = self._store.create("history-race")
        if int(count):
            self._store.append_messages(
                session.id,
                [{"role": "user", "content": f"seed {n}"} for n in range(1, int(count) + 1)],
            )
        return session.id

    def run_workers_on_session(self, session_id: str, *workloads: str) -> None:
        """Start one process per workload (``KIND COUNT [SPREAD]``) on the session, all at once.

        What each process printed is kept for the checks that follow. Fails if any process
        fails.
        """
        commands = []
        for workload in workloads:
            kind, *numbers = workload.split()
            script = str(Path(__file__).resolve())
            commands.append([sys.executable, script, kind, self._suite.url, session_id, *numbers])
        lines = run_racing_workers(commands)
        self._outputs = [
            (workload.split()[0], json.loads(line))
            for workload, line in zip(workloads, lines, strict=True)
        ]
        for kind, output in self._outputs:
            if kind != "append":
                print(kind, {key: value for key, value in output.items() if key != "wins"})

    def _of_kind(self, kind: str) -> list[Any]:
        return [output for worker, output in self._outputs if worker == kind]

    # -- the session afterwards ------------------------------------------------------------

    def store_should_verify_clean(self) -> None:
        """``verify()`` over the whole store finds no problem."""
        report = self._store.verify()
        if not report.ok:
            raise AssertionError(f"verify() found problems:\n{report.render()}")

    def transcript_should_be_gapless(self, session_id: str) -> None:
        """The transcript holds the sequences 1..message_count; reading and iterating agree."""
        session = self._store.get(session_id)
        transcript = self._store.get_messages(session_id, include_rewound=True)
        sequences = [message.sequence for message in transcript]
        if sequences != list(range(1, session.message_count + 1)):
            raise AssertionError(
                f"the transcript of {session.message_count} messages holds {len(sequences)}, "
                f"{len(sequences) - len(set(sequences))} duplicate sequence(s)"
            )
        if list(self._store.iter_messages(session_id, batch_size=50)) != transcript:
            raise AssertionError("iter_messages does not give the transcript get_messages gives")

    def every_acknowledged_append_should_be_stored_once(self, session_id: str) -> None:
        """Each message an appender was acknowledged is in the transcript once, where it was put.

        The transcript holds nothing else but the seed messages.
        """
        acknowledged = [tuple(item) for output in self._of_kind("append") for item in output]
        stored = {
            message.id: message
            for message in self._store.get_messages(session_id, include_rewound=True)
        }
        for message_id, sequence, content in acknowledged:
            found = stored.get(message_id)
            if found is None or (found.sequence, found.content) != (sequence, content):
                raise AssertionError(f"acknowledged {content!r} at {sequence} is stored as {found}")
        counted = Counter(message.content for message in stored.values())
        repeated = {content: n for content, n in counted.items() if n > 1}
        if repeated:
            raise AssertionError(f"contents stored more than once: {repeated}")
        others = [m.content for m in stored.values() if not m.content.startswith("seed ")]
        if len(others) != len(acknowledged):
            raise AssertionError(
                f"{len(others)} appended messages are stored, {len(acknowledged)} acknowledged"
            )

    def every_fork_should_copy_its_parents_visible_history_at_its_point(
        self, session_id: str
    ) -> int:
        """Each fork holds exact copies of the parent's visible messages up to its point.

        The parent's visible history at the moment of the fork is told from what is stored
        now: a message up to the point that the fork left out must be hidden by a rewind made
        before the fork (whose end, ``through_sequence``, is at most the point), and a copied
        message hidden since by a rewind made after it (whose end is at least the point).
        Returns how many forks were checked.
        """
        fork_ids = [fork_id for output in self._of_kind("history") for fork_id in output["forks"]]
        listed = {session.id for session in self._store.list(forked_from=session_id, limit=1000)}
        if listed != set(fork_ids):
            raise AssertionError(f"list(forked_from=) gives {len(listed)} of {len(fork_ids)} forks")
        parent = self._store.get_messages(session_id, include_rewound=True)
        rewinds = {rewind.id: rewind for rewind in self._store.list_rewinds(session_id)}
        by_content = {message.content: message for message in parent}
        for fork_id in fork_ids:
            fork = self._store.get(fork_id)
            point = fork.forked_at_sequence
            if fork.parent_session_id != session_id or point is None:
                raise AssertionError(f"fork {fork_id} names {fork.parent_session_id} at {point}")
            copies = self._store.get_messages(fork_id, include_rewound=True)
            _check_copies(fork_id, copies, by_content, fork.message_count)
            copied = {by_content[copy.content].sequence for copy in copies}
            if copied and max(copied) > point:
                raise AssertionError(f"fork {fork_id} at {point} copied message {max(copied)}")
            _check_visible_then(fork_id, point, parent[:point], copied, rewinds)
        points = [self._store.get(fork_id).forked_at_sequence for fork_id in fork_ids]
        compactions = self._store.list_compactions(session_id)
        print(
            f"forks at {points} of a transcript of {len(parent)}; {len(rewinds)} rewinds; "
            f"{len(compactions)} compactions, {sum(c.rewound_by is None for c in compactions)} "
            f"in force"
        )
        return len(fork_ids)

    def each_sequence_should_have_exactly_one_winner(self, session_id: str, count: int) -> int:
        """The optimistic appenders won each sequence 1..count once; the session holds the wins.

        Returns how many conflicts the losers met.
        """
        outputs = self._of_kind("optimistic")
        wins = sorted(tuple(win) for output in outputs for win in output["wins"])
        sequences = [win[0] for win in wins]
        if sequences != list(range(1, int(count) + 1)):
            repeated = [n for n, times in Counter(sequences).items() if times > 1]
            raise AssertionError(f"{len(wins)} wins for {count} sequences; repeated {repeated}")
        stored = self._store.get_messages(session_id, include_rewound=True)
        if [(m.sequence, m.id, m.content) for m in stored] != wins:
            raise AssertionError("the stored messages are not the winners' messages")
        return sum(int(output["conflicts"]) for output in outputs)


def _check_copies(
    fork_id: str, copies: list[SessionMessage], originals: dict[str, SessionMessage], count: int
) -> None:
    """Fail unless ``copies`` are visible, numbered 1..count, fresh copies of ascending messages."""
    if [copy.sequence for copy in copies] != list(range(1, count + 1)):
        raise AssertionError(f"fork {fork_id} is numbered {[c.sequence for c in copies]}")
    previous = 0
    for copy in copies:
        original = originals.get(copy.content)
        if original is None or copy.rewound_by is not None or copy.id == original.id:
            raise AssertionError(f"fork {fork_id}: {copy} is not a fresh copy of a message")
        for field in COPIED_FIELDS:
            if getattr(copy, field) != getattr(original, field):
                raise AssertionError(f"fork {fork_id}: copy {copy.sequence} differs in {field}")
        if original.sequence <= previous:
            raise AssertionError(f"fork {fork_id}: the copies are out of their parent's order")
        previous = original.sequence


def _check_visible_then(
    fork_id: str,
    point: int,
    upto_point: list[SessionMessage],
    copied: set[int],
    rewinds: dict[str, Rewind],
) -> None:
    """Fail unless the fork copied what was visible up to ``point`` when it forked.

    A rewind made before the fork ended at most at the point, one made after it at least
    there (the session's end only grows; this suite's one rewinding process rewinds to a
    point it has just seen visible, so a rewind before an explicit point ends below it).
    """
    for message in upto_point:
        rewind = rewinds.get(message.rewound_by or "")
        hidden_before = rewind is not None and rewind.through_sequence <= point
        hidden_after = rewind is not None and rewind.through_sequence >= point
        if message.sequence not in copied and not hidden_before:
            raise AssertionError(
                f"fork {fork_id} at {point} left out message {message.sequence}, visible then"
            )
        if message.sequence in copied and rewind is not None and not hidden_after:
            raise AssertionError(
                f"fork {fork_id} at {point} copied message {message.sequence}, which rewind "
                f"{rewind.id} had hidden before"
            )


# --- the worker ---------------------------------------------------------------------------------


def _append(service: PersistentSessionService, session_id: str, count: int) -> Any:
    acknowledged = []
    for number in range(count):
        role = ("user", "assistant")[number % 2]
        content = f"pid {os.getpid()} #{number}"
        message = service.append_message(session_id, role, content, metadata={"n": number})
        time.sleep(TURN_PAUSE_SECONDS)
        acknowledged.append([message.id, message.sequence, message.content])
    return acknowledged


def _wait_for_growth(service: PersistentSessionService, session_id: str, length: int) -> None:
    """Wait until the session's transcript holds ``length`` messages, or a minute has passed."""
    deadline = time.monotonic() + GROWTH_WAIT_SECONDS
    while service.get(session_id).message_count < length and time.monotonic() < deadline:
        time.sleep(PACE_SECONDS)


def _history(
    service: PersistentSessionService, session_id: str, rounds: int, spread: int = 0
) -> Any:
    forks: list[str] = []
    refused: Counter[str] = Counter()
    start = service.get(session_id).message_count
    for round_number in range(rounds):
        _wait_for_growth(service, session_id, start + spread * round_number // rounds)
        point = None
        if round_number % 2:
            point = service.recent_messages(session_id, 10)[0].sequence
        forks.append(service.fork_session(session_id, at_sequence=point).id)
        window = service.recent_messages(session_id, 12)
        # Even rounds compact through the newest message and rewind to the one before (so the
        # rewind hides that compaction); odd rounds compact through the middle of the window
        # (short of the compaction in force when appends are slow, which is refused) and
        # rewind the two newest messages. This worker alone hides messages: its points stay
        # visible.
        even = round_number % 2 == 0
        through = window[-1 if even else len(window) // 2].sequence
        try:
            service.compact(session_id, through, f"up to {round_number}")
        except InvalidInputError as refusal:
            refused[refusal.argument] += 1
        to = window[-2].sequence if even else service.recent_messages(session_id, 3)[0].sequence
        service.rewind(session_id, to, reason=f"round {round_number}")
    return {"forks": forks, "refused": dict(refused)}


def _optimistic(service: PersistentSessionService, session_id: str, target: int) -> Any:
    wins, conflicts = [], 0
    while (end := service.get(session_id).message_count) < target:
        content = f"pid {os.getpid()} after {end}"
        try:
            message = service.append_message(
                session_id, "assistant", content, expected_sequence=end
            )
        except SequenceConflictError:
            conflicts += 1
        else:
            wins.append([message.sequence, message.id, message.content])
    return {"wins": wins, "conflicts": conflicts}


WORKERS = {"append": _append, "history": _history, "optimistic": _optimistic}


def _work(kind: str, url: str, session_id: str, *numbers: int) -> int:
    with PersistentSessionService.from_url(url) as service:
        service.get(session_id)  # connect before the start, so that all start warm
        if not wait_for_go():
            return 1
        output = WORKERS[kind](service, session_id, *numbers)
    print(json.dumps(output), flush=True)
    return 0


helper_history_concurrency = HistoryConcurrencyLibrary

if __name__ == "__main__":
    _, worker_kind, database_url, shared_session_id, *worker_numbers = sys.argv
    sys.exit(_work(worker_kind, database_url, shared_session_id, *map(int, worker_numbers)))
