"""The window rule: a window cut from the end of a session never starts on a tool result.

``reach_back`` is given the window and a reader of the page before a message; these tests
hand it an in-memory history and record which reads it asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from agent_sessions import MessageRole, SessionMessage
from agent_sessions.domain.windows import reach_back, reaches_back

_ROLES = {"s": MessageRole.SYSTEM, "u": MessageRole.USER, "a": MessageRole.ASSISTANT}


def _history(roles: str) -> list[SessionMessage]:
    """Messages at sequences 1.. with these roles, one letter each (s, u, a, t for tool)."""
    return [
        SessionMessage(
            id=f"M{sequence:025d}",
            session_id="S" * 26,
            sequence=sequence,
            role=_ROLES.get(letter, MessageRole.TOOL),
            content=f"{letter} {sequence}",
            metadata={},
            token_count=None,
            created_at=datetime(2026, 12, 4, tzinfo=UTC),
        )
        for sequence, letter in enumerate(roles, start=1)
    ]


class _Reader:
    """Reads pages of ``page`` messages before a message, and counts the reads."""

    def __init__(self, history: list[SessionMessage], page: int) -> None:
        self.history, self.page, self.reads = history, page, 0

    def __call__(self, message: SessionMessage) -> Sequence[SessionMessage]:
        self.reads += 1
        before = message.sequence - 1
        return self.history[max(before - self.page, 0) : before]


def _window(roles: str, n: int, page: int = 2) -> tuple[list[int], int]:
    history = _history(roles)
    reader = _Reader(history, page)
    window = reach_back(history[-n:], reader)
    return [message.sequence for message in window], reader.reads


@pytest.mark.parametrize("roles", ["ua", "tua", "sua", "aa", "ttu"])
def test_a_window_not_starting_on_a_tool_result_is_exactly_n_and_reads_nothing(
    roles: str,
) -> None:
    assert _window(roles, 1) == ([len(roles)], 0)


def test_a_window_starting_on_tool_results_reaches_back_to_the_calling_assistant() -> None:
    # An assistant turn with three calls, then their three results; the window of 2 holds
    # the last two results, so it grows to the assistant message and all three results.
    assert _window("uattt", 2, page=1) == ([2, 3, 4, 5], 2)


def test_the_window_keeps_what_follows_the_results() -> None:
    assert _window("uatttu", 3) == ([2, 3, 4, 5, 6], 1)


def test_many_tool_results_are_read_back_over_several_pages() -> None:
    roles = "ua" + "t" * 9
    assert _window(roles, 2, page=3) == (list(range(2, 12)), 3)


def test_a_window_stops_at_the_nearest_non_tool_message_of_any_role() -> None:
    assert _window("atutt", 2) == ([3, 4, 5], 1)


@pytest.mark.parametrize(("roles", "n"), [("ttta", 2), ("tttt", 1), ("t", 1)])
def test_when_only_tool_results_precede_the_cut_the_window_starts_at_the_first(
    roles: str, n: int
) -> None:
    assert _window(roles, n)[0] == list(range(1, len(roles) + 1))


def test_n_larger_than_the_history_is_the_whole_history() -> None:
    assert _window("uatt", 10) == ([1, 2, 3, 4], 0)


def test_an_empty_window_stays_empty() -> None:
    assert reach_back([], _Reader([], 1)) == []
    assert not reaches_back([])


def test_reaches_back_tells_a_window_that_starts_on_a_tool_result() -> None:
    history = _history("uat")
    assert reaches_back(history[2:])
    assert not reaches_back(history[1:])
