"""Text tables: whole lines through a pipe, fitted to the width of a terminal.

A :class:`Table` is printed by :func:`print_table`. Through a pipe or into a file its lines
are fixed columns, two spaces apart, every value whole (:meth:`Table.lines`): scripts read
them. On a terminal the table is fitted to the terminal's width (:func:`fit`), in this order:

1. all columns as wide as their widest value, when that fits;
2. else times show to the minute in UTC (``2026-12-04 18:41``), the header saying ``(UTC)``:
   microseconds are of no use to a reader, a title is;
3. if the columns that shrink (titles, actors, paths, commands) cannot fit even at their
   ``shrinks`` width, the columns with a ``drop`` rank are left out, lowest rank first, until
   they can;
4. the columns that shrink are cut with ``…``, the widest first (for its ``share``), down to
   their ``shrinks`` width; ids, numbers and times are never cut;
5. a terminal narrower than what is left still gets lines of its width, cut with ``…``.

``rich`` measures the cells (a wide character takes two) and draws; it is imported only when a
table meets a terminal. Values are handed to it as :class:`rich.text.Text`, never as markup.
Callers escape stored text (``rendering.printable``) before it becomes a cell.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from agent_sessions.domain.export_records import format_timestamp

__all__ = ["Cell", "Column", "Fitted", "Table", "fit", "print_table"]

_GAP = 2
"""Spaces between two columns."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a text table.

    Attributes:
        header: its heading.
        width: its width through a pipe; None for the width of its widest value. The last
            column is never padded.
        right: aligned right (numbers).
        longest: the most characters shown of a value; a longer one is cut (with ``…`` on a
            terminal). None: no limit.
        shrinks: on a terminal too narrow for the whole table, the width down to which the
            column may be cut with ``…``. None: the column is never cut.
        drop: on a terminal too narrow even so, the columns with a rank are left out, the
            lowest rank first. None: the column always shows.
        share: how much width the column keeps, against the others, when they are cut: a
            column with 2 is cut only when it is over twice as wide as one with 1 (the title,
            which a person reads, against the actor).

    """

    header: str
    width: int | None = None
    right: bool = False
    longest: int | None = None
    shrinks: int | None = None
    drop: int | None = None
    share: int = 1


Cell = str | datetime
"""A value of a table: text (already escaped) or a moment, shown by its column's form."""


@dataclass(frozen=True, slots=True)
class Table:
    """The columns of a table and its rows, one value per column in each.

    A column whose values are datetimes is a time column: ISO 8601 UTC with microseconds,
    or to the minute on a narrow terminal.
    """

    columns: Sequence[Column]
    rows: Sequence[Sequence[Cell]]

    def lines(self) -> list[str]:
        """Return the lines as printed through a pipe: fixed columns, every value whole."""
        texts = [
            [_text(cell, column.longest) for cell, column in zip(row, self.columns, strict=True)]
            for row in self.rows
        ]
        widths = [
            column.width
            if column.width is not None
            else max([len(column.header), *(len(row[index]) for row in texts)])
            for index, column in enumerate(self.columns)
        ]
        last = len(self.columns) - 1

        def line(cells: Sequence[str]) -> str:
            return (" " * _GAP).join(
                _pad(cell, width, column.right, index == last)
                for index, (cell, column, width) in enumerate(
                    zip(cells, self.columns, widths, strict=True)
                )
            )

        return [line([column.header for column in self.columns]), *map(line, texts)]

    def is_time(self, index: int) -> bool:
        """Return whether the column at ``index`` holds moments."""
        return any(isinstance(row[index], datetime) for row in self.rows)


def _text(cell: Cell, longest: int | None) -> str:
    text = _cell(cell, compact=False)
    return text if longest is None else text[:longest]


def _pad(text: str, width: int, right: bool, last: bool) -> str:
    """Pad a value to its column's width; the last column, on the left, is not padded."""
    if right:
        return f"{text:>{width}}"
    return text if last else f"{text:{width}}"


@dataclass(frozen=True, slots=True)
class Fitted:
    """How a table shows on a terminal: which columns, how wide, and the times' form.

    Attributes:
        shown: the indexes of the columns shown, in order.
        widths: the width in cells of each column shown.
        compact: whether times show to the minute, in UTC.

    """

    shown: tuple[int, ...]
    widths: tuple[int, ...]
    compact: bool

    def header(self, table: Table, index: int) -> str:
        """Return the heading of the column at ``index``, saying ``(UTC)`` for compact times."""
        return _header(table, index, self.compact)

    def cell(self, value: Cell) -> str:
        """Return the text of a value, in the form the layout shows it."""
        return _cell(value, compact=self.compact)


