"""Files out: one place that turns a query result into CSV, JSON, XLSX or parquet bytes.

Text cells that a spreadsheet would read as a formula (=, +, -, @, tab, carriage return at the
start) are prefixed with an apostrophe in CSV and XLSX, so a client name such as
``=HYPERLINK(...)`` arrives as text, not as a live formula (OWASP "CSV injection").

`export_query` is the only way a named query's rows leave as a file (app downloads and the
command line): it runs the query in the user's scope and records the export in the audit log
before returning the bytes.
"""

from __future__ import annotations

import io

import polars as pl
import pyarrow as pa

from tierflow import audit
from tierflow.access import Scope
from tierflow.queries import QueryRunner

FORMATS = ("csv", "json", "parquet", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_FORMULA_START = r"^[=+\-@\t\r]"


def neutralise_formulas(df: pl.DataFrame) -> pl.DataFrame:
    text_cols = [c for c, t in df.schema.items() if t == pl.String]
    return df.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_START)).then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c)).alias(c) for c in text_cols)


def to_bytes(table: pa.Table | pl.DataFrame, fmt: str) -> bytes:
    """A result as a file of the given format (money keeps its exact decimals)."""
    df = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table)
    buf = io.BytesIO()
    if fmt == "csv":
        neutralise_formulas(df).write_csv(buf)
    elif fmt == "json":
        buf.write(df.write_json().encode("utf-8"))
    elif fmt == "parquet":
        df.write_parquet(buf)
    elif fmt == "xlsx":
        neutralise_formulas(df).write_excel(buf, autofit=True)
    else:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return buf.getvalue()


def export_query(runner: QueryRunner, *, user: str, role: str, scope: Scope, source: str,
                 name: str, params: dict, fmt: str, version: str | None = None
                 ) -> tuple[bytes, int]:
    """A named query's rows, as `user` may see them, as a file; (bytes, rows). `version`: the
    lake version the user was looking at (default: the current one). The export is recorded
    in the audit log first; if that fails, audit.AuditError and no bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    table = runner.run_arrow(name, params, scope=scope, version=version)
    data = to_bytes(table, fmt)
    audit.record(runner.lake.data_dir, user=user, role=role, source=source, query=name,
                 params=params, rows=table.num_rows, columns=table.column_names,
                 masked=not scope.personal_data, fmt=fmt, data=data)
    return data, table.num_rows
