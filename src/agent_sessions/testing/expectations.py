"""What the conformance checks assert with, and the error a broken expectation raises.

Plain functions rather than a test framework's assertions, so that the kit runs under pytest,
unittest or a script alike: each raises :class:`ConformanceError` (an ``AssertionError``, which
every test runner reports as a failure) with a message that says what was called, what the
contract expects and what the service did.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn, TypeAlias, TypeVar

from agent_sessions.domain.entities import Compaction, FileEvent, Rewind, Session, SessionMessage
from agent_sessions.domain.errors import InvalidInputError
from agent_sessions.domain.service import SessionService
from agent_sessions.domain.validation import abbreviated_repr

__all__ = [
    "ConformanceError",
    "SessionRows",
    "StoreState",
    "calling",
    "expect",
    "expect_equal",
    "expect_raises",
    "expect_unchanged",
    "expect_utc",
    "fail",
    "in_threads",
    "shown",
    "store_state",
    "unknown_id",
]

E = TypeVar("E", bound=BaseException)
T = TypeVar("T")

_SHOWN_CHARACTERS = 300
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class ConformanceError(AssertionError):
    """Raised when a service under check breaks the contract of :class:`SessionService`."""


def shown(value: object) -> str:
    """Return ``repr(value)``, cut to about 300 characters for a readable message."""
    return abbreviated_repr(value, _SHOWN_CHARACTERS)


def fail(message: str) -> NoReturn:
    """Raise :class:`ConformanceError` with ``message``."""
    raise ConformanceError(message)


def expect(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        fail(message)


def expect_equal(actual: object, expected: object, what: str) -> None:
    """Fail unless ``actual == expected``; ``what`` names the value, such as ``"get().title"``."""
    if actual != expected:
        fail(f"{what}: expected {shown(expected)}, got {shown(actual)}")


def calling(method: Callable[..., object], /, *args: Any, **kwargs: Any) -> Callable[[], object]:
    """Return a call of ``method`` with these arguments, which may be ill-typed on purpose."""
    return lambda: method(*args, **kwargs)


def expect_utc(moment: object, what: str) -> None:
    """Fail unless ``moment`` is a timezone-aware datetime in UTC (offset zero)."""
    offset = getattr(moment, "utcoffset", None)
    expect(
        offset is not None and offset() == timedelta(0),
        f"{what} must be a timezone-aware UTC datetime, got {shown(moment)}",
    )


def expect_raises(
    error: type[E],
    call: Callable[[], object],
    what: str,
    *,
    argument: str | None = None,
) -> E:
    """Call ``call`` and return the ``error`` it raises; fail if it raises nothing or another.

    Args:
        error: the library's error class the contract names.
        call: the call to make, such as ``lambda: service.get(unknown)``.
        what: the call as the message shows it, such as ``"get(an unknown id)"``.
        argument: for an :class:`InvalidInputError`, the argument it must name.

    """
    try:
        result = call()
    except error as raised:
        if argument is not None:
            named = raised.argument if isinstance(raised, InvalidInputError) else None
            expect(
                named == argument,
                f"{what} raised {type(raised).__name__} naming the argument {named!r}, "
                f"expected {argument!r}: {raised}",
            )
        return raised
    except Exception as other:
        raise ConformanceError(
            f"{what} raised {type(other).__name__}: {other}, expected {error.__name__}"
        ) from other
    fail(f"{what} returned {shown(result)}, expected it to raise {error.__name__}")


SessionRows: TypeAlias = tuple[
    Session,
    tuple[SessionMessage, ...],
    tuple[FileEvent, ...],
    tuple[Rewind, ...],
    tuple[Compaction, ...],
]
"""A session, its transcript (rewound messages included), file events, rewinds, compactions."""


@dataclass(frozen=True, slots=True)
class StoreState:
    """Everything the public interface shows of a store: each session and all it holds.

    Attributes:
        sessions: by session id, the session, its transcript (rewound messages included),
            its file events, its rewinds and its compactions.

    """

    sessions: dict[str, SessionRows]


def store_state(service: SessionService) -> StoreState:
    """Read the whole store through the public interface (a check's store holds few sessions)."""
    sessions = service.list(limit=1000)
    return StoreState(
        {
            session.id: (
                session,
                tuple(service.get_messages(session.id, include_rewound=True)),
                tuple(service.list_file_events(session.id)),
                tuple(service.list_rewinds(session.id)),
                tuple(service.list_compactions(session.id)),
            )
            for session in sessions
        }
    )


def expect_unchanged(service: SessionService, before: StoreState, what: str) -> None:
    """Fail unless the store reads exactly as ``before``: ``what`` wrote nothing."""
    after = store_state(service)
    if after != before:
        fail(f"{what} must write nothing, but the store changed: {_difference(before, after)}")


def _difference(before: StoreState, after: StoreState) -> str:
    old, new = before.sessions, after.sessions
    if old.keys() != new.keys():
        return (
            f"sessions {sorted(old.keys() - new.keys())} went and "
            f"{sorted(new.keys() - old.keys())} came"
        )
    changed = next(key for key in old if old[key] != new[key])
    return f"session {changed} was {shown(old[changed])}, is now {shown(new[changed])}"


def unknown_id() -> str:
    """Return a well-formed ULID that no store holds (80 random bits after a zero time)."""
    return "0000000000" + "".join(secrets.choice(_CROCKFORD) for _ in range(16))


def in_threads(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(0)`` ... ``work(count - 1)`` in ``count`` threads released at once.

    Returns their results in the order of the index; fails with the first error a thread
    raised, chained, after every thread has ended.
    """
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        first = errors[0]
        raise ConformanceError(
            f"{len(errors)} of {count} concurrent calls failed, the first with "
            f"{type(first).__name__}: {first}"
        ) from first
    return results
