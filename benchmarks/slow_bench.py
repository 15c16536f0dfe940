"""The slow suite: issue 7's goals at full scale, 1,000,000 messages and 100,000 sessions.

Skipped unless ``AGENT_SESSIONS_SLOW_BENCH=1`` is set: without it every ``setup`` here raises
``NotImplementedError``, which ASV reports as a skipped benchmark. This module imports nothing
of the library until then, so in the default run (``nox -s benchmark``) each skipped
benchmark costs only the start of a bare interpreter. Run it with::

    AGENT_SESSIONS_SLOW_BENCH=1 PYTHONPATH=. asv run --config asv.conf.json --python=same \\
        --dry-run --show-stderr --bench "slow_bench.*\\('(sqlite|postgresql)'"

(drop the parenthesised part of ``--bench`` to include MariaDB). The suites are those of
``scale_bench.py``, at full size: every benchmark seeds its own database (1,000,000 rows take
from about 15 seconds on SQLite to a minute on MariaDB), so each is measured once (one
sample, one round) rather than re-seeded for more samples.

- ``TailRead``: ``recent_messages(id, 50)`` on 10,000 and on 1,000,000 messages, so that the
  flatness ratio (1M / 10k, goal at most 1.5) comes from one run, with the floor beside it.
- ``Listing``: the first page and the 10,000th page (the last, of 10 sessions) of 100,000.
- ``Export`` and ``Import``: a 1,000,000-message session, its time or messages/s, and the
  peak RSS of the process (goal under 150 MB), set-up included.
- ``FullRead``: the peak RSS of ``iter_messages`` over 1,000,000 messages.
- ``AppendMemory``: how much the RSS of a process grows over 100,000 appends, from its
  10,000th to its last (goal: it does not grow).
"""

from __future__ import annotations

import os

ENVIRONMENT_VARIABLE = "AGENT_SESSIONS_SLOW_BENCH"
BACKENDS = ["sqlite", "postgresql", "mariadb"]
MILLION = 1_000_000


class _Slow:
    """Runs a suite of ``scale_bench`` at full size, when ``AGENT_SESSIONS_SLOW_BENCH=1``."""

    suite = ""
    timeout = 3600
    rounds = 1
    repeat = 1
    warmup_time = 0

    def setup(self, *params):
        if os.environ.get(ENVIRONMENT_VARIABLE) != "1":
            raise NotImplementedError(f"the slow suite runs only with {ENVIRONMENT_VARIABLE}=1")
        from . import scale_bench

        self.impl = getattr(scale_bench, self.suite)()
        self.impl.setup(*params)

    def teardown(self, *params):
        impl = getattr(self, "impl", None)
        if impl is not None:
            impl.teardown(*params)


class TailRead(_Slow):
    suite = "TailRead"
    params = (BACKENDS, [10_000, MILLION])
    param_names = ("backend", "size")

    def time_recent_messages(self, backend, size):
        self.impl.time_recent_messages(backend, size)

    def time_floor_tail(self, backend, size):
        self.impl.time_floor_tail(backend, size)


class Listing(_Slow):
    suite = "Listing"
    params = (BACKENDS, [100_000])
    param_names = ("backend", "sessions")

    def time_list_first_page(self, backend, sessions):
        self.impl.time_list_first_page(backend, sessions)

    def time_list_deep_page(self, backend, sessions):
        self.impl.time_list_deep_page(backend, sessions)

    def time_floor_deep_page(self, backend, sessions):
        self.impl.time_floor_deep_page(backend, sessions)


class Export(_Slow):
    suite = "Export"
    params = (BACKENDS, [MILLION])
    param_names = ("backend", "size")

    def time_export_session_to(self, backend, size):
        self.impl.time_export_session_to(backend, size)

    def peakmem_export_session_to(self, backend, size):
        self.impl.peakmem_export_session_to(backend, size)


class Import(_Slow):
    suite = "Import"
    params = (BACKENDS, [MILLION])
    param_names = ("backend", "size")

    def track_import_messages_per_second(self, backend, size):
        return self.impl.track_import_messages_per_second(backend, size)

    track_import_messages_per_second.unit = "messages/s"

    def peakmem_import_session_from(self, backend, size):
        self.impl.peakmem_import_session_from(backend, size)


class FullRead(_Slow):
    suite = "FullRead"
    params = (BACKENDS, [MILLION])
    param_names = ("backend", "size")

    def peakmem_iter_messages(self, backend, size):
        self.impl.peakmem_iter_messages(backend, size)


class AppendMemory(_Slow):
    suite = "AppendMemory"
    params = (BACKENDS, [100_000])
    param_names = ("backend", "appends")

    def track_rss_growth_mb(self, backend, appends):
        return self.impl.track_rss_growth_mb(backend, appends)

    track_rss_growth_mb.unit = "MB"  # type: ignore[attr-defined]
