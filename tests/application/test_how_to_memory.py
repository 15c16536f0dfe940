"""The how-to ``docs/how-to/test-with-the-in-memory-store.md`` runs as it is written.

Its pytest module passes under pytest, and each of its programs prints what the page says.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOW_TO = ROOT / "docs" / "how-to" / "test-with-the-in-memory-store.md"
TEXT = HOW_TO.read_text(encoding="utf-8")
PYTEST_EXAMPLE, *PROGRAMS = re.findall(r"```python\n(.*?)```", TEXT, re.S)


def _printed_after(code: str) -> str:
    rest = TEXT[TEXT.index(code) + len(code) :]
    shown = re.match(r"```\n\nprints(?: `(.*?)`\.|\n\n```text\n(.*?)```)", rest, re.S)
    assert shown is not None, f"the page says what the program prints:\n{code}"
    return shown.group(1) or shown.group(2).rstrip("\n")


def test_the_pytest_example_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "test_example.py"
    module.write_text(PYTEST_EXAMPLE, encoding="utf-8")
    arguments = [
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:asyncio",
        "--rootdir",
        str(tmp_path),
        str(module),
    ]
    assert pytest.main(arguments) == pytest.ExitCode.OK
    assert re.search(r"^1 passed", capsys.readouterr().out, re.M)


@pytest.mark.parametrize("program", PROGRAMS, ids=["fail_next", "asyncio", "verify"])
def test_each_program_prints_what_the_page_says(program: str) -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(program, str(HOW_TO), "exec"), {"__name__": "how_to_example"})
    assert printed.getvalue().rstrip("\n") == _printed_after(program)
