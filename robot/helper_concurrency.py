"""Robot Framework keyword library of the cross-process concurrency suite.

It opens a throwaway database of the run's backend, starts OS processes that write to it at
the same moment (``python -m testsupport.workload``), waits for them, and checks the result
through the public API.
"""

from __future__ import annotations

import itertools
import sys

from agent_sessions import PersistentSessionService, Session
from agent_sessions.infrastructure.database import create_database_engine
from agent_sessions.infrastructure.database.migration_history import read_ledger
from testsupport.racing_workers import run_racing_workers
from testsupport.robot_databases import SuiteStore

__all__ = ["ConcurrencyLibrary"]


class ConcurrencyLibrary:
    """Keywords that run writers in several OS processes against one database."""

    ROBOT_LIBRARY_SCOPE = "SUITE"

    def __init__(self, backend: str = "postgresql") -> None:
        self._suite = SuiteStore(backend)

    def open_concurrency_store(self) -> str:
        """Provision a fresh database of the backend, migrate it and open a service on it."""
        return self._suite.open()

    def close_concurrency_store(self) -> None:
        """Close the service and drop the database."""
        self._suite.close()

    @property
    def _store(self) -> PersistentSessionService:
        return self._suite.service

    def create_shared_session(self, actor: str = "concurrency") -> str:
        """Create a session and return its id."""
        return self._store.create(actor).id

    def create_sessions(self, count: int, actor: str = "spread") -> list[str]:
        """Create ``count`` sessions and return their ids."""
        return [self._store.create(f"{actor}-{number}").id for number in range(int(count))]

    def run_writer_processes(self, *workloads: str) -> None:
        """Start one OS process per workload, all writing at the same moment, and wait for all.

        Each workload is ``KIND COUNT SESSION_ID...`` (see ``testsupport.workload``); a
        workload string may be repeated to start several processes of that kind. Fails if any
        process fails.
        """
        for line in self._run_processes(list(workloads), self._suite.url):
            print(line)

    def _run_processes(self, workloads: list[str], url: str) -> list[str]:
        """Run the workloads in parallel processes starting together; return their last lines."""
        commands = []
        for workload in workloads:
            kind, count, *session_ids = workload.split()
            commands.append(
                [sys.executable, "-m", "testsupport.workload", kind, url, count, *session_ids]
            )
        return run_racing_workers(commands)

    def provision_empty_database(self) -> str:
        """Provision another fresh, empty database of the backend and return its URL."""
        return self._suite.provision_another()

    def start_migrating_processes(self, url: str, count: int) -> list[str]:
        """Start ``count`` processes that all migrate ``url`` at once; return what each applied."""
        outputs = self._run_processes(["migrate 0"] * int(count), url)
        return [line.removeprefix("applied: ") for line in outputs]

    def exactly_one_process_should_have_applied(self, applied: list[str], revisions: str) -> None:
        """One process applied ``revisions``; every other one found nothing left to do."""
        did_work = [item for item in applied if item != "-"]
        if did_work != [revisions]:
            raise AssertionError(f"the processes applied {applied}; expected one {revisions!r}")

    def ledger_should_record_each_revision_once(self, url: str, *revisions: str) -> None:
        """The database's ledger holds exactly these revisions, once each."""
        engine = create_database_engine(url)
        try:
            with engine.connect() as connection:
                ledger = read_ledger(connection) or []
        finally:
            engine.dispose()
        found = sorted(row.revision for row in ledger)
        if found != sorted(revisions):
            raise AssertionError(f"the ledger holds {found}, expected {sorted(revisions)}")

    def sequences_should_be_exactly(self, session_id: str, count: int) -> None:
        """The session's messages have the sequences 1..count: no gap, no duplicate."""
        sequences = [message.sequence for message in self._store.get_messages(session_id)]
        expected = list(range(1, int(count) + 1))
        if sequences != expected:
            duplicates = len(sequences) - len(set(sequences))
            missing = sorted(set(expected) - set(sequences))[:10]
            raise AssertionError(
                f"session {session_id}: {len(sequences)} messages, {duplicates} duplicate "
                f"sequence(s), first missing {missing}"
            )

    def session_counters_should_be(
        self, session_id: str, message_count: int, prompt_tokens: int, completion_tokens: int
    ) -> Session:
        """The session's message_count and token totals are exactly these."""
        session = self._store.get(session_id)
        found = (session.message_count, session.prompt_tokens, session.completion_tokens)
        expected = (int(message_count), int(prompt_tokens), int(completion_tokens))
        if found != expected:
            raise AssertionError(
                f"(message_count, prompt_tokens, completion_tokens) is {found}, expected {expected}"
            )
        return session

    def updated_at_should_not_precede_the_last_message(self, session_id: str) -> None:
        """The session's updated_at is the last message's created_at or later."""
        session = self._store.get(session_id)
        last = self._store.recent_messages(session_id, 1)[-1]
        if session.updated_at < last.created_at:
            raise AssertionError(
                f"updated_at {session.updated_at} precedes the last message's {last.created_at}"
            )

    def message_times_should_never_go_backwards(self, session_id: str) -> None:
        """created_at never decreases along the sequence."""
        times = [message.created_at for message in self._store.get_messages(session_id)]
        for earlier, later in itertools.pairwise(times):
            if later < earlier:
                raise AssertionError(f"created_at goes back from {earlier} to {later}")

    def every_session_should_have_exactly(self, session_ids: list[str], count: int) -> None:
        """Each session holds ``count`` messages with sequences 1..count and that message_count."""
        for session_id in session_ids:
            self.sequences_should_be_exactly(session_id, count)
            if self._store.get(session_id).message_count != int(count):
                raise AssertionError(f"session {session_id} has a wrong message_count")


helper_concurrency = ConcurrencyLibrary
