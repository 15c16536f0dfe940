"""A worker process of the concurrency suite: ``python -m testsupport.workload KIND ...``.

Kinds:
    append URL COUNT SESSION_ID
        append COUNT messages to one session.
    tokens URL COUNT SESSION_ID
        add 1 prompt and 2 completion tokens COUNT times.
    spread URL ROUNDS SESSION_ID [SESSION_ID ...]
        append one message to each session, in a shuffled order, ROUNDS times.
    migrate URL 0
        migrate the database to head, print which revisions this process applied, then
        open a service on it without migrating.

Every worker opens its own service (its own connection pool), then says ``ready`` and waits
for the suite's ``go`` (:mod:`testsupport.racing_workers`) so that all workers start their
writes together. It prints how many writes it made and exits 0, or prints the error and
exits 1.
"""

from __future__ import annotations

import os
import random
import sys

from agent_sessions import PersistentSessionService
from agent_sessions.infrastructure.database import create_database_engine, upgrade
from testsupport.racing_workers import wait_for_go


def _migrate(url: str) -> int:
    engine = create_database_engine(url)
    try:
        if not wait_for_go():
            return 1
        applied = upgrade(engine)
    finally:
        engine.dispose()
    with PersistentSessionService.from_url(url) as service:
        service.list(limit=1)
    print("applied:", ",".join(applied) or "-")
    return 0


def main(argv: list[str]) -> int:
    kind, url, count, *session_ids = argv
    if kind == "migrate":
        return _migrate(url)
    writes = 0
    with PersistentSessionService.from_url(url) as service:
        if not wait_for_go():
            return 1
        if kind == "append":
            for number in range(int(count)):
                service.append_message(session_ids[0], "user", f"pid {os.getpid()} #{number}")
                writes += 1
        elif kind == "tokens":
            for _ in range(int(count)):
                service.update_token_usage(session_ids[0], prompt_tokens=1, completion_tokens=2)
                writes += 1
        elif kind == "spread":
            shuffler = random.Random(os.getpid())
            for round_number in range(int(count)):
                order = list(session_ids)
                shuffler.shuffle(order)
                for session_id in order:
                    service.append_message(session_id, "assistant", f"round {round_number}")
                    writes += 1
        else:
            raise SystemExit(f"unknown workload kind {kind!r}")
    print(f"{kind}: {writes} writes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
