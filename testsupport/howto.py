"""Run a how-to's example exactly as the Markdown shows it, and read what it says it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["fenced", "run_example"]

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
