"""Shared set-up of the benchmarks: seeded data, and a service per backend on a fresh database.

Every benchmark opens its own throwaway database in ``setup`` through
``testsupport.databases.provision_database`` and removes it in ``teardown`` (PostgreSQL
databases are named ``agent_sessions_test_*``), so no run leaves a database behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # ASV may start the benchmark process without PYTHONPATH
    sys.path.insert(0, str(ROOT))

from agent_sessions import PersistentSessionService  # noqa: E402
from testsupport.databases import provision_database  # noqa: E402

__all__ = [
    "BACKENDS",
    "SIZES",
    "BenchmarkStore",
    "export_document",
    "file_events_document",
    "message_text",
]

BACKENDS = ["sqlite", "postgresql", "mariadb"]
SIZES = [10, 200]
SEED = 20240611
ROLES = ("user", "assistant")
_WORDS = [
    "session",
    "agent",
    "token",
    "model",
    "prompt",
    "reply",
    "tool",
    "cache",
    "query",
    "result",
    "context",
    "window",
    "stream",
    "retry",
    "schema",
    "export",
    "import",
    "ledger",
    "cursor",
    "vector",
    "summary",
    "plan",
    "step",
    "answer",
    "question",
]


def message_text(index: int, rng: random.Random | None = None) -> str:
    """Return a deterministic message body of 8 to 40 words for ``index``."""
    rng = rng or random.Random(SEED + index)
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 40)))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def export_document(size: int) -> dict[str, Any]:
    """Return a seeded export document (documented format) with ``size`` messages."""
    rng = random.Random(SEED + size)
    start = datetime(2024, 6, 11, 9, 0, tzinfo=UTC)
    messages = [
        {
            "id": f"01J00000000000000000{index:06d}",
            "sequence": index,
            "role": ROLES[index % 2],
            "content": message_text(index, rng),
            "metadata": {"turn": index},
            "token_count": rng.randint(5, 400),
            "created_at": _stamp(start + timedelta(seconds=index)),
        }
        for index in range(1, size + 1)
    ]
    document: dict[str, Any] = {
        "format": "agent-sessions/export",
        "schema_version": 1,
        "exported_at": _stamp(start + timedelta(hours=1)),
        "session": {
            "id": "01J00000000000000000000000",
            "actor_name": "bench-bot",
            "title": f"seeded conversation of {size} messages",
            "metadata": {"seed": SEED},
            "prompt_tokens": sum(m["token_count"] for m in messages[::2]),
            "completion_tokens": sum(m["token_count"] for m in messages[1::2]),
            "message_count": size,
            "created_at": _stamp(start),
            "updated_at": _stamp(start + timedelta(seconds=size)),
        },
        "messages": messages,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    document["checksum"] = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return document


_EVENT_TYPES = ("read", "read", "edit", "edit", "write", "rename", "delete", "command")


def file_events_document(size: int, events: int, paths: int) -> dict[str, Any]:
    """Return a seeded version 2 export document: ``size`` messages, ``events`` file events.

    The events name ``paths`` different paths (command events name the path they ran in),
    spread evenly over the messages and timed after their message, in the order recorded.
    """
    rng = random.Random(SEED + size + events + paths)
    document = export_document(size)
    del document["checksum"]
    start = datetime(2024, 6, 11, 9, 0, tzinfo=UTC)
    per_message = -(-events // size)
    file_events = []
    for index in range(events):
        sequence = index // per_message + 1
        kind = rng.choice(_EVENT_TYPES)
        path = f"src/package_{index % paths % 25:02d}/module_{index % paths:04d}.py"
        file_events.append(
            {
                "id": f"01J0000000000000000{index:07d}",
                "message_sequence": sequence,
                "event_type": kind,
                "file_path": path,
                "diff": f"@@ -1 +1 @@\n-{rng.random()}\n+{rng.random()}\n"
                if kind in ("edit", "write")
                else None,
                "command": f"pytest {path}" if kind == "command" else None,
                "created_at": _stamp(
                    start + timedelta(seconds=sequence, microseconds=index % per_message + 1)
                ),
            }
        )
    document["schema_version"] = 2
    document["session"]["external_id"] = None
    document["session"]["updated_at"] = max(
        document["session"]["updated_at"], file_events[-1]["created_at"] if file_events else ""
    )
    document["file_events"] = file_events
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    document["checksum"] = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return document


class BenchmarkStore:
    """A service on a fresh, migrated database of one backend; ``close`` removes the database."""

    def __init__(self, backend: str) -> None:
        self._stack = contextlib.ExitStack()
        try:
            url = self._stack.enter_context(provision_database(backend))
            self.service = PersistentSessionService.from_url(url, migrate=True)
            self._stack.callback(self.service.close)
        except BaseException:
            self._stack.close()
            raise

    def seed_sessions(self, count: int) -> list[str]:
        """Create ``count`` sessions over four actors; return their ids, oldest first."""
        return [
            self.service.create(f"bench-actor-{index % 4}", title=f"session {index}").id
            for index in range(count)
        ]

    def seed_conversation(self, size: int) -> str:
        """Store a seeded conversation of ``size`` messages in one transaction; return its id."""
        return self.service.import_session(export_document(size)).id

    def seed_file_events(self, size: int, events: int, paths: int) -> str:
        """Store a conversation of ``size`` messages and ``events`` file events over ``paths``."""
        return self.service.import_session(file_events_document(size, events, paths)).id

    def close(self) -> None:
        """Close the service and drop its database."""
        self._stack.close()
