"""The how-to ``docs/how-to/check-your-own-service.md`` says what the kit does.

Its three programs run exactly as they are written there (they use SQLite files of their own,
so they run in the SQLite run only), what the script prints is what the page says it prints,
and the page lists every check of the kit, in order, with its description.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unittest
from pathlib import Path

from agent_sessions.testing import conformance_checks

ROOT = Path(__file__).resolve().parents[2]
HOW_TO = ROOT / "docs" / "how-to" / "check-your-own-service.md"
TEXT = HOW_TO.read_text(encoding="utf-8")
PYTEST_EXAMPLE, UNITTEST_EXAMPLE, SCRIPT_EXAMPLE = re.findall(r"```python\n(.*?)```", TEXT, re.S)


def _printed_after(code: str) -> str:
    rest = TEXT[TEXT.index(code) :]
    return re.search(r"```text\n(.*?)```", rest, re.S).group(1)


def test_the_pytest_example_runs_a_test_per_check(sqlite_run, tmp_path: Path) -> None:
    # Every check passes on both services (test_builtin_services.py); here a few of them,
    # sync and async, show that the example's factories work under pytest.
    module = tmp_path / "test_conformance.py"
    module.write_text(PYTEST_EXAMPLE, encoding="utf-8")
    chosen = "create_session or stream_round_trip or concurrent_appends_are_gapless"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", chosen, module.name],
        cwd=tmp_path,
        # The example needs no plugin; loading the installed ones would triple the run.
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    tests = 2 * len(conformance_checks())
    assert re.search(rf"^6 passed, {tests - 6} deselected", done.stdout, re.M), done.stdout
    assert f"`pytest -q` then reports `{tests} passed`" in TEXT


def test_the_unittest_example_passes_every_check(sqlite_run) -> None:
    namespace: dict[str, object] = {"__name__": "how_to_example"}
    exec(compile(UNITTEST_EXAMPLE, str(HOW_TO), "exec"), namespace)
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(namespace["ServiceConformanceTest"])
    result = unittest.TestResult()
    suite.run(result)
    assert result.wasSuccessful(), result.failures + result.errors
    assert result.testsRun == 1


def test_the_script_prints_what_the_how_to_says(sqlite_run, capsys) -> None:
    exec(compile(SCRIPT_EXAMPLE, str(HOW_TO), "exec"), {"__name__": "__main__"})
    assert capsys.readouterr().out == _printed_after(SCRIPT_EXAMPLE)
    assert f"{len(conformance_checks())} checks, twice" in TEXT


def test_the_how_to_lists_every_check_with_its_description() -> None:
    listing = TEXT[TEXT.index("## The checks") :]
    items = re.findall(r"^- `(\w+)`: (.*?)(?=^- |\Z)", listing, re.S | re.M)
    documented = [(name, " ".join(description.split())) for name, description in items]
    assert documented == [(check.name, check.description) for check in conformance_checks()]
