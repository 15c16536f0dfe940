"""The whole suite: every check in order, and a run of them that reports instead of raising."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agent_sessions.testing.check import ConformanceCheck, ServiceFactory
from agent_sessions.testing.checks import MODULES
from agent_sessions.testing.expectations import ConformanceError

__all__ = ["CheckFailure", "ConformanceReport", "conformance_checks", "run_conformance"]


def conformance_checks() -> list[ConformanceCheck]:
    """Return every check of the kit, in a fixed order, each with a unique name."""
    return [
        value
        for module in MODULES
        for value in vars(module).values()
        if isinstance(value, ConformanceCheck) and value.body.__module__ == module.__name__
    ]


@dataclass(frozen=True, slots=True)
class CheckFailure:
    """A check that failed, and why.

    Attributes:
        check: the check's name.
        message: what the service did wrong, or the unexpected error it raised.
        error: the exception that ended the check (a ``ConformanceError`` when the service
            broke an expectation, any other exception when something raised unexpectedly).

    """

    check: str
    message: str
    error: BaseException

    def render(self) -> str:
        """Return the failure as one line (or more, when the message has them)."""
        return f"{self.check}: {self.message}"


@dataclass(frozen=True, slots=True)
class ConformanceReport:
    """The outcome of :func:`run_conformance`: the checks that passed and those that failed.

    Attributes:
        passed: the names of the checks that passed, in the order run.
        failures: a :class:`CheckFailure` per failed check, in the order run.

    """

    passed: tuple[str, ...]
    failures: tuple[CheckFailure, ...]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.failures

    @property
    def failed(self) -> tuple[str, ...]:
        """The names of the checks that failed, in the order run."""
        return tuple(failure.check for failure in self.failures)

    def summary(self) -> str:
        """Return one line: how many checks ran, passed and failed."""
        total = len(self.passed) + len(self.failures)
        return f"{total} conformance checks: {len(self.passed)} passed, {len(self.failures)} failed"

    def render(self) -> str:
        """Return the report as text: one entry per failure, then the summary line."""
        return "\n".join([*(failure.render() for failure in self.failures), self.summary()])

    def raise_on_failure(self) -> None:
        """Raise :class:`ConformanceError` listing every failure, unless every check passed."""
        if self.failures:
            raise ConformanceError(self.render())


def run_conformance(
    factory: ServiceFactory, checks: Iterable[ConformanceCheck] | None = None
) -> ConformanceReport:
    """Run ``checks`` (all of :func:`conformance_checks` by default) and report on each.

    Each check gets its own service from ``factory`` (see
    :class:`~agent_sessions.testing.check.ConformanceCheck`), closed after it. A check fails
    when it raises anything: a :class:`ConformanceError` for a broken expectation, or any
    other ``Exception`` the factory or the service raised unexpectedly, which is reported
    with its class. Nothing is raised; call :meth:`ConformanceReport.raise_on_failure`.
    """
    passed: list[str] = []
    failures: list[CheckFailure] = []
    for check in conformance_checks() if checks is None else checks:
        try:
            check.run(factory)
        except ConformanceError as broken:
            failures.append(CheckFailure(check.name, str(broken), broken))
        except Exception as unexpected:
            message = f"raised {type(unexpected).__name__} unexpectedly: {unexpected}"
            failures.append(CheckFailure(check.name, message, unexpected))
        else:
            passed.append(check.name)
    return ConformanceReport(tuple(passed), tuple(failures))
