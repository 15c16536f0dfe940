"""Issue 17, item 1: listing one owner's sessions costs the same among 1,000 or 1,000,000.

One owner holds :data:`OWNED` sessions, spread evenly in time among all the others' (each of
:data:`OTHER_OWNERS` other owners holds a share of the rest). Each suite lists that owner's
first page (``list(owner_id=..., limit=50)``) and its last page, reached by following the
cursors in ``setup``, and reports the median of :data:`CALLS` listings, in milliseconds: the
flatness ratio is the median among the larger store over the one among the smaller.

``OwnerListing`` is in the default run (``nox -s benchmark``): 1,000 against 10,000 sessions,
seeded in well under a second. ``OwnerListingMillion`` compares 1,000 with 1,000,000 and runs
only with ``AGENT_SESSIONS_SLOW_BENCH=1`` (without it its ``setup`` raises
``NotImplementedError``, which ASV reports as skipped): the million rows go straight into the
table (``COPY`` on PostgreSQL, ``executemany`` elsewhere), about 15 seconds a store::

    AGENT_SESSIONS_SLOW_BENCH=1 PYTHONPATH=. asv run --config asv.conf.json --python=same \\
        --dry-run --show-stderr --bench "owners_bench.OwnerListingMillion"
"""

from __future__ import annotations

import os
import statistics
import time

from .common import BACKENDS, BenchmarkStore, PlainSQL, seed_plain_sessions

ENVIRONMENT_VARIABLE = "AGENT_SESSIONS_SLOW_BENCH"
"""Set to 1 to run ``OwnerListingMillion``, as ``slow_bench.py`` is run."""
OWNER = "owner-under-test"
OWNED = 500
"""Sessions of the owner listed: 10 pages of :data:`PAGE_SIZE`."""
OTHER_OWNERS = 997
PAGE_SIZE = 50
CALLS = 30
"""Listings per measurement; the median of their times is reported."""


def seed_owned_sessions(url: str, total: int) -> None:
    """Store ``total`` empty sessions, :data:`OWNED` of them :data:`OWNER`'s, straight in.

    Sessions are one millisecond apart; every ``total // OWNED``-th is the owner's, the others
    go round :data:`OTHER_OWNERS` owners (and a few have none), so that the owner's sessions
    are spread over the whole table, as a long-lived platform's are.
    """
    step = total // OWNED
    seed_plain_sessions(url, total, owner=lambda index: _owner(index, step))
    plain = PlainSQL(url)
    try:
        if plain.backend == "postgresql":
            # A store in service has been vacuumed: without it the first reads of the new rows
            # set their hint bits, and autovacuum walks the million rows while they are timed.
            plain.connection.autocommit = True
            plain.execute("VACUUM sessions")
    finally:
        plain.close()


def _owner(index: int, step: int) -> str | None:
    if index % step == 0 and index // step < OWNED:
        return OWNER
    if index % 101 == 1:
        return None
    return f"owner-{index % OTHER_OWNERS}"


class OwnerListing:
    """The owner's first page and last page, among 1,000 and 10,000 sessions (default run)."""

    params = (BACKENDS, [1_000, 10_000])
    param_names = ("backend", "sessions")
    unit = "ms"
    timeout = 600
    warmup_time = 0

    def setup(self, backend, sessions):
        self.store = BenchmarkStore(backend)
        try:
            seed_owned_sessions(self.store.url, sessions)
            service = self.store.service
            pages = [service.list(owner_id=OWNER, limit=PAGE_SIZE)]
            while pages[-1].next_cursor is not None:
                pages.append(
                    service.list(owner_id=OWNER, limit=PAGE_SIZE, after=pages[-1].next_cursor)
                )
            listed = [session for page in pages for session in page]
            assert len(listed) == OWNED, f"the owner lists {len(listed)} sessions, not {OWNED}"
            assert len(pages[-2]) == PAGE_SIZE, "the deep page is full"
            self.deep_cursor = pages[-3].next_cursor  # the last full page (pages[-1] is empty)
        except BaseException:
            self.store.close()
            raise

    def teardown(self, backend, sessions):
        store = getattr(self, "store", None)  # ASV tears down after a skipped set-up too
        if store is not None:
            store.close()

    def _median_ms(self, after):
        service = self.store.service
        times = []
        for _ in range(CALLS):
            started = time.perf_counter()
            page = service.list(owner_id=OWNER, limit=PAGE_SIZE, after=after)
            times.append(time.perf_counter() - started)
            assert len(page) == PAGE_SIZE
        return statistics.median(times) * 1000

    def track_first_page_ms(self, backend, sessions):
        return self._median_ms(None)

    def track_deep_page_ms(self, backend, sessions):
        return self._median_ms(self.deep_cursor)


class OwnerListingMillion(OwnerListing):
    """The same among 1,000 and 1,000,000 sessions (only with ``AGENT_SESSIONS_SLOW_BENCH=1``)."""

    params = (BACKENDS, [1_000, 1_000_000])
    timeout = 3600

    def setup(self, backend, sessions):
        if os.environ.get(ENVIRONMENT_VARIABLE) != "1":
            raise NotImplementedError(f"the 1,000,000-session store needs {ENVIRONMENT_VARIABLE}=1")
        super().setup(backend, sessions)
