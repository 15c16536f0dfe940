"""The schema drift doctor: compare the models with the live database and classify each difference.

Alembic's ``compare_metadata`` does most of the comparison (tables, columns, types, nullability,
server defaults, indexes, unique constraints, foreign keys), limited to the library's own tables
so that the host application's tables and the library's version and ledger tables
(``agent_sessions_*``) are never reported. Two checks Alembic does not make by default are added:
named CHECK constraints of the models that the database lacks, and, on PostgreSQL, a ``json``
column where the models say ``jsonb``.

Each difference becomes a :class:`DriftFinding`, *fatal* when the code cannot work with the
schema (a table or column it reads or writes is missing, a column type of another family, an
extra ``NOT NULL`` column without a default that makes every insert fail) and a *warning*
otherwise. :func:`raise_for_drift` turns the fatal findings into a
:class:`~agent_sessions.domain.errors.SchemaDriftError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    Date,
    DateTime,
    Dialect,
    Engine,
    Enum,
    ForeignKeyConstraint,
    Index,
    Integer,
    Interval,
    LargeBinary,
    Numeric,
    String,
    Table,
    Time,
    UniqueConstraint,
    Uuid,
    inspect,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, Inspector
from sqlalchemy.types import TypeDecorator, TypeEngine

from agent_sessions.domain.errors import SchemaDriftError
from agent_sessions.infrastructure.database.engine import redact_url
from agent_sessions.infrastructure.database.models import Base

__all__ = [
    "FATAL",
    "WARNING",
    "DriftFinding",
    "DriftReport",
    "Severity",
    "diagnose",
    "raise_for_drift",
]

Severity = Literal["fatal", "warning"]
"""How bad a finding is: ``fatal`` breaks the code, ``warning`` does not."""

FATAL: Final[Severity] = "fatal"
WARNING: Final[Severity] = "warning"

_LIBRARY_TABLE_PREFIX = "agent_sessions_"
"""The library's bookkeeping tables (version table, migration ledger), never compared."""

_CLEAN_TEXT = "schema OK: no drift between the models and the database"


@dataclass(frozen=True, slots=True)
class DriftFinding:
    """One difference between the models and the live schema.

    Attributes:
        severity: ``"fatal"`` when the code cannot work with the schema, else ``"warning"``.
        kind: What differs, e.g. ``"missing_column"``, ``"extra_index"``, ``"json_not_jsonb"``.
        table: The table the difference is in.
        name: The column, index or constraint concerned, or None for the table itself.
        detail: One sentence that explains the difference.

    """

    severity: Severity
    kind: str
    table: str
    name: str | None
    detail: str

    @property
    def target(self) -> str:
        """Return ``table.name``, or the table alone when the finding concerns the table."""
        return f"{self.table}.{self.name}" if self.name else self.table

    def to_dict(self) -> dict[str, str | None]:
        """Return the finding as a JSON-serialisable dictionary."""
        return {
            "severity": self.severity,
            "kind": self.kind,
            "table": self.table,
            "name": self.name,
            "detail": self.detail,
        }

    def render(self) -> str:
        """Return the finding as one line of text."""
        return f"{self.severity.upper()}: {self.target} ({self.kind}): {self.detail}"


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Every difference found between the models and the live schema, fatal ones first.

    Attributes:
        findings: The findings, fatal first, then by table and name.

    """

    findings: tuple[DriftFinding, ...] = ()

    @classmethod
    def from_findings(cls, findings: Iterable[DriftFinding]) -> DriftReport:
        """Return a report of ``findings``, deduplicated and sorted fatal first."""
        unique = {(f.kind, f.table, f.name): f for f in findings}
        ordered = sorted(
            unique.values(),
            key=lambda f: (f.severity != FATAL, f.table, f.name or "", f.kind),
        )
        return cls(tuple(ordered))

    @property
    def fatal(self) -> tuple[DriftFinding, ...]:
        """Return the findings that break the code."""
        return tuple(f for f in self.findings if f.severity == FATAL)

    @property
    def warnings(self) -> tuple[DriftFinding, ...]:
        """Return the findings the code can live with."""
        return tuple(f for f in self.findings if f.severity == WARNING)

    @property
    def is_clean(self) -> bool:
        """Return True when models and database agree entirely: no finding at all."""
        return not self.findings

    @property
    def has_fatal(self) -> bool:
        """Return True when at least one finding is fatal."""
        return any(f.severity == FATAL for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"clean": bool, "fatal": [...], "warnings": [...]}``, JSON-serialisable."""
        return {
            "clean": self.is_clean,
            "fatal": [f.to_dict() for f in self.fatal],
            "warnings": [f.to_dict() for f in self.warnings],
        }

    def render(self) -> str:
        """Return the report as text: one line per finding, or one line saying all is well."""
        if self.is_clean:
            return _CLEAN_TEXT
        return "\n".join(f.render() for f in self.findings)


