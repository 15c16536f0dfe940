"""Property tests of agent-sessions (pytest + hypothesis)."""
