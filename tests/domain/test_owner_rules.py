"""The argument rules of owners, holds and time ranges, at their edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from agent_sessions import InvalidInputError
from agent_sessions.domain.validation import (
    MAX_OWNER_ID_LENGTH,
    MAX_REASON_BYTES,
    validate_hold_reason,
    validate_moment,
    validate_owner_id,
    validate_required_owner_id,
)


def test_an_owner_id_of_the_longest_length_is_kept_and_one_more_is_refused() -> None:
    longest = "o" * MAX_OWNER_ID_LENGTH
    assert validate_owner_id(longest) == longest
    with pytest.raises(InvalidInputError, match="256 characters long") as raised:
        validate_owner_id(longest + "o")
    assert raised.value.argument == "owner_id"


@pytest.mark.parametrize("value", ["", "   ", "a\x00b", "\ud800", 7])
def test_a_malformed_owner_id_is_refused_naming_it(value: object) -> None:
    with pytest.raises(InvalidInputError) as raised:
        validate_owner_id(value)
    assert raised.value.argument == "owner_id"


def test_none_means_no_owner_except_where_one_is_required() -> None:
    assert validate_owner_id(None) is None
    with pytest.raises(InvalidInputError) as raised:
        validate_required_owner_id(None)
    assert raised.value.argument == "owner_id"
    assert validate_required_owner_id("tenant-7") == "tenant-7"


def test_a_hold_needs_a_reason_of_at_most_4_kib() -> None:
    assert validate_hold_reason("legal") == "legal"
    assert validate_hold_reason("r" * MAX_REASON_BYTES) == "r" * MAX_REASON_BYTES
    for value in (None, "", "  ", "r" * (MAX_REASON_BYTES + 1), 3):
        with pytest.raises(InvalidInputError) as raised:
            validate_hold_reason(value)
        assert raised.value.argument == "reason"


def test_a_range_bound_is_a_timezone_aware_datetime() -> None:
    aware = datetime(2026, 12, 4, tzinfo=UTC)
    assert validate_moment(aware, "created_after") is aware
    assert validate_moment(None, "created_after") is None
    elsewhere = datetime(2026, 12, 4, tzinfo=timezone(timedelta(hours=2)))
    assert validate_moment(elsewhere, "updated_before") is elsewhere
    with pytest.raises(InvalidInputError, match="timezone-aware") as raised:
        validate_moment(datetime(2026, 12, 4), "created_before")
    assert raised.value.argument == "created_before"
    with pytest.raises(InvalidInputError, match="must be a datetime") as raised:
        validate_moment("2026-12-04", "updated_after")
    assert raised.value.argument == "updated_after"
