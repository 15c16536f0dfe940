"""Steps that throw hostile and malformed input at every public method and CLI command.

Each scenario notes the row count of every table in the scenario's database first, and checks
afterwards that no count changed and no table disappeared.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import shlex
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from behave import given, then, when
from behave.runner import Context
from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import make_url

from agent_sessions.domain.export_format import MAX_DOCUMENT_MESSAGES
from agent_sessions.domain.validation import (
    MAX_CONTENT_BYTES,
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
)
from agent_sessions.infrastructure.cli import main
from agent_sessions.infrastructure.database import create_database_engine
from features.session_world import attempt, independent_checksum, sample_value

# --- row counts -------------------------------------------------------------------------------


def _row_counts(url: str) -> dict[str, int]:
    engine = create_database_engine(url)
    try:
        with engine.connect() as connection:
            names = inspect(connection).get_table_names()
            return {
                name: connection.execute(select(func.count()).select_from(table(name))).scalar_one()
                for name in names
            }
    finally:
        engine.dispose()


@given("the row counts of every table are noted")
def step_note_row_counts(context: Context) -> None:
    context.row_counts = _row_counts(context.database_url)
    assert {"sessions", "session_messages"} <= context.row_counts.keys(), context.row_counts


@then("the row counts of every table are unchanged")
def step_row_counts_unchanged(context: Context) -> None:
    after = _row_counts(context.database_url)
    assert after.keys() == context.row_counts.keys(), f"tables {sorted(after)} != noted"
    assert after == context.row_counts, f"row counts changed: {context.row_counts} -> {after}"


# --- hostile values ---------------------------------------------------------------------------


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def _self_referencing() -> dict[str, Any]:
    value: dict[str, Any] = {"name": "loop"}
    value["self"] = value
    return value


_HOSTILE: dict[str, Callable[[], Any]] = {
    "a lone low surrogate": lambda: "\udcff",
    "256 multi-byte characters": lambda: "é" * 256,
    "content one byte over the limit": lambda: "x" * (MAX_CONTENT_BYTES + 1),
    "multi-byte content over the limit": lambda: "é" * (MAX_CONTENT_BYTES // 2 + 1),
    "an SQL injection": lambda: "'); DROP TABLE sessions; --",
    "a quoted SQL injection": lambda: '" OR 1=1 --',
    "a ten-megabyte string": lambda: "x" * 10_000_000,
    "an id with a trailing newline": lambda: "01HZX3NDEKTSV4RRFFQ69G5FAV\n",
    "an id with a long s": lambda: "01HZX3NDEKT\u017fV4RRFFQ69G5FAV",
    "an id of fullwidth digits": lambda: "\uff101HZX3NDEKTSV4RRFFQ69G5FAV",
    "2**63": lambda: 2**63,
    "-2**63": lambda: -(2**63),
    "an integer of 5000 digits": lambda: 10**5000,
    "1e400": lambda: float("1e400"),
    "a dict holding a lone surrogate": lambda: {"note": "a\udfffb"},
    "a dict with a lone surrogate in a key": lambda: {"k\ud800": 1},
    "a dict holding 2**53": lambda: {"big": 2**53},
    "a dict holding -2**53": lambda: {"small": -(2**53)},
    "a dict holding 1e400": lambda: {"score": float("1e400")},
    "a dict holding an integer of 5000 digits": lambda: {"huge": 10**5000},
    "a dict nested one level too deep": lambda: _nested(MAX_METADATA_DEPTH + 1),
    "a dict nested 100000 levels deep": lambda: _nested(100_000),
    "a dict that contains itself": _self_referencing,
    "a dict of lists nested too deep": lambda: {"l": [[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]},
    "a dict one byte over the limit": lambda: {"blob": "x" * (MAX_METADATA_BYTES - 11 + 1)},
    "a tuple": lambda: ("user",),
}


def hostile_value(description: str) -> Any:
    """Return the value a hostile-input example names (or one of the shared sample values)."""
    factory = _HOSTILE.get(description.strip())
    return factory() if factory is not None else sample_value(description)


# --- the service ------------------------------------------------------------------------------

_VALID_ARGUMENTS: dict[str, Callable[[str], dict[str, Any]]] = {
    "create": lambda sid: {"actor_name": "hostile", "title": "t", "metadata": {"k": "v"}},
    "get": lambda sid: {"session_id": sid},
    "list": lambda sid: {"actor_name": "alice", "limit": 10, "offset": 0},
    "delete": lambda sid: {"session_id": sid},
    "append_message": lambda sid: {
        "session_id": sid,
        "role": "user",
        "content": "hello",
        "metadata": {"k": "v"},
        "token_count": 1,
    },
    "get_messages": lambda sid: {"session_id": sid, "limit": 10, "offset": 0},
    "recent_messages": lambda sid: {"session_id": sid, "n": 5},
    "export_session": lambda sid: {"session_id": sid},
    "update_token_usage": lambda sid: {
        "session_id": sid,
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "idempotency_key": "usage-1",
    },
    "verify": lambda sid: {"session_id": sid},
}


@when("I call {method:w} with {argument:w} set to {value}")
def step_call_with(context: Context, method: str, argument: str, value: str) -> None:
    arguments = _VALID_ARGUMENTS[method](context.session.id)
    assert argument in arguments, f"{method} takes no argument {argument!r} in these steps"
    arguments[argument] = hostile_value(value)
    call = getattr(context.service, method)
    attempt(context, lambda: call(**arguments))


@when("I import {value} as the export document")
def step_import_value(context: Context, value: str) -> None:
    document = hostile_value(value)
    attempt(context, lambda: context.service.import_session(document))


# --- injection text is data -------------------------------------------------------------------


@when('every text field of a new session and its message is set to "{text}"')
def step_injection_everywhere(context: Context, text: str) -> None:
    service = context.service
    context.injected = service.create(text, title=text, metadata={text: text, "list": [text]})
    service.append_message(
        context.injected.id, "tool", text, metadata={text: {text: text}}, token_count=3
    )


@then('"{text}" reads back verbatim from every field and finds that session by actor')
def step_injection_verbatim(context: Context, text: str) -> None:
    service = context.service
    session = service.get(context.injected.id)
    assert (session.actor_name, session.title) == (text, text), session
    assert session.metadata == {text: text, "list": [text]}, session.metadata
    (message,) = service.get_messages(session.id)
    assert message.content == text, message.content
    assert message.metadata == {text: {text: text}}, message.metadata
    assert [found.id for found in service.list(actor_name=text)] == [session.id]
    copied = service.import_session(service.export_session(session.id))
    assert service.get_messages(copied.id)[0].content == text
    after = _row_counts(context.database_url)
    expected = dict(context.row_counts)
    expected["sessions"] += 2  # the session and its imported copy
    expected["session_messages"] += 2
    assert after == expected, f"expected the row counts {expected}, found {after}"


# --- content and metadata at their limits -----------------------------------------------------


@when("I append content of quotes at the byte limit with emoji metadata at its limit")
def step_at_limits(context: Context) -> None:
    context.limit_content = "'" * MAX_CONTENT_BYTES
    emoji = (MAX_METADATA_BYTES - len('{"k":""}')) // 4
    context.limit_metadata = {"k": "😀" * emoji}
    context.service.append_message(
        context.session.id, "tool", context.limit_content, metadata=context.limit_metadata
    )


@then("the message reads back with exactly that content and metadata")
def step_limits_back(context: Context) -> None:
    # A tool result: the window of 1 reaches back to the message it answers; ours is the last.
    message = context.service.recent_messages(context.session.id, 1)[-1]
    assert message.sequence == 4, message.sequence
    digest = hashlib.sha256(message.content.encode("utf-8")).hexdigest()
    expected = hashlib.sha256(context.limit_content.encode("utf-8")).hexdigest()
    assert digest == expected, f"content changed: {len(message.content)} characters back"
    assert message.metadata == context.limit_metadata, "metadata changed"


# --- import documents -------------------------------------------------------------------------


def _naive_signature(document: dict[str, Any]) -> dict[str, Any]:
    """Sign as an attacker who does not know the canonical form: plain ``json.dumps``."""
    body = {key: value for key, value in document.items() if key != "checksum"}
    document["checksum"] = "sha256:" + hashlib.sha256(json.dumps(body).encode()).hexdigest()
    return document


def _resign(document: dict[str, Any]) -> dict[str, Any]:
    document["checksum"] = independent_checksum(document)
    return document


def _drop_second_message(document: dict[str, Any]) -> None:
    del document["messages"][1]
    document["session"]["message_count"] -= 1


def _drop_and_renumber(document: dict[str, Any]) -> None:
    _drop_second_message(document)
    for number, message in enumerate(document["messages"], start=1):
        message["sequence"] = number


def _oversized(document: dict[str, Any]) -> None:
    content = "x" * (MAX_CONTENT_BYTES - 16)
    template = document["messages"][0]
    document["messages"] = [
        {**template, "sequence": number, "content": content} for number in range(1, 11)
    ]
    document["session"]["message_count"] = 10


def _too_many(document: dict[str, Any]) -> None:
    document["messages"] = [document["messages"][0]] * (MAX_DOCUMENT_MESSAGES + 1)


def _message(index: int, **changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda document: document["messages"][index].update(changes)


def _session(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda document: document["session"].update(changes)


_DOCUMENT_CHANGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "a message was removed": _drop_second_message,
    "a message was removed and the rest renumbered": _drop_and_renumber,
    "a sequence was duplicated": _message(1, sequence=1),
    "a sequence is 2**64": _message(2, sequence=2**64),
    "a content was changed": _message(0, content="tampered"),
    "a role is a number": _message(0, role=1),
    "a content is a list": _message(0, content=["hello"]),
    "a content holds a lone surrogate": _message(1, content="a\ud800b"),
    "a content holds a NUL character": _message(1, content="a\x00b"),
    "a content is over the byte limit": _message(0, content="x" * (MAX_CONTENT_BYTES + 1)),
    "a token_count is a boolean": _message(2, token_count=True),
    "a token_count is 2**53": _message(2, token_count=2**53),
    "a message id is an SQL injection": _message(0, id="'); DROP TABLE sessions; --"),
    "a message metadata is nested 100000 levels": _message(0, metadata=_nested(100_000)),
    "a message is a list": lambda document: document["messages"].__setitem__(0, ["user"]),
    "the session id is not a ULID": _session(id="not-a-ulid"),
    "the actor_name is an SQL injection of 300 characters": _session(actor_name="' OR 1=1;" * 34),
    "the prompt_tokens are a float": _session(prompt_tokens=1.0),
    "the completion_tokens are negative": _session(completion_tokens=-1),
    "the title is a number": _session(title=42),
    "the created_at lies before year 1 in UTC": _session(created_at="0001-01-01T00:00:00+01:00"),
    "the updated_at is a ten-megabyte string": _session(updated_at="x" * 10_000_000),
    "the metadata holds a key with a lone surrogate": _session(metadata={"k\udfff": 1}),
    "the session has an unknown field": _session(owner="mallory"),
    "the session lacks its actor_name": lambda document: document["session"].pop("actor_name"),
    "the schema_version is a string": lambda document: document.update(schema_version="1"),
    "the schema_version is 2**64": lambda document: document.update(schema_version=2**64),
    "the checksum is in upper case": lambda document: document.update(
        checksum=document["checksum"].upper().replace("SHA256:", "sha256:")
    ),
    "it holds more messages than an import takes": _too_many,
    "its canonical JSON is over 64 MiB": _oversized,
}

_SIGNATURES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "re-signed canonically": _resign,
    "signed over plain json.dumps": _naive_signature,
    "left with its old checksum": lambda document: document,
}


@when("its export document is imported after {change}, {signature}")
def step_import_changed(context: Context, change: str, signature: str) -> None:
    document = copy.deepcopy(context.service.export_session(context.session.id))
    _DOCUMENT_CHANGES[change](document)
    signed = _SIGNATURES[signature](document)
    attempt(context, lambda: context.service.import_session(signed))


# --- the command line -------------------------------------------------------------------------


def _scratch_folder(context: Context) -> Path:
    if not hasattr(context, "hostile_folder"):
        folder = context.scenario_stack.enter_context(tempfile.TemporaryDirectory())
        context.hostile_folder = Path(folder)
    return context.hostile_folder


def _export_text(context: Context, change: Callable[[dict[str, Any]], Any] | None = None) -> str:
    document = copy.deepcopy(context.service.export_session(context.cli_session_id))
    if change is not None:
        change(document)
    return json.dumps(document, ensure_ascii=False, indent=2)


def _signed(
    change: Callable[[dict[str, Any]], Any], sign: Callable[[dict[str, Any]], dict[str, Any]]
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def changed_and_signed(document: dict[str, Any]) -> dict[str, Any]:
        change(document)
        return sign(document)

    return changed_and_signed


def _write_sparse(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        handle.truncate(size)


_FILE_CONTENTS: dict[str, Callable[[Context, Path], None]] = {
    "a truncated export": lambda c, p: p.write_text(_export_text(c)[:-40], encoding="utf-8"),
    "an empty file": lambda c, p: p.write_bytes(b""),
    "an export with invalid UTF-8 inside a content": lambda c, p: p.write_bytes(
        _export_text(c).replace("message 1", "message \udcff", 1).encode("utf-8", "surrogateescape")
    ),
    "an export with the format key twice": lambda c, p: p.write_text(
        _export_text(c).replace("{", '{\n  "format": "other",', 1), encoding="utf-8"
    ),
    "an export holding NaN": lambda c, p: p.write_text(
        _export_text(c).replace('"token_count": null', '"token_count": NaN', 1), encoding="utf-8"
    ),
    "an export holding an integer of 5000 digits": lambda c, p: p.write_text(
        _export_text(c).replace('"prompt_tokens": 0', '"prompt_tokens": ' + "9" * 5000, 1),
        encoding="utf-8",
    ),
    "JSON nested 100000 levels deep": lambda c, p: p.write_text("[" * 100_000 + "]" * 100_000),
    "a JSON list": lambda c, p: p.write_text("[]"),
    "an export with a message removed, re-signed": lambda c, p: p.write_text(
        _export_text(c, _signed(_drop_second_message, _resign)), encoding="utf-8"
    ),
    "an export with a changed content, signed over plain json.dumps": lambda c, p: p.write_text(
        _export_text(c, _signed(_message(0, content="changed"), _naive_signature)),
        encoding="utf-8",
    ),
    "an export of schema_version 7": lambda c, p: p.write_text(
        _export_text(c, _signed(lambda d: d.update(schema_version=7), _resign)), encoding="utf-8"
    ),
    "more than 256 MiB": lambda c, p: _write_sparse(p, 256 * 1024 * 1024 + 1),
}


@given("an import file holding {content}")
def step_import_file(context: Context, content: str) -> None:
    path = _scratch_folder(context) / "hostile.json"
    _FILE_CONTENTS[content](context, path)
    context.hostile_file = path


def _cli_value(context: Context, description: str) -> str:
    url = make_url(context.database_url)
    if description == "the URL with an injected database name":
        if url.get_backend_name() == "sqlite":
            injected = str(_scratch_folder(context) / "x'; DROP TABLE sessions; --.db")
        else:
            injected = "x'; DROP TABLE sessions; --"
        return url.set(database=injected).render_as_string(hide_password=False)
    if description == "a folder":
        return str(_scratch_folder(context))
    if description == "a missing folder":
        return str(_scratch_folder(context) / "missing")
    if description == "a file in a missing folder":
        return str(_scratch_folder(context) / "missing" / "lock.json")
    value = hostile_value(description)
    assert isinstance(value, str), f"{description} is not a command-line word"
    return value


@when('agent-sessions runs "{arguments}" with VALUE being {value}')
def step_cli_hostile(context: Context, arguments: str, value: str) -> None:
    replacements = {
        "{database}": context.database_url,
        "{session}": getattr(context, "cli_session_id", "01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        "{file}": str(getattr(context, "hostile_file", "")),
        "VALUE": _cli_value(context, value),
    }
    argv = [replacements.get(word, word) for word in shlex.split(arguments)]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            context.cli_status = main(argv)
        except SystemExit as exc:
            context.cli_status = exc.code
    context.cli_stdout, context.cli_stderr = stdout.getvalue(), stderr.getvalue()


@then("the command names {text} in its usage error")
def step_usage_error(context: Context, text: str) -> None:
    assert context.cli_status == 2, (context.cli_status, context.cli_stderr)
    assert "usage: agent-sessions" in context.cli_stderr, context.cli_stderr
    assert text in context.cli_stderr.splitlines()[-1], context.cli_stderr
    assert "Traceback" not in context.cli_stderr
