"""Test suites of agent-sessions that run under pytest."""
