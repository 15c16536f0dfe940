"""An export holds the history as of the session it read, whatever was written after.

The stream reads its messages in batches after the session, and under ``READ COMMITTED`` even
the statements of one transaction may see later writes. These tests give the document builder
rows as such reads could return them (a rewind, an undo or a compaction committed after the
session was read, messages marked by them) and check that the document is the session as it was
read, and that it imports.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from agent_sessions import Compaction, MessageRole, Rewind, Session, SessionMessage
from agent_sessions.domain.export_format import build_export_document, parse_export_document

START = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
SESSION = "01J0" + "S" * 22


def _at(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


def _id(kind: str, number: int) -> str:
    return f"01J{kind}{number:022d}"


def _session(message_count: int, updated: int) -> Session:
    return Session(SESSION, "agent", None, {}, 0, 0, message_count, START, _at(updated))


def _messages(count: int, hidden: dict[int, str]) -> list[SessionMessage]:
    return [
        SessionMessage(
            _id("M", sequence),
            SESSION,
            sequence,
            MessageRole.USER,
            f"message {sequence}",
            {},
            None,
            _at(sequence),
            rewound_by=hidden.get(sequence),
        )
        for sequence in range(1, count + 1)
    ]


def _rewind(number: int, to: int, through: int, at: int, undone: int | None = None) -> Rewind:
    undone_at = None if undone is None else _at(undone)
    return Rewind(_id("R", number), SESSION, to, through, None, _at(at), undone_at)


def _compaction(number: int, through: int, at: int, rewound_by: str | None = None) -> Compaction:
    return Compaction(_id("C", number), SESSION, through, "summary", {}, None, _at(at), rewound_by)


def _exported(document: dict[str, Any]) -> dict[str, Any]:
    """Check that the document imports, and return what it says of the history."""
    parse_export_document(json.loads(json.dumps(document)))
    return {
        "rewinds": [(r["id"], r["undone_at"] is not None) for r in document["rewinds"]],
        "compactions": [(c["id"], c["rewound_by"]) for c in document["compactions"]],
        "hidden": {m["sequence"]: m["rewound_by"] for m in document["messages"] if m["rewound_by"]},
    }


def test_a_rewind_after_the_session_was_read_is_left_out_with_its_marks() -> None:
    late = _rewind(1, 2, 4, at=50)  # written after the session's updated_at (40)
    messages = _messages(4, {3: late.id, 4: late.id})
    compaction = _compaction(1, 4, at=30, rewound_by=late.id)
    document = build_export_document(
        _session(4, updated=40), messages, _at(60), rewinds=[late], compactions=[compaction]
    )
    assert _exported(document) == {
        "rewinds": [],
        "compactions": [(compaction.id, None)],
        "hidden": {},
    }


def test_a_rewind_past_the_sessions_end_is_left_out() -> None:
    # Two messages were appended, then the session was rewound, all between two reads.
    late = _rewind(1, 1, 6, at=20)
    document = build_export_document(
        _session(4, updated=40),
        _messages(4, {2: late.id, 3: late.id, 4: late.id}),
        _at(60),
        rewinds=[late],
    )
    assert _exported(document) == {"rewinds": [], "compactions": [], "hidden": {}}


def test_an_undo_after_the_session_was_read_is_not_done_yet() -> None:
    undone_later = _rewind(1, 2, 4, at=10, undone=50)
    compaction = _compaction(1, 3, at=5)  # the undo cleared its mark too
    document = build_export_document(
        _session(4, updated=40),
        _messages(4, {}),
        _at(60),
        rewinds=[undone_later],
        compactions=[compaction],
    )
    assert _exported(document) == {
        "rewinds": [(undone_later.id, False)],
        "compactions": [(compaction.id, None)],
        "hidden": {3: undone_later.id, 4: undone_later.id},
    }


def test_a_compaction_after_the_session_was_read_or_past_its_end_is_left_out() -> None:
    late = _compaction(1, 2, at=50)
    past = _compaction(2, 6, at=30)
    document = build_export_document(
        _session(4, updated=40), _messages(4, {}), _at(60), compactions=[late, past]
    )
    assert _exported(document)["compactions"] == []


def test_each_hidden_message_names_the_first_holding_rewind_over_it() -> None:
    # Rewound to 5 (hiding 6 to 8), then to 2 (hiding 3 to 5, the rest being hidden already);
    # the messages were read after both rewinds were undone and the session rewound to 1.
    first, second = _rewind(1, 5, 8, at=10), _rewind(2, 2, 8, at=20)
    later = _id("R", 9)
    document = build_export_document(
        _session(8, updated=40),
        _messages(8, dict.fromkeys(range(2, 9), later)),
        _at(60),
        rewinds=[first, second],
    )
    assert _exported(document)["hidden"] == {
        3: second.id,
        4: second.id,
        5: second.id,
        6: first.id,
        7: first.id,
        8: first.id,
    }


def test_a_mark_that_a_holding_rewind_explains_is_kept() -> None:
    first, second = _rewind(1, 5, 8, at=10), _rewind(2, 2, 8, at=20)
    # Message 7 names the later rewind, which spans it too: that is what the store says.
    hidden = {3: second.id, 4: second.id, 5: second.id, 6: first.id, 7: second.id, 8: first.id}
    document = build_export_document(
        _session(8, updated=40), _messages(8, hidden), _at(60), rewinds=[first, second]
    )
    assert _exported(document)["hidden"] == hidden


def test_the_first_rewind_is_the_first_to_take_the_lock_not_the_first_by_the_clock() -> None:
    # The second rewind read the clock before the first, then queued on the session's lock: it
    # hid what the first left visible (3 to 5). Its lower to_sequence at the same end says so.
    first, second = _rewind(1, 5, 8, at=20), _rewind(2, 2, 8, at=10)
    later = _id("R", 9)
    document = build_export_document(
        _session(8, updated=40),
        _messages(8, dict.fromkeys(range(3, 9), later)),
        _at(60),
        rewinds=[second, first],
    )
    assert _exported(document)["hidden"] == {
        3: second.id,
        4: second.id,
        5: second.id,
        6: first.id,
        7: first.id,
        8: first.id,
    }
