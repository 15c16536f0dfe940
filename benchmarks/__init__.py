"""ASV benchmarks of agent-sessions: session records and message history, per backend."""
