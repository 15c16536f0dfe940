"""``agent-sessions demo``: record a sample conversation and show it."""

from __future__ import annotations

import argparse
from typing import TextIO

from agent_sessions.infrastructure.cli.conversation import print_conversation
from agent_sessions.infrastructure.cli.session_commands import open_service

__all__ = ["add_demo_command"]

_DEMO_CONVERSATION: tuple[tuple[str, str, int], ...] = (
    ("system", "You are a concise travel assistant.", 7),
    ("user", "What is the best month to visit Kyoto?", 9),
    ("assistant", "Let me check the seasonal weather data.", 8),
    ("tool", '{"best_months": ["April", "November"], "reason": "mild and colourful"}', 16),
    ("assistant", "April for cherry blossoms, or November for autumn leaves. 🍁", 14),
)


def add_demo_command(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` command to the top-level parser."""
    groups.add_parser("demo", help="record and show a sample conversation").set_defaults(
        handler=run_demo
    )


def run_demo(url: str, _arguments: argparse.Namespace, out: TextIO) -> int:
    """Migrate the database if needed, record the sample conversation and print it."""
    from agent_sessions.infrastructure.database.engine import redact_url

    with open_service(url, migrate=True) as service:
        session = service.create(
            "demo-agent", title="Planning a trip to Kyoto", metadata={"source": "demo"}
        )
        for role, content, tokens in _DEMO_CONVERSATION:
            service.append_message(session.id, role, content, token_count=tokens)
        service.update_token_usage(session.id, prompt_tokens=40, completion_tokens=22)
        session = service.get(session.id)
        messages = service.get_messages(session.id)
    print(f"Recorded a demo session in {redact_url(url)}", file=out)
    print(file=out)
    print_conversation(session, messages, out)
    print(file=out)
    print(f"Try: agent-sessions sessions show {session.id}", file=out)
    return 0