def diagnose(engine: Engine) -> DriftReport:
    """Compare the models with the database behind ``engine`` and classify every difference.

    Only the library's own tables are compared. Reflection runs on one connection; nothing is
    written.

    Args:
        engine: An engine on the database to examine.

    Returns:
        The report; empty when the live schema matches the models.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: When the database cannot be reached or reflected.

    """
    with engine.connect() as connection:
        return DriftReport.from_findings(_findings(connection))


def raise_for_drift(report: DriftReport, url: str | URL) -> None:
    """Raise :class:`SchemaDriftError` when ``report`` has a fatal finding; else do nothing.

    Args:
        report: The report of :func:`diagnose`.
        url: The database's URL, shown with its password hidden.

    Raises:
        SchemaDriftError: Naming each fatal ``table.column`` and the remedy; its ``problems``
            hold one line per fatal finding.

    """
    fatal = report.fatal
    if not fatal:
        return
    named = ", ".join(f"{f.target} ({f.kind.replace('_', ' ')})" for f in fatal)
    raise SchemaDriftError(
        f"the schema of database {redact_url(url)} has drifted from what this version of "
        f"agent-sessions reads and writes: {named}; run `agent-sessions db doctor` to see the "
        f"full report, then restore what is missing with a reconcile migration, or run "
        f"`agent-sessions db upgrade` if a migration is pending",
        problems=tuple(f.render() for f in fatal),
    )


def _is_own_table(name: str | None) -> bool:
    return (
        name is not None
        and name in Base.metadata.tables
        and not name.startswith(_LIBRARY_TABLE_PREFIX)
    )


