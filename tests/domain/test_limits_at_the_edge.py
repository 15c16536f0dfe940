"""Every limit of the argument rules, tried exactly at its edge and one past it.

The value at a limit is accepted and returned as given; one step past it is refused with an
``InvalidInputError`` that names the argument and states the limit. These are the rules of
``agent_sessions.domain.validation`` that every implementation of the service runs first.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import pytest

from agent_sessions import FileEventType, InvalidInputError, MessageRole, NewMessage
from agent_sessions.domain.validation import (
    MAX_ACTOR_NAME_LENGTH,
    MAX_COMMAND_BYTES,
    MAX_CONTENT_BYTES,
    MAX_DIFF_BYTES,
    MAX_EXTERNAL_ID_LENGTH,
    MAX_FILE_PATH_BYTES,
    MAX_FILE_PATH_LENGTH,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    MAX_LIST_LIMIT,
    MAX_MESSAGE_LIMIT,
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MAX_OFFSET,
    MAX_TITLE_LENGTH,
    MAX_TOKEN_COUNT,
    abbreviated_repr,
    validate_actor_name,
    validate_content,
    validate_external_id,
    validate_file_event,
    validate_idempotency_key,
    validate_limit,
    validate_metadata,
    validate_new_messages,
    validate_offset,
    validate_on_conflict,
    validate_required_external_id,
    validate_role,
    validate_title,
    validate_token_count,
    validate_token_delta,
)

TWO_BYTE = "\u00e9"  # one character, two bytes of UTF-8
FOUR_BYTE = "\U0001f600"  # one character, four bytes of UTF-8


@contextlib.contextmanager
def refused(argument: str, *words: str) -> Iterator[pytest.ExceptionInfo[InvalidInputError]]:
    """Expect an InvalidInputError naming ``argument`` whose reason holds every word."""
    with pytest.raises(InvalidInputError) as raised:
        yield raised
    assert raised.value.argument == argument
    for word in words:
        assert word in raised.value.reason, f"{word!r} not in {raised.value.reason!r}"


# --- offsets, page sizes and counts -------------------------------------------------------


def test_offset_accepts_zero_and_the_largest_offset() -> None:
    assert validate_offset(0) == 0
    assert validate_offset(MAX_OFFSET) == MAX_OFFSET
    assert MAX_OFFSET == 2**53 - 1


@pytest.mark.parametrize("value", [-1, MAX_OFFSET + 1])
def test_offset_refuses_one_past_either_end(value: int) -> None:
    with refused("offset", f"between 0 and {MAX_OFFSET}", f"got {value}"):
        validate_offset(value)


@pytest.mark.parametrize("value", [True, 1.0, "3", None])
def test_offset_refuses_what_is_not_an_integer(value: object) -> None:
    with refused("offset", "must be an integer", type(value).__name__):
        validate_offset(value)


def test_limit_accepts_one_and_the_maximum() -> None:
    assert validate_limit(1, maximum=MAX_LIST_LIMIT) == 1
    assert validate_limit(MAX_LIST_LIMIT, maximum=MAX_LIST_LIMIT) == MAX_LIST_LIMIT
    assert validate_limit(7, maximum=7, argument="n") == 7


@pytest.mark.parametrize("value", [0, MAX_LIST_LIMIT + 1])
def test_limit_refuses_one_past_either_end(value: int) -> None:
    with refused("limit", f"between 1 and {MAX_LIST_LIMIT}", f"got {value}"):
        validate_limit(value, maximum=MAX_LIST_LIMIT)


def test_limit_names_the_argument_it_checks() -> None:
    with refused("batch_size", "must be an integer, got bool"):
        validate_limit(True, maximum=10, argument="batch_size")
    with refused("batch_size", "between 1 and 10"):
        validate_limit(11, maximum=10, argument="batch_size")


def test_a_huge_integer_is_shown_by_its_size_not_its_digits() -> None:
    with refused("offset", "got an integer of about 301 digits") as raised:
        validate_offset(10**300)
    assert len(raised.value.reason) < 120
    with refused("offset", "got -an integer of about 40 digits"):
        validate_offset(-(10**39))
    # Up to 30 digits the number is shown whole; from 10**30 on, by its size.
    with refused("offset", f"got {-(10**30) + 1}"):
        validate_offset(-(10**30) + 1)
    with refused("offset", "got an integer of about 31 digits"):
        validate_offset(10**30)


def test_token_figures_accept_zero_and_the_largest_count() -> None:
    assert validate_token_count(None) is None
    assert validate_token_count(0) == 0
    assert validate_token_count(MAX_TOKEN_COUNT) == MAX_TOKEN_COUNT
    assert validate_token_delta(MAX_TOKEN_COUNT, "prompt_tokens") == MAX_TOKEN_COUNT
    assert MAX_TOKEN_COUNT == 2**53 - 1


def test_token_figures_refuse_one_past_either_end() -> None:
    with refused("token_count", "must be 0 or more, got -1"):
        validate_token_count(-1)
    with refused("token_count", f"must be at most {MAX_TOKEN_COUNT}, got {MAX_TOKEN_COUNT + 1}"):
        validate_token_count(MAX_TOKEN_COUNT + 1)
    with refused("completion_tokens", f"at most {MAX_TOKEN_COUNT}"):
        validate_token_delta(MAX_TOKEN_COUNT + 1, "completion_tokens")
    with refused("prompt_tokens", "must be an integer, got bool"):
        validate_token_delta(False, "prompt_tokens")


def test_a_batch_holds_at_most_the_message_limit() -> None:
    one = {"role": "user", "content": ""}
    # At the limit the count passes and each message is checked (the first one is bad here).
    with refused("messages[0].role", "'nobody' is not one of"):
        validate_new_messages([{"role": "nobody", "content": ""}] + [one] * (MAX_MESSAGE_LIMIT - 1))
    with refused("messages", f"holds {MAX_MESSAGE_LIMIT + 1} messages", str(MAX_MESSAGE_LIMIT)):
        validate_new_messages([one] * (MAX_MESSAGE_LIMIT + 1))


# --- texts: characters and bytes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "argument", "maximum"),
    [
        (validate_actor_name, "actor_name", MAX_ACTOR_NAME_LENGTH),
        (validate_external_id, "external_id", MAX_EXTERNAL_ID_LENGTH),
        (validate_required_external_id, "external_id", MAX_EXTERNAL_ID_LENGTH),
        (validate_idempotency_key, "idempotency_key", MAX_IDEMPOTENCY_KEY_LENGTH),
    ],
)
def test_names_hold_their_most_characters_and_not_one_more(rule, argument, maximum) -> None:
    at_the_limit = FOUR_BYTE * maximum  # characters count, not bytes
    assert rule(at_the_limit) == at_the_limit
    with refused(argument, f"is {maximum + 1} characters long", f"most allowed is {maximum}"):
        rule("a" * (maximum + 1))
    with refused(argument, "must not be empty or blank"):
        rule(" \t\n")
    with refused(argument, "must not be empty or blank"):
        rule("")


def test_external_id_may_be_none_unless_required_and_says_so_when_it_is_not_text() -> None:
    assert validate_external_id(None) is None
    with refused("external_id", "must be a string or None, got int"):
        validate_external_id(42)
    with refused("external_id", "must be a string, got NoneType"):
        validate_required_external_id(None)
    with refused("external_id", "must be a string, got int"):
        validate_required_external_id(42)
    assert validate_required_external_id("ticket-9") == "ticket-9"
    with refused("actor_name", "must be a string, got NoneType"):
        validate_actor_name(None)


def test_title_holds_its_most_characters_and_not_one_more() -> None:
    assert validate_title(None) is None
    assert validate_title("") == ""
    assert validate_title(FOUR_BYTE * MAX_TITLE_LENGTH) == FOUR_BYTE * MAX_TITLE_LENGTH
    with refused("title", f"is {MAX_TITLE_LENGTH + 1} characters long", str(MAX_TITLE_LENGTH)):
        validate_title("t" * (MAX_TITLE_LENGTH + 1))
    with refused("title", "must be a string or None, got bytes"):
        validate_title(b"title")


def test_content_holds_its_most_bytes_of_utf8_and_not_one_more() -> None:
    assert MAX_CONTENT_BYTES == 7 * 1024 * 1024
    at_the_limit = TWO_BYTE * (MAX_CONTENT_BYTES // 2)
    assert validate_content(at_the_limit) is at_the_limit
    assert validate_content("") == ""
    with refused("content", f"is {MAX_CONTENT_BYTES + 1} bytes of UTF-8", "(7 MiB)"):
        validate_content(at_the_limit + "x")
    with refused("content", "must be a string, got NoneType"):
        validate_content(None)


def test_file_path_holds_its_most_bytes_and_characters_and_not_one_more() -> None:
    # 512 characters of four bytes: within the character limit, at the byte limit.
    at_the_byte_limit = FOUR_BYTE * (MAX_FILE_PATH_BYTES // 4)
    _, path, _, _ = validate_file_event("edit", at_the_byte_limit, None, None)
    assert path == at_the_byte_limit
    with refused("file_path", f"is {MAX_FILE_PATH_BYTES + 1} bytes of UTF-8"):
        validate_file_event("edit", at_the_byte_limit + "a", None, None)
    at_the_character_limit = "p" * MAX_FILE_PATH_LENGTH
    assert validate_file_event("read", at_the_character_limit, None, None)[1] == (
        at_the_character_limit
    )
    with refused("file_path", f"is {MAX_FILE_PATH_LENGTH + 1} characters long"):
        validate_file_event("read", at_the_character_limit + "p", None, None)


def test_diff_and_command_hold_their_most_bytes_and_not_one_more() -> None:
    diff = "d" * MAX_DIFF_BYTES
    command = "c" * MAX_COMMAND_BYTES
    assert validate_file_event("edit", "a.py", diff, None)[2] is diff
    assert validate_file_event("command", None, None, command)[3] is command
    with refused("diff", f"is {MAX_DIFF_BYTES + 1} bytes of UTF-8", "(7 MiB)"):
        validate_file_event("edit", "a.py", diff + "d", None)
    with refused("command", f"is {MAX_COMMAND_BYTES + 1} bytes of UTF-8", "(256 KiB)"):
        validate_file_event("command", None, None, command + "c")
    with refused("diff", "must be a string or None, got int"):
        validate_file_event("edit", "a.py", 3, None)
    with refused("diff", "contains a NUL character"):
        validate_file_event("edit", "a.py", "+\x00", None)
    with refused("command", "contains a lone surrogate"):
        validate_file_event("command", None, None, "echo \udc80")


def test_file_event_types_need_what_they_name() -> None:
    assert validate_file_event(FileEventType.WRITE, "new.py", "", None) == (
        FileEventType.WRITE,
        "new.py",
        "",
        None,
    )
    assert validate_file_event("command", "/repo", None, "make") == (
        FileEventType.COMMAND,
        "/repo",
        None,
        "make",
    )
    with refused("command", "is required (non-blank) for a command event") as raised:
        validate_file_event("command", None, None, "  ")
    assert raised.value.reason == "is required (non-blank) for a command event"
    with refused("command", "is required"):
        validate_file_event("command", None, None, None)
    with refused("file_path", "is required for an edit event"):
        validate_file_event("edit", None, None, None)
    with refused("file_path", "is required for a read event"):
        validate_file_event("read", None, None, None)
    with refused("command", "belongs to command events only, not to a delete event"):
        validate_file_event("delete", "gone.py", None, "rm gone.py")
    with refused("event_type", "'move' is not one of"):
        validate_file_event("move", "a.py", None, None)


# --- hostile text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "argument"),
    [
        (validate_actor_name, "actor_name"),
        (validate_title, "title"),
        (validate_content, "content"),
        (validate_external_id, "external_id"),
    ],
)
def test_text_with_a_nul_or_a_lone_surrogate_is_refused(rule, argument) -> None:
    with refused(argument, "contains a NUL character"):
        rule("before\x00after")
    with refused(argument, "contains a lone surrogate (U+D800) at index 3"):
        rule("abc\ud800")


def test_a_nul_in_metadata_names_where_it_is() -> None:
    with refused("metadata", "metadata['note'] contains a NUL character"):
        validate_metadata({"note": "a\x00b"})
    with refused("metadata", "a key of metadata contains a lone surrogate (U+DFFF) at index 0"):
        validate_metadata({"\udfff": 1})


def test_a_long_hostile_value_is_shown_cut_short() -> None:
    hostile = "<script>" * 100
    shown = abbreviated_repr(hostile)
    assert shown.startswith(repr(hostile)[:40])
    assert shown.endswith(f"... ({len(repr(hostile))} characters)")
    assert abbreviated_repr("x" * 38) == repr("x" * 38)  # 40 characters with its quotes
    assert abbreviated_repr("x" * 39).endswith("... (41 characters)")
    with refused("role", "is not one of system, user, assistant, tool", "characters)"):
        validate_role(hostile)


def test_roles_and_policies_are_taken_by_member_or_value() -> None:
    assert validate_role("assistant") is MessageRole.ASSISTANT
    assert validate_role(MessageRole.TOOL) is MessageRole.TOOL
    with refused("role", "3 is not one of"):
        validate_role(3)
    assert validate_on_conflict("error") == "error"
    assert validate_on_conflict("new_external_id") == "new_external_id"
    with refused("on_conflict", "'replace' is not one of 'error', 'new_external_id'"):
        validate_on_conflict("replace")
    with refused("on_conflict", "None is not one of"):
        validate_on_conflict(None)


# --- metadata -------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_metadata_refuses_nan_and_infinity_wherever_they_are(number: float) -> None:
    with refused("metadata", f"metadata['score'] is {number!r}, which JSON cannot hold"):
        validate_metadata({"score": number})
    with refused("metadata", "metadata['runs'][1]"):
        validate_metadata({"runs": [1.5, number]})


def test_metadata_is_copied_through_json() -> None:
    given = {"tags": ("a", "b"), "nested": {"x": 1.5, "ok": True, "none": None}}
    copied = validate_metadata(given)
    assert copied == {"tags": ["a", "b"], "nested": {"x": 1.5, "ok": True, "none": None}}
    copied["nested"]["x"] = 0
    assert given["nested"]["x"] == 1.5
    assert validate_metadata(None) == {}
    assert validate_metadata({}) == {}
    with refused("metadata", "must be a dict, got list"):
        validate_metadata([])


def test_metadata_integers_stop_at_the_json_safe_range() -> None:
    edge = 2**53 - 1
    assert validate_metadata({"n": edge, "m": -edge}) == {"n": edge, "m": -edge}
    with refused("metadata", f"metadata['n'] is {edge + 1}, outside +/-{edge}"):
        validate_metadata({"n": edge + 1})
    with refused("metadata", f"is {-edge - 1}, outside"):
        validate_metadata({"n": -edge - 1})


def test_metadata_refuses_what_json_cannot_hold() -> None:
    with refused("metadata", "metadata has a non-string key 1"):
        validate_metadata({1: "one"})
    with refused("metadata", "metadata['s'] holds a set, which is not JSON-serialisable"):
        validate_metadata({"s": {1}})


def _nested(levels: int) -> dict[str, object]:
    """Return a dict ``levels`` deep (the dict itself is level 1)."""
    value: dict[str, object] = {}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


def test_metadata_nests_at_most_the_depth_limit() -> None:
    deepest = _nested(MAX_METADATA_DEPTH)
    assert validate_metadata(deepest) == deepest
    with refused("metadata", f"nested {MAX_METADATA_DEPTH + 1} levels deep", "most allowed is 20"):
        validate_metadata(_nested(MAX_METADATA_DEPTH + 1))
    in_a_list: dict[str, object] = {"k": []}
    inner = in_a_list["k"]
    for _ in range(MAX_METADATA_DEPTH - 2):
        inner.append([])  # type: ignore[attr-defined]
        inner = inner[0]  # type: ignore[index]
    assert validate_metadata(in_a_list) == in_a_list
    inner.append([])  # type: ignore[attr-defined]
    with refused("metadata", f"nested {MAX_METADATA_DEPTH + 1} levels deep"):
        validate_metadata(in_a_list)


def test_metadata_holds_its_most_bytes_of_json_and_not_one_more() -> None:
    # {"k":"..."} is 8 bytes of JSON around the string; the string's characters take 2 bytes.
    room = MAX_METADATA_BYTES - len('{"k":""}')
    at_the_limit = {"k": TWO_BYTE * (room // 2)}
    assert validate_metadata(at_the_limit) == at_the_limit
    with refused("metadata", f"is {MAX_METADATA_BYTES + 1} bytes of JSON", "(256 KiB)"):
        validate_metadata({"k": "a" + TWO_BYTE * (room // 2)})


# --- messages of a batch --------------------------------------------------------------------


def test_a_bad_field_of_a_batch_is_named_by_its_place() -> None:
    good = {"role": "user", "content": "hi"}
    with refused("messages[1].content", "must be a string"):
        validate_new_messages([good, {"role": "user", "content": 5}])
    with refused("messages[0].metadata", "metadata['x'] is nan"):
        validate_new_messages([{"role": "user", "content": "", "metadata": {"x": math.nan}}])
    with refused("messages[2].token_count", "must be 0 or more"):
        validate_new_messages([good, good, {**good, "token_count": -1}])
    with refused("messages[0]", "has unknown field(s) 'colour', 'size'"):
        validate_new_messages([{**good, "size": 1, "colour": "red"}])
    with refused("messages[0]", "lacks the field 'content'"):
        validate_new_messages([{"role": "user"}])
    with refused("messages[0]", "lacks the field 'role'"):
        validate_new_messages([{"content": "x"}])
    with refused("messages[0]", "must be a NewMessage or a mapping, got str"):
        validate_new_messages(["hello"])
    with refused("messages", "must be a list or tuple, got dict"):
        validate_new_messages({"role": "user", "content": "x"})


def test_a_batch_comes_back_checked_and_copied() -> None:
    metadata = {"k": (1, 2)}
    checked = validate_new_messages(
        (
            NewMessage(role="tool", content="ran", metadata=metadata, token_count=3),  # type: ignore[arg-type]
            {"role": MessageRole.USER, "content": "x"},
        )
    )
    assert checked == [
        NewMessage(role=MessageRole.TOOL, content="ran", metadata={"k": [1, 2]}, token_count=3),
        NewMessage(role=MessageRole.USER, content="x", metadata={}, token_count=None),
    ]
