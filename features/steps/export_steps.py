"""Steps about export documents: their shape, the round trip, and documents that are refused."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

from behave import then, when
from behave.runner import Context

from features.session_world import (
    SHA256_CHECKSUM,
    ULID_PATTERN,
    attempt,
    independent_checksum,
)


def _cell(text: str) -> Any:
    return json.loads(text) if text.strip() else None


# --- the document -----------------------------------------------------------------------------


@when("I export the session")
def step_export(context: Context) -> None:
    context.document = context.service.export_session(context.session.id)


@then('the export document has the format "{name}" and schema_version {version:d}')
def step_document_format(context: Context, name: str, version: int) -> None:
    document = context.document
    assert document["format"] == name, f"format is {document['format']!r}"
    assert document["schema_version"] == version, f"schema_version {document['schema_version']!r}"
    assert document["session"]["id"] == context.session.id


@then('its checksum is "sha256:" followed by 64 hexadecimal digits')
def step_checksum_shape(context: Context) -> None:
    checksum = context.document["checksum"]
    assert SHA256_CHECKSUM.match(checksum), f"checksum is {checksum!r}"


@then("its checksum is the SHA-256 of the canonical JSON of every other field")
def step_checksum_value(context: Context) -> None:
    expected = independent_checksum(context.document)
    assert context.document["checksum"] == expected, f"checksum should be {expected}"


@then("it lists the {count:d} messages in ascending sequence")
def step_document_messages(context: Context, count: int) -> None:
    listed = context.document["messages"]
    assert [message["sequence"] for message in listed] == list(range(1, count + 1))
    stored = context.service.get_messages(context.session.id)
    assert [message["content"] for message in listed] == [message.content for message in stored]
    assert context.document["session"]["message_count"] == count


@then("it comes through a JSON round trip unchanged")
def step_json_round_trip(context: Context) -> None:
    text = json.dumps(context.document, allow_nan=False)
    assert json.loads(text) == context.document, "the document changed through JSON"


# --- the round trip ---------------------------------------------------------------------------


@then("the imported session has a new id and otherwise the same contents as the original")
def step_imported_session(context: Context) -> None:
    imported = context.service.get(context.imported.id)
    assert imported == context.imported, "import_session returned other data than it stored"
    assert imported.id != context.original.id, "the imported session kept the old id"
    assert ULID_PATTERN.match(imported.id), f"{imported.id!r} is not a ULID"
    assert dataclasses.replace(imported, id=context.original.id) == context.original, (
        f"imported {imported!r}\noriginal {context.original!r}"
    )


@then("the imported messages have new ids and otherwise the same contents as the originals")
def step_imported_messages(context: Context) -> None:
    imported = context.service.get_messages(context.imported.id)
    originals = context.original_messages
    assert len(imported) == len(originals), f"{len(imported)} messages, not {len(originals)}"
    old_ids = {message.id for message in originals}
    for copied, original in zip(imported, originals, strict=True):
        assert copied.id not in old_ids, f"message {copied.sequence} kept an old id"
        assert ULID_PATTERN.match(copied.id), f"{copied.id!r} is not a ULID"
        assert copied.session_id == context.imported.id
        same = dataclasses.replace(copied, id=original.id, session_id=original.session_id)
        assert same == original, f"imported {copied!r}\noriginal {original!r}"
    assert len({message.id for message in imported}) == len(imported), "message ids repeat"


# --- refused documents ------------------------------------------------------------------------


def _export(context: Context) -> dict[str, Any]:
    return copy.deepcopy(context.service.export_session(context.session.id))


def _resign(document: dict[str, Any]) -> dict[str, Any]:
    document["checksum"] = independent_checksum(document)
    return document


def _set(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def changed(document: dict[str, Any]) -> dict[str, Any]:
        change(document)
        return document

    return changed


_TAMPERINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "the content of the first message": lambda d: d["messages"][0].update(content="changed"),
    "the role of the second message": lambda d: d["messages"][1].update(role="system"),
    "the title of the session": lambda d: d["session"].update(title="changed"),
    "the prompt tokens of the session": lambda d: d["session"].update(prompt_tokens=10**6),
    "the checksum": lambda d: d.update(checksum="sha256:" + "0" * 64),
}


_MALFORMED: dict[str, Callable[[dict[str, Any]], Any]] = {
    "a list instead of a document": lambda d: [d],
    "a text instead of a document": lambda d: json.dumps(d),
    "its export document without the checksum field": _set(lambda d: d.pop("checksum")),
    "its export document without the schema_version field": lambda d: _resign(
        _set(lambda d: d.pop("schema_version"))(d)
    ),
    "its export document without the messages field": lambda d: _resign(
        _set(lambda d: d.pop("messages"))(d)
    ),
    "its export document with an unknown format": lambda d: _resign(
        _set(lambda d: d.update(format="other-tool/export"))(d)
    ),
    "its export document with an extra field": lambda d: _resign(
        _set(lambda d: d.update(comment="hello"))(d)
    ),
    "its export document with a message lacking its role, re-signed": lambda d: _resign(
        _set(lambda d: d["messages"][0].pop("role"))(d)
    ),
    "its export document with an unknown role, re-signed": lambda d: _resign(
        _set(lambda d: d["messages"][0].update(role="moderator"))(d)
    ),
    "its export document with a gap in the sequences, re-signed": lambda d: _resign(
        _set(lambda d: d["messages"][1].update(sequence=3))(d)
    ),
    "its export document with a wrong message count, re-signed": lambda d: _resign(
        _set(lambda d: d["session"].update(message_count=5))(d)
    ),
    "its export document with a timestamp lacking a time zone, re-signed": lambda d: _resign(
        _set(lambda d: d["session"].update(created_at="2024-01-01T10:00:00"))(d)
    ),
    "its export document with negative prompt tokens, re-signed": lambda d: _resign(
        _set(lambda d: d["session"].update(prompt_tokens=-1))(d)
    ),
    "its export document with a checksum that is not a string": _set(
        lambda d: d.update(checksum=12345)
    ),
    "its export document holding NaN, re-signed": lambda d: _resign(
        _set(lambda d: d["session"]["metadata"].update(score=float("nan")))(d)
    ),
    "its export document whose messages are not a list, re-signed": lambda d: _resign(
        _set(lambda d: d.update(messages={"1": d["messages"][0]}))(d)
    ),
    "its export document whose session is not an object, re-signed": lambda d: _resign(
        _set(lambda d: d.update(session="alice"))(d)
    ),
    "its export document with an extra message field, re-signed": lambda d: _resign(
        _set(lambda d: d["messages"][0].update(author="alice"))(d)
    ),
    "its export document with a text as a sequence, re-signed": lambda d: _resign(
        _set(lambda d: d["messages"][0].update(sequence="1"))(d)
    ),
    "its export document with a date that is not a date, re-signed": lambda d: _resign(
        _set(lambda d: d["messages"][0].update(created_at="yesterday"))(d)
    ),
    "its export document with a number as a date, re-signed": lambda d: _resign(
        _set(lambda d: d.update(exported_at=1700000000))(d)
    ),
}


@when("I try to import {document}")
def step_try_import(context: Context, document: str) -> None:
    malformed = _MALFORMED[document](_export(context))
    attempt(context, lambda: context.service.import_session(malformed))
