"""The ``agent-sessions`` command line."""

from __future__ import annotations

from agent_sessions.infrastructure.cli.app import DEFAULT_URL, main

__all__ = ["DEFAULT_URL", "main"]
