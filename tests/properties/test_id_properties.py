"""Properties of the ids the services give new rows: ULIDs, in the order they were made."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st
from ulid import ULID

from agent_sessions.application.ids import _encode, new_ulid


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_every_128_bit_value_prints_as_the_ulid_spec_says(value: int) -> None:
    assert _encode(value) == str(ULID(value.to_bytes(16)))


def test_new_ids_are_ulids_of_now_strictly_increasing() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_ulid() for _ in range(20_000)]
    after = time.time_ns() // 1_000_000
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    stamps = [ULID.from_str(each).milliseconds for each in ids]
    # Within a millisecond the next id is the last plus one, which may carry into the stamp.
    assert before <= stamps[0] and stamps[-1] <= after + 1
