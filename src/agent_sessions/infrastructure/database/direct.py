"""Hot statements run straight on the driver's cursor, compiled once per dialect.

An append or a tail read is a few microseconds of database work, and SQLAlchemy's execute
path (execution context, parameter processing, result metadata, events) costs several times
that per statement. A :class:`DirectStatement` keeps the Core statement as the one definition
of the SQL, compiles it once for each dialect it meets, and then runs it on the connection's
DBAPI cursor inside the transaction SQLAlchemy opened, applying the same bind and result
processors the types define (so values convert exactly as they would through
``Connection.execute``).

A driver error goes through SQLAlchemy's own error handling: it is wrapped in the matching
``DBAPIError``, a lost connection is invalidated (and with it the pool's older connections),
``handle_error`` listeners run, and the failed statement's cursor is closed as SQLAlchemy
closes its own (quietly, or with the connection when that was lost), so the retry policy
classifies the statement's error as it would any other.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import Executable

__all__ = ["DirectStatement"]

_Processor = Callable[[Any], Any]
_NOTHING = object()


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One statement's SQL for one dialect, with what it takes to run it on the cursor."""

    sql: str
    positions: tuple[str, ...] | None  # parameter order for positional paramstyles
    defaults: Mapping[str, Any]  # values of the binds the caller does not give
    binds: tuple[tuple[str, _Processor], ...]  # bind processors, by parameter name
    results: tuple[tuple[int, _Processor], ...]  # result processors, by column position

    def parameters(self, given: Mapping[str, Any]) -> Any:
        return self.parameter_sets([given])[0]

    def parameter_sets(self, given: Sequence[Mapping[str, Any]]) -> list[Any]:
        sets = [{**self.defaults, **each} for each in given]
        for name, process in self.binds:
            # Column by column, and a value that is the very object of the row before (the
            # one timestamp of a batch) is converted once.
            last_in: Any = _NOTHING
            last_out: Any = None
            for values in sets:
                value = values[name]
                if value is not last_in:
                    last_in, last_out = value, process(value)
                values[name] = last_out
        if self.positions is None:
            return sets
        positions = self.positions
        return [tuple([values[name] for name in positions]) for values in sets]

    def convert(self, rows: list[Any]) -> list[Any]:
        if not self.results:
            return rows
        # Column by column: one loop per processed column instead of one per value.
        converted = [list(row) for row in rows]
        for position, process in self.results:
            for values in converted:
                values[position] = process(values[position])
        return converted


class DirectStatement:
    """A Core statement compiled once per dialect and run on the DBAPI cursor."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: weakref.WeakKeyDictionary[Dialect, _Compiled] = weakref.WeakKeyDictionary()

    def rows(self, connection: Connection, parameters: Mapping[str, Any]) -> list[Any]:
        """Run the statement with ``parameters`` and return its rows (sequences), converted."""
        compiled = self._for(connection.dialect)
        driver_parameters = compiled.parameters(parameters)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(compiled.sql, driver_parameters)
            rows = list(cursor.fetchall()) if cursor.description is not None else []
        except Exception as exc:
            connection._handle_dbapi_exception(exc, compiled.sql, driver_parameters, cursor, None)
        cursor.close()
        return compiled.convert(rows)

    def run(self, connection: Connection, parameters: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; return the driver's row count."""
        compiled = self._for(connection.dialect)
        driver_parameters = compiled.parameters(parameters)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(compiled.sql, driver_parameters)
            count: int = cursor.rowcount
        except Exception as exc:
            connection._handle_dbapi_exception(exc, compiled.sql, driver_parameters, cursor, None)
        cursor.close()
        return count

    def run_many(self, connection: Connection, parameters: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per parameter set, in one ``executemany``."""
        compiled = self._for(connection.dialect)
        driver_parameters = compiled.parameter_sets(parameters)
        cursor = connection.connection.cursor()
        try:
            cursor.executemany(compiled.sql, driver_parameters)
        except Exception as exc:
            connection._handle_dbapi_exception(exc, compiled.sql, driver_parameters, cursor, None)
        cursor.close()

    def _for(self, dialect: Dialect) -> _Compiled:
        try:
            return self._compiled[dialect]
        except KeyError:
            compiled = self._compiled[dialect] = _compile(self.statement, dialect)
            return compiled


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    assert isinstance(compiled, SQLCompiler)
    if compiled.escaped_bind_names or compiled.post_compile_params:
        raise ValueError(f"{dialect.name} cannot run this statement directly: {compiled.string}")
    # Binds with a value of their own (SQLite's "OFFSET 0", say); the caller gives the rest.
    defaults = {
        name: bind.effective_value
        for bind, name in compiled.bind_names.items()
        if not bind.required and bind.value is not None
    }
    binds = tuple(
        (name, process)
        for name, process in compiled._bind_processors.items()
        if callable(process)  # not the per-element processors of an expanding IN
    )
    results = tuple(
        (position, process)
        for position, column in enumerate(compiled._result_columns)
        if (process := column.type._cached_result_processor(dialect, None)) is not None
    )
    positions = tuple(compiled.positiontup or ()) if compiled.positional else None
    return _Compiled(compiled.string, positions, defaults, binds, results)
