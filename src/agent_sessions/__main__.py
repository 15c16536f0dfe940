"""``python -m agent_sessions``: the same as the ``agent-sessions`` command."""

from __future__ import annotations

from agent_sessions.infrastructure.cli import main

raise SystemExit(main())
