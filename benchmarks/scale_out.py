"""Issue 7's last goal: appenders in several processes, and memory over a long run of appends.

Both workloads run the service in fresh processes (``spawn``), so that nothing the calling
process holds (ASV's harness, another store, an imported peer) is measured:

- :func:`appends_per_second` starts ``processes`` workers on one database; each opens its own
  store and session, warms up, waits for the others, then appends ``appends`` messages, one
  commit each. The throughput is all their appends over the wall time from the first start
  to the last finish (``time.monotonic`` is one clock for every process on Linux).
- :func:`rss_during_appends` appends ``appends`` messages to one session in one worker and
  reads its resident set size (``VmRSS``) at each of ``checkpoints``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["appends_per_second", "rss_during_appends", "rss_growth_mb"]

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 50
"""Appends each worker makes before the timed ones (statements compiled, pool filled)."""
_TIMEOUT = 900.0


def _content(index: int) -> str:
    return f"message {index}: " + "the agent reads the file and plans its next step " * 3


def _role(index: int) -> str:
    return "user" if index % 2 else "assistant"


def _worker(*arguments: str) -> subprocess.Popen[str]:
    # A fresh interpreter per worker, not multiprocessing: under ASV the parent's main module
    # is ASV's own runner, which spawned children would run again.
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.scale_out", *arguments],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _answer(worker: subprocess.Popen[str]) -> str:
    assert worker.stdout is not None
    line = worker.stdout.readline()
    if not line:
        worker.wait(timeout=_TIMEOUT)
        raise RuntimeError(f"benchmark worker failed with exit code {worker.returncode}")
    return line.strip()


def appends_per_second(url: str, processes: int, appends: int) -> float:
    """Return the appends per second of ``processes`` workers, ``appends`` each, together."""
    workers = [_worker("append", url, str(appends)) for _ in range(processes)]
    try:
        for worker in workers:
            _answer(worker)  # "ready": warmed up, waiting for the start
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("start\n")
            worker.stdin.flush()
        spans = [json.loads(_answer(worker)) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait(timeout=_TIMEOUT)
    wall = max(end for _, end in spans) - min(began for began, _ in spans)
    return processes * appends / wall


def rss_during_appends(
    url: str, appends: int, checkpoints: Sequence[int]
) -> list[tuple[int, float]]:
    """Return ``(appends so far, RSS in MB)`` at each checkpoint of one worker's appends."""
    worker = _worker("rss", url, str(appends), ",".join(str(each) for each in checkpoints))
    try:
        samples = json.loads(_answer(worker))
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait(timeout=_TIMEOUT)
    return [(int(done), float(rss)) for done, rss in samples]


def rss_growth_mb(samples: Sequence[tuple[int, float]]) -> float:
    """RSS at the last checkpoint minus RSS at the first (the steady state's growth)."""
    return samples[-1][1] - samples[0][1]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (this benchmark needs Linux)")


def _append_worker(url: str, appends: int) -> None:
    from agent_sessions import PersistentSessionService

    with PersistentSessionService.from_url(url) as service:
        session = service.create("bench-scale-out")
        for index in range(WARM_UP):
            service.append_message(session.id, _role(index), _content(index))
        print("ready", flush=True)
        sys.stdin.readline()
        began = time.monotonic()
        for index in range(appends):
            service.append_message(session.id, _role(index), _content(index))
        print(json.dumps([began, time.monotonic()]), flush=True)


def _rss_worker(url: str, appends: int, checkpoints: set[int]) -> None:
    from agent_sessions import PersistentSessionService

    samples = []
    with PersistentSessionService.from_url(url) as service:
        session = service.create("bench-memory")
        for index in range(1, appends + 1):
            service.append_message(session.id, _role(index), _content(index))
            if index in checkpoints:
                samples.append((index, _rss_mb()))
    print(json.dumps(samples), flush=True)


if __name__ == "__main__":
    mode, worker_url, count, *rest = sys.argv[1:]
    if mode == "append":
        _append_worker(worker_url, int(count))
    else:
        _rss_worker(worker_url, int(count), {int(each) for each in rest[0].split(",")})
