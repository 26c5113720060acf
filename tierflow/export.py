"""Files out: one place that turns a query result into CSV, JSON, XLSX or parquet bytes.

Text cells that a spreadsheet would read as a formula (=, +, -, @, tab, carriage return at the
start) are prefixed with an apostrophe in CSV and XLSX, so a client name such as
``=HYPERLINK(...)`` arrives as text, not as a live formula (OWASP "CSV injection").
"""

from __future__ import annotations

import io

import polars as pl
import pyarrow as pa

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