def include_own_objects(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic ``include_object`` hook: compare the library's tables only, never the host's."""
    if type_ == "table":
        return _is_own_table(name)
    table = getattr(obj, "table", None)
    return table is None or _is_own_table(table.name)


def _findings(connection: Connection) -> Iterator[DriftFinding]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_object": include_own_objects,
        },
    )
    dialect = connection.dialect
    inspector = inspect(connection)
    present = {name for name in inspector.get_table_names() if _is_own_table(name)}
    jsonb_findings = list(_json_instead_of_jsonb(inspector, dialect, present))
    json_columns = {(f.table, f.name) for f in jsonb_findings}
    yield from jsonb_findings
    yield from _missing_check_constraints(inspector, present)
    for difference in compare_metadata(context, Base.metadata):
        for item in difference if isinstance(difference, list) else [difference]:
            finding = _classify(item, dialect)
            if finding.kind.startswith("type_") and (finding.table, finding.name) in json_columns:
                continue
            yield finding


def _classify(item: tuple[Any, ...], dialect: Dialect) -> DriftFinding:
    """Turn one of Alembic's differences into a finding."""
    action = item[0]
    if action.startswith("modify_"):
        return _classify_modification(item, dialect)
    if action in ("add_column", "remove_column"):
        _schema, table, column = item[1:4]
        return _classify_column(action, table, column)
    target = item[-1]
    if action == "add_table":
        return DriftFinding(
            FATAL,
            "missing_table",
            target.name,
            None,
            "the table is missing from the database, but the code reads and writes it.",
        )
    table = getattr(getattr(target, "table", None), "name", None) or "?"
    missing = action.startswith("add_")
    noun, kind = next(
        ((noun, kind) for generic, noun, kind in _SCHEMA_ITEMS if isinstance(target, generic)),
        (action.split("_", 1)[-1].replace("_", " "), action.split("_", 1)[-1]),
    )
    detail = (
        f"the models declare this {noun}, but the database lacks it."
        if missing
        else f"the database has this {noun}, but the models do not declare it."
    )
    name = getattr(target, "name", None)
    return DriftFinding(
        WARNING,
        f"{'missing' if missing else 'extra'}_{kind}",
        table,
        str(name) if name else None,
        detail,
    )


_SCHEMA_ITEMS: tuple[tuple[type[Any], str, str], ...] = (
    (Index, "index", "index"),
    (ForeignKeyConstraint, "foreign key", "foreign_key"),
    (UniqueConstraint, "unique constraint", "unique_constraint"),
    (CheckConstraint, "CHECK constraint", "check_constraint"),
)
"""Schema items Alembic reports as added or removed: their noun and finding kind."""


def _classify_column(action: str, table: str, column: Column[Any]) -> DriftFinding:
    if action == "add_column":
        return DriftFinding(
            FATAL,
            "missing_column",
            table,
            column.name,
            f"the column ({column.type}) is missing from the database, but the code reads "
            f"and writes it.",
        )
    defaulted = (
        column.server_default is not None
        or column.computed is not None
        or column.identity is not None
    )
    if column.nullable or defaulted:
        why = "it is nullable" if column.nullable else "it has a server default"
        return DriftFinding(
            WARNING,
            "extra_column",
            table,
            column.name,
            f"the database has a column the models lack; {why}, so inserts still work.",
        )
    return DriftFinding(
        FATAL,
        "extra_column",
        table,
        column.name,
        "the database has a column the models lack, NOT NULL without a server default, so "
        "every insert of the library fails.",
    )


def _classify_modification(item: tuple[Any, ...], dialect: Dialect) -> DriftFinding:
    action, _schema, table, column, _info, existing, wanted = item
    if action == "modify_type":
        found = _dialect_type(existing, dialect)
        expected = _dialect_type(wanted, dialect)
        found_family, expected_family = _family(found, dialect), _family(expected, dialect)
        if found_family is not None and found_family != expected_family:
            return DriftFinding(
                FATAL,
                "type_mismatch",
                table,
                column,
                f"the column is {existing} in the database but {_describe(expected, dialect)} "
                f"in the models, another family of types, so reading it breaks.",
            )
        return DriftFinding(
            WARNING,
            "type_difference",
            table,
            column,
            f"the column is {existing} in the database but {_describe(expected, dialect)} in "
            f"the models (same family of types).",
        )
    if action == "modify_nullable":
        found_text = "nullable" if existing else "NOT NULL"
        wanted_text = "nullable" if wanted else "NOT NULL"
        return DriftFinding(
            WARNING,
            "nullability",
            table,
            column,
            f"the column is {found_text} in the database but {wanted_text} in the models.",
        )
    if action in ("modify_default", "modify_server_default"):
        return DriftFinding(
            WARNING,
            "default",
            table,
            column,
            f"the column's server default is {_default_text(existing)} in the database but "
            f"{_default_text(wanted)} in the models.",
        )
    attribute = action.removeprefix("modify_")
    return DriftFinding(
        WARNING,
        attribute,
        table,
        column,
        f"the column's {attribute} differs between the database and the models.",
    )


def _dialect_type(type_: TypeEngine[Any], dialect: Dialect) -> TypeEngine[Any]:
    """Return the type a model type becomes on ``dialect`` (variants, decorators resolved)."""
    variants: dict[str, TypeEngine[Any]] = getattr(type_, "_variant_mapping", {})
    if dialect.name in variants:
        type_ = variants[dialect.name]
    if isinstance(type_, TypeDecorator):
        return _dialect_type(type_.load_dialect_impl(dialect), dialect)
    return type_


_FAMILIES: tuple[tuple[type[TypeEngine[Any]], str], ...] = (
    (Boolean, "boolean"),
    (Enum, "text"),
    (JSON, "json"),
    (String, "text"),
    (Integer, "integer"),
    (Numeric, "number"),
    (DateTime, "datetime"),
    (Date, "date"),
    (Time, "time"),
    (Interval, "interval"),
    (LargeBinary, "binary"),
    (Uuid, "uuid"),
)


def _family(type_: TypeEngine[Any], dialect: Dialect) -> str | None:
    """Return the family of ``type_``, or None when it is not one this module knows."""
    for generic, family in _FAMILIES:
        if isinstance(type_, generic):
            if dialect.name in ("mysql", "mariadb"):
                # MariaDB's JSON is LONGTEXT and its BOOLEAN is TINYINT(1).
                return {"json": "text", "boolean": "integer"}.get(family, family)
            return family
    return None


def _describe(type_: TypeEngine[Any], dialect: Dialect) -> str:
    return str(type_.compile(dialect=dialect))


def _default_text(default: Any) -> str:
    if default is None:
        return "none"
    text = getattr(default, "arg", default)
    return repr(str(getattr(text, "text", text)))


def _json_instead_of_jsonb(
    inspector: Inspector, dialect: Dialect, present: set[str]
) -> Iterator[DriftFinding]:
    """On PostgreSQL, report each ``json`` column that the models declare as ``jsonb``."""
    if dialect.name != "postgresql":
        return
    for table_name in sorted(present):
        table: Table = Base.metadata.tables[table_name]
        reflected = {column["name"]: column["type"] for column in inspector.get_columns(table_name)}
        for column in table.columns:
            found = reflected.get(column.name)
            if found is None or not isinstance(
                _dialect_type(column.type, dialect), postgresql.JSONB
            ):
                continue
            if isinstance(found, JSON) and not isinstance(found, postgresql.JSONB):
                yield DriftFinding(
                    WARNING,
                    "json_not_jsonb",
                    table_name,
                    column.name,
                    "the column is json in the database but jsonb in the models: it works, but "
                    "keeps whitespace and duplicate keys and cannot use a GIN index.",
                )


def _missing_check_constraints(inspector: Inspector, present: set[str]) -> Iterator[DriftFinding]:
    """Report each named CHECK constraint of the models that the database lacks.

    Dialects whose reflection cannot return CHECK constraints are skipped quietly.
    """
    for table_name in sorted(present):
        declared = [
            str(constraint.name)
            for constraint in Base.metadata.tables[table_name].constraints
            if isinstance(constraint, CheckConstraint) and constraint.name
        ]
        try:
            reflected = inspector.get_check_constraints(table_name)
        except NotImplementedError:
            return
        found = {str(item["name"]).lower() for item in reflected if item.get("name")}
        for name in declared:
            if name.lower() not in found:
                yield DriftFinding(
                    WARNING,
                    "missing_check_constraint",
                    table_name,
                    name,
                    "the models declare this CHECK constraint, but the database lacks it, so "
                    "invalid rows are no longer refused.",
                )
