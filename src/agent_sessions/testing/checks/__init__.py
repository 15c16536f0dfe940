"""The checks of the kit, one module per part of the contract, in the order they run."""

from __future__ import annotations

from agent_sessions.testing.checks import (
    exports,
    file_events,
    forks,
    history,
    integrity,
    listing,
    messages,
    owners,
    reading,
    sessions,
    usage,
)

__all__ = ["MODULES"]

MODULES = (
    sessions,
    listing,
    messages,
    reading,
    usage,
    file_events,
    forks,
    history,
    owners,
    exports,
    integrity,
)
"""The modules that define checks, in the order of the suite."""
