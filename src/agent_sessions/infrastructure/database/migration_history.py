"""Tamper-evident migration history: the shipped lock file and the database's ledger.

The **lock file** (``migrations/migrations.lock.json`` in the repository, shipped inside the
wheel next to the scripts) records, for every revision in chain order, its file, its parent,
the SHA-256 of its normalised source (UTF-8, LF line ends), the release that first shipped it,
and any amendments; a chained hash over all entries ends the file, so two parallel new
revisions conflict in git. ``agent-sessions migrations lock --check`` fails when a revision
was edited, removed, re-parented or added without an entry.

The **ledger** (table ``agent_sessions_migration_ledger``) gets one row per applied revision,
in the same transaction as Alembic's version bump, with the hash of the file that ran. When a
store opens, the ledger is checked against the lock: a revision edited after it was applied,
or a database written by a newer library, is refused with :class:`MigrationHistoryError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, MetaData, String, Table, inspect, select

from agent_sessions.domain.errors import InvalidInputError, MigrationHistoryError
from agent_sessions.infrastructure.database.types import UTCDateTime

__all__ = [
    "HASH_ALGORITHM",
    "LEDGER_TABLE",
    "LOCK_FILE_NAME",
    "LedgerRow",
    "LockEntry",
    "MigrationLock",
    "ScriptState",
    "amend_lock",
    "ledger_table",
    "lock_problems",
    "read_ledger",
    "record_applied",
    "record_reverted",
    "script_states",
    "shipped_lock_path",
    "source_sha256",
    "update_lock",
    "verify_ledger",
]

HASH_ALGORITHM = "sha256-utf8-lf"
LEDGER_TABLE = "agent_sessions_migration_ledger"
LOCK_FILE_NAME = "migrations.lock.json"
LOCK_FORMAT = "agent-sessions/migration-lock"

_ledger_metadata = MetaData()
ledger_table = Table(
    LEDGER_TABLE,
    _ledger_metadata,
    Column("revision", String(64), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("algorithm", String(32), nullable=False),
    Column("applied_at", UTCDateTime(), nullable=False),
    Column("library_version", String(32), nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)


def source_sha256(path: Path) -> str:
    """Return the SHA-256 of a revision's source, decoded as UTF-8 with LF line ends."""
    text = path.read_bytes().decode("utf-8")
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ScriptState:
    """A revision as the script directory holds it now."""

    revision: str
    file: str
    down_revision: str | None
    sha256: str


def script_states(scripts: ScriptDirectory) -> list[ScriptState]:
    """Return every revision of ``scripts`` in chain order (base first), with its hash."""
    root = Path(scripts.dir)
    states = []
    for script in reversed(list(scripts.walk_revisions())):
        down = script.down_revision
        if isinstance(down, tuple | list):
            down = ",".join(down)
        path = Path(script.path)
        states.append(
            ScriptState(
                revision=script.revision,
                file=path.relative_to(root).as_posix(),
                down_revision=down,
                sha256=source_sha256(path),
            )
        )
    return states


