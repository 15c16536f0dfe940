"""The pure rules of forks, rewinds and compactions (``agent_sessions.domain.history``).

Each store calls these under the session's row lock; here they are tried at their edges, with
the errors a caller sees: which argument, and why.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime

import pytest

from agent_sessions import (
    Compaction,
    InvalidInputError,
    MessageRole,
    Rewind,
    SequenceConflictError,
    SessionMessage,
)
from agent_sessions.application.ids import new_ulid
from agent_sessions.domain.history import (
    ID_PREFIX_LENGTH,
    ForkIds,
    check_compaction_floor,
    check_history_point,
    check_undo,
    compaction_boundary,
    compaction_in_force,
    numbered_id,
    pop_hides,
    rewind_to_undo,
)
from agent_sessions.domain.validation import validate_ulid

WHEN = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SESSION = "01JF0000000000000000000000"


def message(sequence: int, role: str = "user", rewound_by: str | None = None) -> SessionMessage:
    return SessionMessage(
        id=f"01JF{sequence:022d}",
        session_id=SESSION,
        sequence=sequence,
        role=MessageRole(role),
        content=f"m{sequence}",
        metadata={},
        token_count=None,
        created_at=WHEN,
        rewound_by=rewound_by,
    )


def compaction(through: int) -> Compaction:
    return Compaction(
        id="01JFCOMPACT000000000000000",
        session_id=SESSION,
        through_sequence=through,
        summary="s",
        metadata={},
        token_count=None,
        created_at=WHEN,
    )


def test_numbered_ids_are_valid_ulids_that_sort_in_row_order() -> None:
    prefix = new_ulid()[:ID_PREFIX_LENGTH]
    ids = [numbered_id(prefix, number) for number in (1, 2, 31, 32, 1000, 32**6 - 1)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    for made in ids:
        assert validate_ulid(made, "id") == made
    assert numbered_id(prefix, 1).endswith("000001")
    assert numbered_id(prefix, 32).endswith("000010")
    assert numbered_id(prefix, 32**6 - 1).endswith("ZZZZZZ")


@pytest.mark.parametrize("number", [0, -1, 32**6])
def test_a_row_number_outside_six_digits_is_refused(number: int) -> None:
    with pytest.raises(ValueError, match="row number"):
        numbered_id("0" * ID_PREFIX_LENGTH, number)


def test_a_prefix_of_another_length_is_refused() -> None:
    with pytest.raises(ValueError, match="prefix has 20 characters"):
        numbered_id("0" * 19, 1)


def test_forks_made_in_one_millisecond_get_distinct_prefixes() -> None:
    # new_ulid is monotonic: within a millisecond its ids differ only in their last digits.
    forks = [ForkIds.fresh(new_ulid) for _ in range(200)]
    prefixes = [
        prefix
        for ids in forks
        for prefix in (ids.message_prefix, ids.event_prefix, ids.compaction_prefix)
    ]
    assert len(set(prefixes)) == len(prefixes)
    for ids in forks:
        assert re.fullmatch(r"[0-7][0-9A-HJKMNP-TV-Z]{25}", ids.session_id)
        assert all(len(prefix) == ID_PREFIX_LENGTH for prefix in prefixes)
        assert ids.message_prefix[:10] == ids.session_id[:10]


def test_zero_and_visible_messages_are_points() -> None:
    check_history_point("to_sequence", 0, 0, None)
    check_history_point("to_sequence", 3, 5, message(3))


def test_a_point_past_the_end_names_the_argument_and_the_end() -> None:
    with pytest.raises(InvalidInputError) as raised:
        check_history_point("at_sequence", 6, 5, None)
    assert raised.value.argument == "at_sequence"
    assert "past the session's last sequence 5" in str(raised.value)


def test_a_rewound_point_names_the_rewind() -> None:
    with pytest.raises(InvalidInputError) as raised:
        check_history_point("through_sequence", 4, 5, message(4, rewound_by="01JFREWIND"))
    assert raised.value.argument == "through_sequence"
    assert "rewind 01JFREWIND hid" in str(raised.value)


def test_a_missing_message_inside_the_range_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="no message holds that sequence"):
        check_history_point("to_sequence", 2, 5, None)


def test_a_compaction_may_cover_an_earlier_one_or_match_it_but_not_stop_short() -> None:
    check_compaction_floor(4, None)
    check_compaction_floor(4, compaction(4))
    check_compaction_floor(9, compaction(4))
    with pytest.raises(InvalidInputError, match="short of compaction") as raised:
        check_compaction_floor(3, compaction(4))
    assert raised.value.argument == "through_sequence"
    with pytest.raises(InvalidInputError, match="covers no visible message"):
        check_compaction_floor(0, None)


def test_a_compaction_boundary_moves_back_before_the_call_of_a_following_tool_result() -> None:
    history = [message(1), message(2, "assistant"), message(3, "tool"), message(4, "tool")]

    def before(first: SessionMessage) -> list[SessionMessage]:
        return [earlier for earlier in history if earlier.sequence < first.sequence]

    assert compaction_boundary(4, None, before) == 4
    assert compaction_boundary(1, history[1], before) == 1
    assert compaction_boundary(2, history[2], before) == 1
    assert compaction_boundary(3, history[3], before) == 1


def test_a_compaction_boundary_with_only_rewound_messages_before_the_call_covers_nothing() -> None:
    visible = [message(6, "assistant"), message(7, "tool")]  # 1..5 were rewound

    def before(first: SessionMessage) -> list[SessionMessage]:
        return [earlier for earlier in visible if earlier.sequence < first.sequence]

    assert compaction_boundary(6, visible[1], before) == 0
    with pytest.raises(InvalidInputError, match="covers no visible message"):
        check_compaction_floor(compaction_boundary(6, visible[1], before), None)


def test_the_undone_rewind_is_the_last_to_take_the_lock_whatever_the_clocks_said() -> None:
    def rewind(to: int, through: int, minute: int) -> Rewind:
        return Rewind(
            id=f"01JFREWIND{to:02d}{through:02d}{minute:012d}",
            session_id=SESSION,
            to_sequence=to,
            through_sequence=through,
            reason=None,
            created_at=WHEN.replace(minute=minute),
        )

    first, second = rewind(5, 10, 30), rewind(3, 10, 10)  # second's clock ran behind
    assert rewind_to_undo([first, second]) is second
    after_an_append = rewind(4, 11, 0)
    assert rewind_to_undo([first, second, after_an_append]) is after_an_append
    undone = dataclasses.replace(after_an_append, undone_at=WHEN)
    assert rewind_to_undo([first, second, undone]) is second
    assert rewind_to_undo([]) is None


def test_the_compaction_in_force_reaches_furthest() -> None:
    early, late = compaction(4), compaction(9)
    hidden = Compaction(
        id="01JFCOMPACTHIDDEN000000000",
        session_id=SESSION,
        through_sequence=12,
        summary="s",
        metadata={},
        token_count=None,
        created_at=WHEN,
        rewound_by="01JFREWIND",
    )
    assert compaction_in_force([late, early, hidden]) is late
    assert compaction_in_force([hidden]) is None


def test_a_compaction_boundary_with_only_tool_results_before_it_covers_nothing() -> None:
    history = [message(1, "tool"), message(2, "tool")]
    assert compaction_boundary(1, history[1], lambda first: history[: first.sequence - 1]) == 0


def test_pop_deletes_only_the_uncovered_end_of_the_transcript() -> None:
    assert not pop_hides(message(5), 5, None)
    assert not pop_hides(message(5), 5, compaction(4))
    assert pop_hides(message(5), 5, compaction(5))
    assert pop_hides(message(3), 5, None)


def test_undo_needs_a_rewind_and_an_unmoved_end() -> None:
    rewind = Rewind(
        id="01JFREWIND0000000000000000",
        session_id=SESSION,
        to_sequence=2,
        through_sequence=5,
        reason=None,
        created_at=WHEN,
    )
    assert check_undo(SESSION, rewind, 5) is rewind
    with pytest.raises(InvalidInputError, match="has no rewind to undo") as raised:
        check_undo(SESSION, None, 5)
    assert raised.value.argument == "session_id"
    with pytest.raises(SequenceConflictError) as conflict:
        check_undo(SESSION, rewind, 6)
    assert (conflict.value.expected, conflict.value.actual) == (5, 6)
    assert "nothing was undone" in str(conflict.value)


def test_undo_is_refused_while_a_compaction_recorded_after_the_rewind_is_in_force() -> None:
    rewind = Rewind(
        id="01JFREWIND0000000000000000",
        session_id=SESSION,
        to_sequence=4,
        through_sequence=6,
        reason=None,
        created_at=WHEN,
    )
    before = dataclasses.replace(compaction(2), created_at=WHEN.replace(hour=11))
    assert check_undo(SESSION, rewind, 6, [before]) is rewind
    after = dataclasses.replace(compaction(4), created_at=WHEN.replace(second=1))
    with pytest.raises(InvalidInputError, match="was recorded after rewind") as raised:
        check_undo(SESSION, rewind, 6, [before, after])
    assert raised.value.argument == "session_id"
