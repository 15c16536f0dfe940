"""OS processes that start a workload at the same moment, for the Robot concurrency suites.

The suite side, :func:`run_racing_workers`, starts one process per command and waits until
every one has said ``ready`` on its standard output (it has opened its service and connected);
then it tells them all ``go`` together and collects the last line each prints. The worker side,
:func:`wait_for_go`, says ``ready`` and blocks until ``go``. A barrier rather than a wall-clock
start time: a slow start (a cold interpreter, a busy machine) cannot leave one worker behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["run_racing_workers", "wait_for_go"]

ROOT = Path(__file__).resolve().parent.parent
PROCESS_TIMEOUT_SECONDS = 300


def run_racing_workers(commands: Sequence[Sequence[str]]) -> list[str]:
    """Run ``commands`` (argument lists) as processes started together; return their last lines.

    Each command runs with the project root on ``PYTHONPATH`` and in the project root. Raises
    ``AssertionError`` naming every worker that failed, before or after the start.
    """
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    workers = [
        subprocess.Popen(
            list(command),
            cwd=ROOT,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != "ready":
                _, stderr = worker.communicate(timeout=PROCESS_TIMEOUT_SECONDS)
                raise AssertionError(f"a worker failed before the start: {stderr}")
        for worker in workers:  # the barrier opens for all of them together
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        lines, failures = [], []
        for command, worker in zip(commands, workers, strict=True):
            stdout, stderr = worker.communicate(timeout=PROCESS_TIMEOUT_SECONDS)
            if worker.returncode != 0:
                failures.append(f"{' '.join(command[1:3])} exited {worker.returncode}: {stderr}")
            else:
                lines.append(stdout.strip().splitlines()[-1])
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    if failures:
        raise AssertionError(f"{len(failures)} worker(s) failed:\n" + "\n".join(failures))
    return lines


def wait_for_go() -> bool:
    """Say ``ready`` and wait for the suite's ``go``; False when the suite said something else."""
    print("ready", flush=True)
    return sys.stdin.readline().strip() == "go"