def _header(table: Table, index: int, compact: bool) -> str:
    header = table.columns[index].header
    return f"{header} (UTC)" if compact and table.is_time(index) else header


def _cell(value: Cell, *, compact: bool) -> str:
    if not isinstance(value, datetime):
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if compact else format_timestamp(value)


def fit(table: Table, width: int, measure: Callable[[str], int] = len) -> Fitted:
    """Choose the columns, their widths and the times' form for a terminal ``width`` cells wide.

    Args:
        table: the table.
        width: the terminal's width in cells.
        measure: the width in cells of a text (``rich.cells.cell_len`` on a terminal).

    Returns:
        The layout; its widths add up to ``width`` or less, unless even the columns that are
        never cut or dropped are wider (the lines are then cut by :func:`print_table`).

    """
    shown = list(range(len(table.columns)))
    compact = False
    natural = _natural(table, compact, measure)
    if _total(natural) > width:
        compact = any(table.is_time(index) for index in shown)
        natural = _natural(table, compact, measure)
    ranked = sorted(
        (column.drop, index)
        for index, column in enumerate(table.columns)
        if column.drop is not None
    )
    while _total(_floors(table, shown, natural)) > width and ranked:
        shown.remove(ranked.pop(0)[1])
    widths = {index: natural[index] for index in shown}
    floors = dict(zip(shown, _floors(table, shown, natural), strict=True))
    excess = _total(list(widths.values())) - width
    while excess > 0:
        cut = [index for index in shown if widths[index] > floors[index]]
        if not cut:
            break
        widths[max(cut, key=lambda index: widths[index] / table.columns[index].share)] -= 1
        excess -= 1
    return Fitted(tuple(shown), tuple(widths[index] for index in shown), compact)


def _natural(table: Table, compact: bool, measure: Callable[[str], int]) -> list[int]:
    """Return each column's width with its values whole (up to its ``longest``)."""
    widths = []
    for index, column in enumerate(table.columns):
        longest = max(
            (measure(_cell(row[index], compact=compact)) for row in table.rows), default=0
        )
        if column.longest is not None:
            longest = min(longest, column.longest)
        widths.append(max(measure(_header(table, index, compact)), longest))
    return widths


def _floors(table: Table, shown: Sequence[int], natural: Sequence[int]) -> list[int]:
    """Return the least width of each shown column: its ``shrinks``, or its natural width."""
    floors = []
    for index in shown:
        shrinks = table.columns[index].shrinks
        floors.append(natural[index] if shrinks is None else min(natural[index], shrinks))
    return floors


def _total(widths: Sequence[int]) -> int:
    return sum(widths) + _GAP * (len(widths) - 1)


def print_table(table: Table, out: TextIO) -> None:
    """Print ``table``: fitted to the terminal's width when ``out`` is one, else whole lines."""
    if not out.isatty():
        print("\n".join(table.lines()), file=out)
        return
    from rich.cells import cell_len, set_cell_size
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    width = shutil.get_terminal_size().columns
    fitted = fit(table, width, cell_len)
    drawn = RichTable(box=None, padding=(0, 1), pad_edge=False, show_edge=False, header_style="")
    for index, column_width in zip(fitted.shown, fitted.widths, strict=True):
        drawn.add_column(
            Text(fitted.header(table, index)),
            justify="right" if table.columns[index].right else "left",
            width=column_width,
            no_wrap=True,
            overflow="ellipsis",
        )
    for row in table.rows:
        drawn.add_row(*(Text(fitted.cell(row[index])) for index in fitted.shown))
    total = _total(fitted.widths)
    console = Console(
        file=out,
        width=max(width, total),
        color_system=None,
        markup=False,
        highlight=False,
        emoji=False,
        soft_wrap=False,
    )
    for segments in console.render_lines(drawn, pad=False):
        line = "".join(segment.text for segment in segments).rstrip()
        if cell_len(line) > width:
            line = set_cell_size(line, width - 1).rstrip() + "…"
        print(line, file=out)
