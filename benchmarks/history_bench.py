"""Issue 16's performance goals, each measured beside its floor in the same run.

A ratio is ``time_<ours> / time_<floor>`` of one run (see ``history_goals.py`` for the floors):

- ``Fork``: ``fork_session`` of a 100,000-message session beside the same ``INSERT ...
  SELECT`` written by hand on the bare driver (goal: within 2 times);
- ``ContextWindow``: ``context_messages(limit=50)`` of a session with a compaction beside
  ``recent_messages(50)`` of it (goal: within 1.5 times); :data:`OPS` reads per timed call.

``nox -s bench_compare`` measures the same, the two sides taking turns, and prints the ratios.
"""

from __future__ import annotations

from .common import BACKENDS, seed_plain_session
from .history_goals import TAIL, WARM_UP_SIZE, HandFork, compact_session
from .scale_bench import OPS, WARM_UP, _Suite


class Fork(_Suite):
    """``fork_session`` of a long session beside the hand-written ``INSERT ... SELECT``."""

    params = (BACKENDS, [100_000])
    param_names = ("backend", "size")
    number = 1

    def prepare(self, backend, size):
        self.session_id = seed_plain_session(self.store.url, size)
        self.hand = HandFork(self._open_plain())
        warm = seed_plain_session(self.store.url, WARM_UP_SIZE)
        self.service.fork_session(warm)
        self.hand.fork(warm, WARM_UP_SIZE)

    def time_fork_session(self, backend, size):
        self.service.fork_session(self.session_id)

    def time_floor_hand_insert_select(self, backend, size):
        self.hand.fork(self.session_id, size)


class ContextWindow(_Suite):
    """``context_messages(limit=50)`` of a compacted session beside ``recent_messages(50)``."""

    params = (BACKENDS, [10_000])
    param_names = ("backend", "size")

    def prepare(self, backend, size):
        self.session_id = seed_plain_session(self.store.url, size)
        compact_session(self.service, self.session_id, size)
        for _ in range(WARM_UP):
            self.service.context_messages(self.session_id, limit=TAIL)
            self.service.recent_messages(self.session_id, TAIL)

    def time_context_messages(self, backend, size):
        for _ in range(OPS):
            self.service.context_messages(self.session_id, limit=TAIL)

    def time_recent_messages(self, backend, size):
        for _ in range(OPS):
            self.service.recent_messages(self.session_id, TAIL)