@dataclass(frozen=True, slots=True)
class LockEntry:
    """One revision of the lock file."""

    revision: str
    file: str
    down_revision: str | None
    sha256: str
    released_in: str
    amendments: tuple[dict[str, str], ...] = ()

    @property
    def accepted_hashes(self) -> frozenset[str]:
        """The original hash and every amended one: a ledger may hold any of them."""
        return frozenset({self.sha256, *(a["sha256"] for a in self.amendments)})

    @property
    def current_sha256(self) -> str:
        """The hash the shipped file must have now (the last amendment's, else the original)."""
        return self.amendments[-1]["sha256"] if self.amendments else self.sha256

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form of the entry."""
        return {
            "revision": self.revision,
            "file": self.file,
            "down_revision": self.down_revision,
            "sha256": self.sha256,
            "released_in": self.released_in,
            "amendments": [dict(amendment) for amendment in self.amendments],
        }


def _chain(entries: Iterable[LockEntry]) -> str:
    digest = ""
    for entry in entries:
        link = f"{digest}:{entry.revision}:{entry.down_revision}:{entry.current_sha256}"
        digest = hashlib.sha256(link.encode("utf-8")).hexdigest()
    return digest


@dataclass(frozen=True, slots=True)
class MigrationLock:
    """The lock file: revisions in chain order and the chained head hash."""

    entries: tuple[LockEntry, ...] = field(default=())

    @property
    def head(self) -> str | None:
        """The newest locked revision."""
        return self.entries[-1].revision if self.entries else None

    @property
    def chain_sha256(self) -> str:
        """The hash chained over every entry, base first."""
        return _chain(self.entries)

    def entry(self, revision: str) -> LockEntry | None:
        """Return the entry of ``revision``, or None."""
        return next((entry for entry in self.entries if entry.revision == revision), None)

    def to_json(self) -> str:
        """Return the lock file's text: stable key order, the head hash on the last lines."""
        document = {
            "format": LOCK_FORMAT,
            "algorithm": HASH_ALGORITHM,
            "revisions": [entry.to_dict() for entry in self.entries],
            "head": self.head,
            "chain_sha256": self.chain_sha256,
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> MigrationLock:
        """Parse a lock file; ``source`` names it in errors."""
        try:
            document = json.loads(text)
            if document["format"] != LOCK_FORMAT or document["algorithm"] != HASH_ALGORITHM:
                raise ValueError("unknown format or algorithm")
            lock = cls(
                tuple(
                    LockEntry(
                        revision=item["revision"],
                        file=item["file"],
                        down_revision=item["down_revision"],
                        sha256=item["sha256"],
                        released_in=item["released_in"],
                        amendments=tuple(item.get("amendments", ())),
                    )
                    for item in document["revisions"]
                )
            )
            stated = document["chain_sha256"]
        except (ValueError, KeyError, TypeError) as exc:
            raise MigrationHistoryError(
                f"the migration lock file {source} is malformed: {exc}"
            ) from exc
        if stated != lock.chain_sha256:
            raise MigrationHistoryError(
                f"the migration lock file {source} has a stale chain_sha256 (stated {stated}, "
                f"computed {lock.chain_sha256}); run `agent-sessions migrations lock`"
            )
        return lock

    @classmethod
    def read(cls, path: Path) -> MigrationLock:
        """Read a lock file; a missing file is an empty lock."""
        if not path.exists():
            return cls()
        return cls.from_json(path.read_text(encoding="utf-8"), str(path))


def shipped_lock_path() -> Path:
    """Return the lock file that ships with this library.

    In a wheel it sits next to the packaged scripts; in a source checkout (editable install)
    it is ``migrations/migrations.lock.json`` at the repository root.
    """
    packaged = resources.files("agent_sessions.infrastructure.database") / "migrations"
    candidate = Path(str(packaged)) / LOCK_FILE_NAME
    if candidate.exists():
        return candidate
    return Path(__file__).resolve().parents[4] / "migrations" / LOCK_FILE_NAME


def lock_problems(lock: MigrationLock, states: Sequence[ScriptState]) -> list[str]:
    """Return one line per way the scripts and the lock disagree (empty when they agree)."""
    problems = []
    locked = {entry.revision: entry for entry in lock.entries}
    present = {state.revision for state in states}
    for state in states:
        entry = locked.get(state.revision)
        if entry is None:
            problems.append(
                f"{state.file}: revision {state.revision} was added without a lock entry; "
                f"run `agent-sessions migrations lock`"
            )
            continue
        if state.sha256 != entry.current_sha256:
            problems.append(
                f"{state.file}: revision {state.revision} was edited after it was locked "
                f"(locked sha256 {entry.current_sha256}, file sha256 {state.sha256}); restore "
                f"it and add a new revision, or record an amendment with "
                f"`agent-sessions migrations lock --amend {state.revision} --reason ...`"
            )
        if state.down_revision != entry.down_revision:
            problems.append(
                f"{state.file}: revision {state.revision} was re-parented "
                f"(locked parent {entry.down_revision}, now {state.down_revision})"
            )
    for entry in lock.entries:
        if entry.revision not in present:
            problems.append(f"{entry.file}: locked revision {entry.revision} was removed")
    order = [state.revision for state in states]
    if not problems and order != [entry.revision for entry in lock.entries]:
        problems.append("the revisions are locked in another order than their chain")
    return problems


def update_lock(lock: MigrationLock, states: Sequence[ScriptState], version: str) -> MigrationLock:
    """Return ``lock`` with an entry for every new revision (released in ``version``).

    Raises:
        MigrationHistoryError: a locked revision was edited, removed or re-parented.

    """
    blocking = [line for line in lock_problems(lock, states) if "without a lock entry" not in line]
    blocking = [line for line in blocking if "another order" not in line]
    if blocking:
        raise MigrationHistoryError("; ".join(blocking))
    locked = {entry.revision: entry for entry in lock.entries}
    entries = tuple(
        locked.get(state.revision)
        or LockEntry(
            revision=state.revision,
            file=state.file,
            down_revision=state.down_revision,
            sha256=state.sha256,
            released_in=version,
        )
        for state in states
    )
    return MigrationLock(entries)


def amend_lock(
    lock: MigrationLock,
    states: Sequence[ScriptState],
    revision: str,
    reason: str,
    version: str,
) -> MigrationLock:
    """Return ``lock`` with an amendment recording the current hash of ``revision``."""
    if not reason.strip():
        raise InvalidInputError("reason", "an amendment needs a reason")
    entry = lock.entry(revision)
    if entry is None:
        raise InvalidInputError("revision", f"{revision!r} is not in the lock file")
    state = next((item for item in states if item.revision == revision), None)
    if state is None:
        raise InvalidInputError("revision", f"{revision!r} has no script any more")
    if state.sha256 == entry.current_sha256:
        raise InvalidInputError("revision", f"{revision} is unchanged; nothing to amend")
    amendment = {"sha256": state.sha256, "reason": reason.strip(), "amended_in": version}
    amended = replace(entry, amendments=(*entry.amendments, amendment))
    return MigrationLock(tuple(amended if e.revision == revision else e for e in lock.entries))


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One applied revision as the database's ledger records it."""

    revision: str
    sha256: str
    algorithm: str
    applied_at: datetime
    library_version: str


def read_ledger(connection: Connection) -> list[LedgerRow] | None:
    """Return the ledger's rows, or None when the database has no ledger table."""
    if not inspect(connection).has_table(LEDGER_TABLE):
        return None
    rows = connection.execute(select(ledger_table).order_by(ledger_table.c.applied_at))
    return [LedgerRow(**row._mapping) for row in rows]


def record_applied(connection: Connection, revision: str, sha256: str, version: str) -> None:
    """Write (or replace) the ledger row of an applied revision."""
    connection.execute(ledger_table.delete().where(ledger_table.c.revision == revision))
    connection.execute(
        ledger_table.insert().values(
            revision=revision,
            sha256=sha256,
            algorithm=HASH_ALGORITHM,
            applied_at=datetime.now(UTC),
            library_version=version,
        )
    )


def record_reverted(connection: Connection, revision: str) -> None:
    """Remove the ledger row of a revision that was downgraded."""
    connection.execute(ledger_table.delete().where(ledger_table.c.revision == revision))


def verify_ledger(ledger: Sequence[LedgerRow], lock: MigrationLock, url: str) -> None:
    """Check that every revision in the ledger is shipped and unchanged since it was applied.

    Args:
        ledger: the database's ledger rows.
        lock: the shipped lock file.
        url: the database (redacted), for messages.

    Raises:
        MigrationHistoryError: a revision unknown to this library (a newer one wrote the
            database), or a revision whose applied source differs from every shipped version
            of it.

    """
    for row in ledger:
        entry = lock.entry(row.revision)
        if entry is None:
            raise MigrationHistoryError(
                f"database {url} has revision {row.revision} applied, which this version of "
                f"agent-sessions does not ship: a newer release wrote it; upgrade the library "
                f"(pip install -U agent-sessions)",
                revision=row.revision,
            )
        if row.sha256 not in entry.accepted_hashes:
            raise MigrationHistoryError(
                f"database {url}: revision {row.revision} was applied from a source with "
                f"sha256 {row.sha256}, but this release ships it with sha256 "
                f"{entry.current_sha256}: the revision was edited after it was applied. "
                f"Restore the released file and ship the change as a new (reconcile) "
                f"revision; see docs/how-to/write-a-migration.md",
                revision=row.revision,
            )
