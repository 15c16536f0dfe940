"""Run a how-to's example exactly as the Markdown shows it, and read what it says it prints."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["fenced", "run_example", "run_example_here"]

ROOT = Path(__file__).resolve().parent.parent


def fenced(text: str, language: str) -> str:
    """Return the first fenced block of ``language`` in the Markdown ``text``."""
    start = text.index(f"```{language}\n") + len(language) + 4
    return text[start : text.index("```", start)]


def run_example(path: Path, url: str) -> tuple[str, str]:
    """Run the first Python block of the how-to at ``path`` against the database ``url``.

    Returns what the program printed and what the how-to's first ``text`` block says it
    prints. A program that fails raises ``AssertionError`` with its standard error.
    """
    text = path.read_text(encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", fenced(text, "python")],
        env={**os.environ, "AGENT_SESSIONS_URL": url, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, fenced(text, "text")


def run_example_here(path: Path, url: str) -> tuple[str, str]:
    """Run the example as :func:`run_example` does, but in this interpreter.

    For examples whose framework takes seconds to import (the OpenAI Agents SDK takes about
    five): the program still runs as written, in a namespace of its own, as ``__main__``,
    with ``AGENT_SESSIONS_URL`` set for it alone.
    """
    text = path.read_text(encoding="utf-8")
    code = compile(fenced(text, "python"), str(path), "exec")
    printed = io.StringIO()
    previous = os.environ.get("AGENT_SESSIONS_URL")
    os.environ["AGENT_SESSIONS_URL"] = url
    try:
        with contextlib.redirect_stdout(printed):
            exec(code, {"__name__": "__main__"})
    finally:
        if previous is None:
            del os.environ["AGENT_SESSIONS_URL"]
        else:
            os.environ["AGENT_SESSIONS_URL"] = previous
    return printed.getvalue(), fenced(text, "text")
