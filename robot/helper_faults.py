"""Robot Framework keyword library of the fault-injection suite.

Each test opens its own throwaway database (or, for a server restart, its own PostgreSQL
server), causes one kind of fault with ``testsupport.faults`` while the library writes through
the public API, and then checks what a user would check: every call returned, and the stored
session is intact (``service.verify()`` plus plain SQL: sequences exactly 1..n, each appended
message stored once, ``message_count`` equal to n). The test teardown removes every fault,
restarts what was stopped and drops what was provisioned, also after a failure.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import threading
from collections import Counter
from typing import Any

from robot.api.exceptions import SkipExecution
from sqlalchemy import text
from sqlalchemy.engine import make_url

from agent_sessions import DatabaseError, PersistentSessionService, RetryPolicy
from agent_sessions.infrastructure.database import create_database_engine
from testsupport.databases import BackendUnavailable
from testsupport.faults import (
    ConnectionKiller,
    PrivatePostgresServer,
    SqliteLockHolder,
    cheap_reconnect_options,
    run_writer_and_kill,
)
from testsupport.robot_databases import open_migrated_service, provision, skip_unavailable

__all__ = ["FaultsLibrary"]

RETRY_LOGGER = "agent_sessions.retry"
WAIT_TIMEOUT_SECONDS = 120.0


class _RetryCounter(logging.Handler):
    """Counts the retries the library logs, keeping the first few messages.

    While it is installed the retry logger does not propagate, so that hundreds of expected
    retry warnings do not flood Robot's log; the count and a sample are logged instead.
    """

    SAMPLE = 5

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        self.sample: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.sample) < self.SAMPLE:
            self.sample.append(record.getMessage())

    def install(self, stack: contextlib.ExitStack) -> None:
        retry_logger = logging.getLogger(RETRY_LOGGER)
        retry_logger.addHandler(self)
        stack.callback(retry_logger.removeHandler, self)
        stack.callback(setattr, retry_logger, "propagate", retry_logger.propagate)
        retry_logger.propagate = False


class _Appenders:
    """Threads that append to one session through one shared service and record each outcome.

    With ``per_thread`` set, each thread makes exactly that many appends; without it, each
    appends until :meth:`stop`. Every exception is recorded, never raised, so that a failed
    append is reported by the test rather than lost in a thread.
    """

    def __init__(
        self,
        service: PersistentSessionService,
        session_id: str,
        threads: int,
        per_thread: int | None,
    ) -> None:
        self._service = service
        self._session_id = session_id
        self._per_thread = per_thread
        self._stopping = threading.Event()
        self._progress = threading.Condition()
        self.returned: list[str] = []
        self.errors: list[str] = []
        self._threads = [
            threading.Thread(target=self._append, args=(number,), name=f"appender-{number}")
            for number in range(threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=WAIT_TIMEOUT_SECONDS)
            if thread.is_alive():
                raise AssertionError(f"{thread.name} still runs after {WAIT_TIMEOUT_SECONDS}s")

    def stop(self) -> None:
        self._stopping.set()
        self.join()

    def wait_for_more(self, more: int) -> int:
        """Wait until ``more`` further appends returned (or one raised); return the total."""
        with self._progress:
            target = len(self.returned) + more
            reached = self._progress.wait_for(
                lambda: len(self.returned) >= target or bool(self.errors),
                timeout=WAIT_TIMEOUT_SECONDS,
            )
            if not reached:
                raise AssertionError(
                    f"only {len(self.returned)} of {target} appends returned "
                    f"within {WAIT_TIMEOUT_SECONDS}s"
                )
            return target

    def _append(self, thread_number: int) -> None:
        number = 0
        while not self._stopping.is_set() and (
            self._per_thread is None or number < self._per_thread
        ):
            content = f"thread {thread_number} #{number}"
            number += 1
            try:
                self._service.append_message(self._session_id, "user", content)
            except Exception as error:
                with self._progress:
                    self.errors.append(f"{content}: {type(error).__name__}: {error}")
                    self._progress.notify_all()
                if self._per_thread is None:
                    return
            else:
                with self._progress:
                    self.returned.append(content)
                    self._progress.notify_all()


class FaultsLibrary:
    """Keywords that cause database faults while the public API writes, then check the result."""

    ROBOT_LIBRARY_SCOPE = "SUITE"

    def __init__(self, backend: str = "postgresql") -> None:
        self._backend = backend
        self._resources = contextlib.ExitStack()
        self._reset()

    def _reset(self) -> None:
        self._url: str | None = None
        self._service: PersistentSessionService | None = None
        self._tight_service: PersistentSessionService | None = None
        self._killer: ConnectionKiller | None = None
        self._killed = 0
        self._server: PrivatePostgresServer | None = None
        self._appenders: _Appenders | None = None
        self._appended: list[str] = []
        self._append_errors: list[str] = []
        self._lock_holder: SqliteLockHolder | None = None
        self._retries = _RetryCounter()

    # -- set-up and teardown -----------------------------------------------------------------

    def require_backend(self, backend: str) -> None:
        """Skip the test, saying why, unless the run's backend is ``backend``."""
        if self._backend != backend:
            raise SkipExecution(f"this fault needs {backend}; the run's backend is {self._backend}")

    def open_fault_store(
        self, attempts: int = 6, total_seconds: float = 30.0, max_wait: float = 1.0
    ) -> str:
        """Provision a fresh database of the backend, migrate it, open the service on it.

        The service retries under ``RetryPolicy(attempts, total_seconds, max_wait=max_wait)``
        (the library's defaults unless given). Returns the database URL.
        """
        url = provision(self._resources, self._backend)
        return self._open(url, attempts, total_seconds, max_wait)

    def open_fault_store_on_a_private_postgresql_server(
        self, attempts: int = 6, total_seconds: float = 30.0, max_wait: float = 1.0
    ) -> str:
        """Start a PostgreSQL server of this test alone, open the service on a database of it.

        A private server may be stopped without breaking other suites, or other people's runs,
        on the shared test server. Returns the database URL.
        """
        try:
            self._server = self._resources.enter_context(PrivatePostgresServer())
        except BackendUnavailable as error:
            skip_unavailable(self._backend, error)
        return self._open(self._server.create_database(), attempts, total_seconds, max_wait)

    def _open(self, url: str, attempts: int, total_seconds: float, max_wait: float) -> str:
        self._url = url
        policy = RetryPolicy(
            attempts=int(attempts), total_seconds=float(total_seconds), max_wait=float(max_wait)
        )
        self._service = open_migrated_service(
            self._resources, url, retry_policy=policy, **cheap_reconnect_options(url)
        )
        self._retries.install(self._resources)
        return url

    def open_a_tightly_bounded_service(
        self, busy_timeout_ms: int, attempts: int, total_seconds: float
    ) -> None:
        """Open a second service on the same database that gives up quickly on a lock."""
        self._tight_service = PersistentSessionService.from_url(
            self._require_url(),
            sqlite_busy_timeout_ms=int(busy_timeout_ms),
            retry_policy=RetryPolicy(attempts=int(attempts), total_seconds=float(total_seconds)),
        )
        self._resources.callback(self._tight_service.close)

    def clean_up_faults(self) -> None:
        """Stop every fault, start again what was stopped, close services, drop databases."""
        try:
            if self._appenders is not None:
                self._appenders.stop()
            if self._killer is not None:
                self._killer.stop()
        finally:
            try:
                self._resources.close()  # lock holder, services, private server, databases
            finally:
                self._resources = contextlib.ExitStack()
                self._reset()

    @property
    def _store(self) -> PersistentSessionService:
        if self._service is None:
            raise AssertionError("run 'Open Fault Store' first")
        return self._service

    def _require_url(self) -> str:
        if self._url is None:
            raise AssertionError("run 'Open Fault Store' first")
        return self._url

    # -- writing -------------------------------------------------------------------------------

    def create_session_for_faults(self) -> str:
        """Create a session and return its id."""
        return self._store.create("faults").id

    def append_messages(self, session_id: str, count: int) -> None:
        """Append ``count`` messages one after the other through the service; each must return."""
        for _ in range(int(count)):
            content = f"message {len(self._appended) + 1}"
            self._store.append_message(session_id, "user", content)
            self._appended.append(content)

    def append_from_threads(self, session_id: str, threads: int, total: int) -> None:
        """Append ``total`` messages from ``threads`` threads sharing the one service.

        Waits for every thread; every append's outcome (returned or raised) is recorded.
        """
        threads, total = int(threads), int(total)
        if total % threads:
            raise ValueError(f"{total} appends do not split evenly over {threads} threads")
        appenders = _Appenders(self._store, session_id, threads, per_thread=total // threads)
        appenders.start()
        appenders.join()
        self._appended += appenders.returned
        self._append_errors += appenders.errors

    def start_appending_in_the_background(self, session_id: str, threads: int) -> None:
        """Start ``threads`` threads appending through the shared service until stopped."""
        self._appenders = _Appenders(self._store, session_id, int(threads), per_thread=None)
        self._appenders.start()

    def wait_until_background_appends_returned(self, more: int) -> int:
        """Wait until ``more`` further background appends have returned; return the total.

        Fails at once if an append raised, and after a generous bound if they stall.
        """
        appenders = self._require_appenders()
        target = appenders.wait_for_more(int(more))
        if appenders.errors:
            raise AssertionError(f"an append failed: {appenders.errors[0]}")
        return target

    def stop_appending_in_the_background(self) -> int:
        """Stop the background threads; return how many of their appends returned."""
        appenders = self._require_appenders()
        appenders.stop()
        self._appenders = None
        self._appended += appenders.returned
        self._append_errors += appenders.errors
        return len(appenders.returned)

    def _require_appenders(self) -> _Appenders:
        if self._appenders is None:
            raise AssertionError("run 'Start Appending In The Background' first")
        return self._appenders

    # -- faults --------------------------------------------------------------------------------

    def start_connection_killer(self, every_ms: int = 50) -> None:
        """Kill every connection to the test database from an admin connection every ``every_ms``.

        PostgreSQL: ``pg_terminate_backend``; MariaDB/MySQL: ``KILL CONNECTION``.
        """
        self._killer = ConnectionKiller(self._require_url(), interval_seconds=int(every_ms) / 1000)
        self._killer.start()

    def stop_connection_killer(self) -> int:
        """Stop the killer and return how many connections it terminated."""
        if self._killer is None:
            raise AssertionError("run 'Start Connection Killer' first")
        killer, self._killer = self._killer, None
        self._killed = killer.stop()
        print(f"*INFO* {self._killed} connections killed in {killer.rounds} rounds")
        return self._killed

    def restart_the_postgresql_server(self, down_seconds: float = 1.5) -> None:
        """Stop the private server (ending every session), keep it down, start it again."""
        if self._server is None:
            raise AssertionError("run 'Open Fault Store On A Private PostgreSQL Server' first")
        self._server.restart(float(down_seconds))

    def start_holding_the_sqlite_write_lock(self, seconds: float) -> None:
        """Make a second OS process take the SQLite write lock and hold it for ``seconds``."""
        path = make_url(self._require_url()).database
        assert path is not None
        self._lock_holder = self._resources.enter_context(SqliteLockHolder(path, float(seconds)))

    def wait_for_the_lock_holder_to_release(self) -> None:
        """Wait until the lock-holding process has committed and exited."""
        if self._lock_holder is None:
            raise AssertionError("run 'Start Holding The SQLite Write Lock' first")
        self._lock_holder.wait_until_released()

    def kill_a_writer_process_in_the_middle(
        self, session_id: str, total: int, kill_after: int
    ) -> int:
        """Run a writer process of ``total`` appends; SIGKILL it after ``kill_after`` returned.

        Returns the number of appends the writer acknowledged before it died.
        """
        acknowledged = run_writer_and_kill(
            self._require_url(), session_id, total=int(total), kill_after=int(kill_after)
        )
        print(f"*INFO* the writer acknowledged {acknowledged} of {total} appends")
        return acknowledged

    # -- checks --------------------------------------------------------------------------------

    def the_database_file_should_be_locked(self) -> None:
        """Another connection that does not wait cannot take the write lock now."""
        path = make_url(self._require_url()).database
        assert path is not None
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
        else:
            probe.execute("ROLLBACK")
            raise AssertionError("the database file is not locked")
        finally:
            probe.close()

    def append_should_fail_because_the_database_is_locked(
        self, session_id: str, attempts: int
    ) -> str:
        """An append on the tightly bounded service raises ``DatabaseError`` about the lock.

        The message must say that the database was locked, and after how many attempts and
        how many seconds it gave up. Returns the message.
        """
        if self._tight_service is None:
            raise AssertionError("run 'Open A Tightly Bounded Service' first")
        try:
            self._tight_service.append_message(session_id, "user", "never stored")
        except DatabaseError as error:
            message = str(error)
        else:
            raise AssertionError("the append returned although the database was locked")
        print(f"*INFO* {message}")
        if "locked" not in message:
            raise AssertionError(f"the error does not say the database was locked: {message}")
        if not re.search(rf"\b{int(attempts)} attempt", message):
            raise AssertionError(f"the error does not say it made {attempts} attempts: {message}")
        without_path = message.replace(str(make_url(self._require_url()).database), "")
        if not re.search(r"\b\d+(\.\d+)? ?(s|seconds)\b", without_path):
            raise AssertionError(f"the error does not say for how long it tried: {message}")
        return message

    def connections_should_have_been_killed(self) -> None:
        """The killer terminated at least one of the library's connections."""
        if self._killed <= 0:
            raise AssertionError("the killer terminated no connection: no fault happened")

    def retries_should_have_been_logged(self) -> None:
        """The ``agent_sessions.retry`` logger recorded at least one retried transaction."""
        if self._retries.count <= 0:
            raise AssertionError(f"the {RETRY_LOGGER} logger recorded no retry")
        sample = "\n".join(self._retries.sample)
        print(f"*INFO* {self._retries.count} retries logged, the first ones:\n{sample}")

    def every_append_should_have_returned_normally(self, expected: int | None = None) -> None:
        """No append raised (and, when given, exactly ``expected`` appends returned)."""
        if self._append_errors:
            shown = "\n".join(self._append_errors[:5])
            raise AssertionError(f"{len(self._append_errors)} append(s) raised:\n{shown}")
        if expected is not None and len(self._appended) != int(expected):
            raise AssertionError(f"{len(self._appended)} appends returned, expected {expected}")

    def session_should_verify_clean(self, session_id: str, count: int) -> None:
        """The session holds exactly the sequences 1..count and ``message_count`` is count.

        Checked by ``service.verify()`` where the library has it, and by plain SQL.
        """
        count = int(count)
        verify = getattr(self._store, "verify", None)
        if verify is not None:
            report = verify(session_id)
            if not report.ok:
                problems = "\n".join(f"{item.kind}: {item.detail}" for item in report.problems)
                raise AssertionError(f"verify() found problems:\n{problems}")
        sequences, message_count = self._stored(session_id)
        if sequences != list(range(1, count + 1)):
            duplicates = len(sequences) - len(set(sequences))
            missing = sorted(set(range(1, count + 1)) - set(sequences))[:10]
            raise AssertionError(
                f"{len(sequences)} messages stored, expected {count}: {duplicates} duplicate "
                f"sequence(s), first missing {missing}, last {sequences[-1:]}"
            )
        if message_count != count:
            raise AssertionError(f"message_count is {message_count}, expected {count}")

    def stored_messages_should_be_exactly_the_appended_ones(self, session_id: str) -> None:
        """Every message whose append returned is stored once, and nothing else is stored."""
        stored = Counter(self._stored_contents(session_id))
        wanted = Counter(self._appended)
        if stored != wanted:
            twice = sorted(content for content, times in stored.items() if times > 1)[:5]
            lost = sorted((wanted - stored).elements())[:5]
            extra = sorted(set(stored) - set(wanted))[:5]
            raise AssertionError(
                f"stored messages differ from the appended ones: stored twice {twice}, "
                f"lost {lost}, never appended {extra}"
            )

    def session_should_hold_a_gapless_prefix(self, session_id: str, acknowledged: int) -> int:
        """After a crash: sequences 1..k, ``message_count`` k, message i is the i-th appended.

        k is the acknowledged count, or one more when the append in flight at the kill had
        committed. Returns k.
        """
        acknowledged = int(acknowledged)
        self._settle(session_id)
        sequences, _ = self._stored(session_id)
        k = len(sequences)
        if not acknowledged <= k <= acknowledged + 1:
            raise AssertionError(
                f"{k} messages stored; the writer acknowledged {acknowledged} "
                f"(at most one more may have committed unacknowledged)"
            )
        self.session_should_verify_clean(session_id, k)
        contents = self._stored_contents(session_id)
        expected = [f"message {number}" for number in range(1, k + 1)]
        for sequence, (content, wanted) in enumerate(zip(contents, expected, strict=True), 1):
            if content != wanted:
                raise AssertionError(f"sequence {sequence} holds {content!r}, expected {wanted!r}")
        return k

    def session_should_have_no_messages(self, session_id: str) -> None:
        """Nothing was written to the session: no message row and ``message_count`` 0."""
        sequences, message_count = self._stored(session_id)
        if sequences or message_count:
            raise AssertionError(
                f"{len(sequences)} message(s) stored and message_count {message_count}"
            )

    def sqlite_integrity_check_should_answer_ok(self) -> None:
        """``PRAGMA integrity_check`` on the database file answers ``ok``."""
        path = make_url(self._require_url()).database
        assert path is not None
        connection = sqlite3.connect(path)
        try:
            answer = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        finally:
            connection.close()
        if answer != ["ok"]:
            raise AssertionError(f"PRAGMA integrity_check answered {answer}")

    def _query(self, sql: str, session_id: str) -> list[Any]:
        engine = create_database_engine(self._require_url())
        try:
            with engine.connect() as connection:
                return list(connection.execute(text(sql), {"id": session_id}).all())
        finally:
            engine.dispose()

    def _stored(self, session_id: str) -> tuple[list[int], int]:
        """Return the session's sequences and its message_count, read in one statement.

        One statement reads one snapshot, so the two always agree with each other's moment.
        """
        rows = self._query(
            "SELECT s.message_count, m.sequence FROM sessions s "
            "LEFT JOIN session_messages m ON m.session_id = s.id "
            "WHERE s.id = :id ORDER BY m.sequence",
            session_id,
        )
        if not rows:
            raise AssertionError(f"session {session_id} is not stored")
        return [row.sequence for row in rows if row.sequence is not None], rows[0].message_count

    def _stored_contents(self, session_id: str) -> list[str]:
        rows = self._query(
            "SELECT content FROM session_messages WHERE session_id = :id ORDER BY sequence",
            session_id,
        )
        return [row.content for row in rows]

    def _settle(self, session_id: str) -> None:
        """Wait until no transaction of a killed client still holds the session row.

        A server finishes a killed client's transaction (commit already sent, or rollback)
        on its own time; every append locks the session row, so taking that lock waits for it.
        SQLite has nothing to wait for: the killed process took its transaction with it.
        """
        if self._backend == "sqlite":
            return
        self._query("SELECT id FROM sessions WHERE id = :id FOR UPDATE", session_id)


# Robot imports a library given by path through the class named like its module.
helper_faults = FaultsLibrary
