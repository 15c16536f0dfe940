"""Check an installed (non-editable) wheel: migrate and check databases from a temp folder.

Run by ``nox -s wheel`` inside a virtual environment where the wheel was installed. It fails
(non-zero) when the packaged migrations are missing or the CLI does not work from outside the
source tree.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from testsupport.databases import BackendUnavailable, provision_database, unavailable_is_failure


def _cli(folder: Path, *arguments: str) -> str:
    command = [str(Path(sys.executable).with_name("agent-sessions")), *arguments]
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"`{' '.join(arguments)}` failed ({result.returncode}): {result.stderr}")
    return result.stdout


SHIPPED_HEAD = json.loads(
    (Path(__file__).parents[1] / "migrations" / "migrations.lock.json").read_text(encoding="utf-8")
)["head"]
"""The head revision of the repository's lock file: the wheel must migrate to it."""


def _check(folder: Path, url: str) -> None:
    print(_cli(folder, "--url", url, "db", "upgrade").strip())
    print(_cli(folder, "--url", url, "db", "check").strip())
    current = _cli(folder, "--url", url, "db", "current").strip()
    if current != SHIPPED_HEAD:
        raise SystemExit(f"db current printed {current!r}")


def _check_kit(folder: Path) -> None:
    """Run a few checks of the conformance kit from the wheel, where pytest is not installed."""
    import itertools

    from agent_sessions import PersistentSessionService
    from agent_sessions.testing import conformance_checks, run_conformance

    numbers = itertools.count()
    chosen = [
        check
        for check in conformance_checks()
        if check.name in {"create_session", "concurrent_appends_are_gapless", "stream_round_trip"}
    ]
    report = run_conformance(
        lambda: PersistentSessionService.from_url(
            f"sqlite:///{folder / f'kit-{next(numbers)}.db'}", migrate=True
        ),
        chosen,
    )
    if len(chosen) != 3 or not report.ok:
        raise SystemExit(f"the conformance kit did not pass from the wheel:\n{report.render()}")
    print(report.summary())


def main() -> None:
    import agent_sessions

    location = Path(agent_sessions.__file__).resolve()
    if "site-packages" not in location.parts:
        raise SystemExit(f"agent_sessions is imported from {location}, not from an installed wheel")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        demo = _cli(folder, "demo")
        if "Planning a trip to Kyoto" not in demo or not (folder / "agent_sessions.db").exists():
            raise SystemExit(f"demo did not record its conversation:\n{demo}")
        print("demo recorded its conversation in", folder / "agent_sessions.db")
        _check(folder, f"sqlite:///{folder / 'fresh.db'}")
        _check_kit(folder)
        for backend in ("postgresql", "mariadb"):
            try:
                with provision_database(backend) as url:
                    _check(folder, url)
            except BackendUnavailable as exc:
                if unavailable_is_failure():
                    raise
                print(f"{backend} unavailable, its wheel check skipped: {exc}")
    print("installed wheel OK:", location.parent)


if __name__ == "__main__":
    main()
