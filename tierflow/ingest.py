"""Load a bank's delivery (a folder of CSV / XLSX / parquet files) into the lake.

The steps, per table in contract order (branches before the tables that name a branch):
read each file as text columns (or native parquet types) → match headers (English or
Chinese, any case) → parse every column by its kind → set aside rows that break a rule, with
file, line, rule and raw values → merge the good rows into a new lake version (a delivered
month replaces that month; dimension and ledger rows replace rows with the same key).
A file that cannot be read or lacks a required column is rejected whole; the rest of the
delivery still loads, unless the rows set aside pass the `max_set_aside_share` setting: then
the whole load is refused and nothing of it is loaded. Schema drift (an optional column
missing, a column not in the contract, a header that differs from the last load's file of the
same table) is reported. Loading a delivery whose files are byte-identical to the last load
changes nothing.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Protocol

import polars as pl

from tierflow import contract, cubes, history, per_client
from tierflow.contract import Column, Table
from tierflow.lake import Lake, copy_parquet, duck_type, load_connection, quoted
from tierflow.settings import TIER_CODES, Settings

LINE = "__line"
FILE = "__file"
RULE = "__rule"
FIRST = "__first"  # FILE:LINE of the first row of a duplicated key
SUPPORTED = (".csv", ".xlsx", ".parquet")
EMPTY_SET_ASIDE = {"file": pl.String, "line": pl.Int64, "rule": pl.String, "values": pl.String}
MONEY_TYPE = pl.Decimal(18, 2)

# Columns the lake adds to a snapshot row (derived with the settings in force at load time).
SNAPSHOT_DERIVED = {"month_index": pl.Int32, "present": pl.Boolean, "tier": pl.String,
                    "tier_rank": pl.Int8}


class FileRejected(Exception):
    """A whole file was refused (unreadable, or a required column is missing)."""


@dataclass
class FileReport:
    name: str
    table: str | None
    size: int
    sha256: str
    rows_in: int = 0
    rows_set_aside: int = 0
    status: str = "loaded"  # loaded | rejected | skipped
    message: str = ""
    headers: list[str] = field(default_factory=list)  # as delivered
    extra_columns: list[str] = field(default_factory=list)  # not in the contract: ignored
    missing_columns: list[str] = field(default_factory=list)  # optional, not delivered
    drift: list[str] = field(default_factory=list)  # against the last load of the table

    def as_manifest(self) -> dict:
        return {"name": self.name, "table": self.table, "size": self.size,
                "sha256": self.sha256, "rows_in": self.rows_in,
                "rows_set_aside": self.rows_set_aside, "status": self.status,
                "message": self.message, "headers": self.headers,
                "extra_columns": self.extra_columns, "missing_columns": self.missing_columns,
                "drift": self.drift}


@dataclass
class LoadReport:
    delivery: str
    version: str | None = None
    unchanged: bool = False
    files: list[FileReport] = field(default_factory=list)
    set_aside: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=EMPTY_SET_ASIDE))
    months: list[str] = field(default_factory=list)
    rows_loaded: dict[str, int] = field(default_factory=dict)
    refused: str = ""  # why the whole load was refused (then nothing was loaded)
    kept_in: Path | None = None  # where the set-aside rows are: the version's load/ or refused/

    @property
    def rejected(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "rejected"]

    @property
    def rows_read(self) -> int:
        return sum(f.rows_in for f in self.files)

    @property
    def set_aside_share(self) -> float:
        return self.set_aside.height / self.rows_read if self.rows_read else 0.0

    def summary(self, examples: int = 10) -> str:
        """What an operator reads at the end of a load."""
        lines = []
        if self.unchanged:
            lines.append(f"{self.delivery}: every file is identical to the last load; "
                         "nothing changed.")
            return "\n".join(lines)
        if self.refused:
            lines.append(f"REFUSED {self.delivery}: {self.refused} Nothing was loaded; the "
                         "data in use is unchanged.")
        else:
            lines.append(f"Loaded {self.delivery} as lake version {self.version}.")
        for f in self.files:
            if f.status == "loaded":
                lines.append(f"  {f.name}: {f.rows_in} rows read, "
                             f"{f.rows_in - f.rows_set_aside} loaded, {f.rows_set_aside} set aside")
                if f.extra_columns:
                    lines.append(f"    columns not in the contract, ignored: "
                                 f"{', '.join(f.extra_columns)}")
                if f.missing_columns:
                    lines.append(f"    optional columns not delivered, left empty: "
                                 f"{', '.join(f.missing_columns)}")
                for change in f.drift:
                    lines.append(f"    schema drift: {change}")
            else:
                lines.append(f"  {f.name}: {f.status.upper()}: {f.message}")
        if self.months:
            lines.append(f"Months {'delivered' if self.refused else 'loaded (replacing any loaded before)'}: "
                         f"{', '.join(self.months)}")
        if self.set_aside.height:
            lines.append(f"{self.set_aside.height} rows set aside, by rule:")
            by_rule = self.set_aside.group_by("rule").len().sort(["len", "rule"],
                                                                 descending=[True, False])
            for rule, count in by_rule.iter_rows():
                lines.append(f"  {count:>8}  {rule}")
            lines.append("First rows set aside:")
            for file, line, rule, values in self.set_aside.head(examples).iter_rows():
                lines.append(f"  {file}:{line}: {rule}: {values}")
        return "\n".join(lines)


# -- reading files ---------------------------------------------------------------------------

def table_of(path: Path) -> str | None:
    """The contract table a file delivers, from its name (`snapshots_2024-06.csv` → snapshots)."""
    stem = path.stem.lower()
    for name, table in contract.TABLES.items():
        if stem == name or (table.multi_file and re.match(rf"{name}[_\-. ]", stem)):
            return name
    return None


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) or GB18030, as the contract allows."""
    if b"\x00" in data[:4096]:
        raise FileRejected(f"{name}: cannot read: not text in UTF-8 or GB18030 "
                           "(looks like UTF-16 or a binary file)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"{name}: cannot read: not UTF-8 or GB18030 text "
                           f"(byte {exc.start})") from None


BATCH_ROWS = 500_000  # rows read at a time from a CSV or parquet file


def utf8_source(path: Path, workdir: Path) -> Path:
    """The file itself when it is UTF-8 (with or without BOM); else a UTF-8 copy of it in
    `workdir`, transcoded from GB18030 block by block (memory stays one block)."""
    with path.open("rb") as fh:
        if b"\x00" in fh.read(4096):
            raise FileRejected(f"{path.name}: cannot read: not text in UTF-8 or GB18030 "
                               "(looks like UTF-16 or a binary file)")
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        target = path if encoding == "utf-8-sig" else workdir / f"{path.stem}.utf8.csv"
        out = None if target is path else target.open("w", encoding="utf-8", newline="")
        try:
            with path.open("rb") as fh:
                offset = 0
                for block in iter(lambda: fh.read(1 << 22), b""):
                    text = decoder.decode(block)
                    if out:
                        out.write(text)
                    offset += len(block)
                decoder.decode(b"", final=True)
            return target
        except UnicodeDecodeError as exc:
            failed_at = offset + exc.start
            if out:
                out.close()
                target.unlink(missing_ok=True)
        finally:
            if out and not out.closed:
                out.close()
    raise FileRejected(f"{path.name}: cannot read: not UTF-8 or GB18030 text "
                       f"(byte {failed_at})")


def read_csv(path: Path, workdir: Path) -> Iterator[pl.DataFrame]:
    source = utf8_source(path, workdir)
    frames = pl.scan_csv(source, infer_schema=False, truncate_ragged_lines=False) \
        .with_row_index(LINE, offset=2).with_columns(pl.col(LINE).cast(pl.Int64))
    try:
        yield from frames.collect_batches(chunk_size=BATCH_ROWS)
    except (pl.exceptions.PolarsError, OSError) as exc:  # malformed CSV, in any batch
        raise FileRejected(f"{path.name}: cannot parse as CSV: "
                           f"{str(exc).splitlines()[0]}") from None
    finally:
        if source != path:
            source.unlink(missing_ok=True)


def _cell_text(value) -> str | None:
    """An Excel cell as the text a CSV export would hold (ids keep no '.0', dates are ISO)."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") or len(text) == 10 else text
    return str(value)


def read_xlsx(path: Path, workdir: Path) -> Iterator[pl.DataFrame]:
    """A workbook's first sheet (at most 1,048,576 rows by Excel's own limit) in one batch."""
    from python_calamine import CalamineWorkbook

    try:
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(
            skip_empty_area=False)
    except Exception as exc:
        raise FileRejected(f"{path.name}: cannot read as XLSX: {exc}") from None
    if not rows:
        raise FileRejected(f"{path.name}: the first sheet is empty")
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    body = [[_cell_text(v) for v in row] for row in rows[1:]]
    columns = {h: [r[i] if i < len(r) else None for r in body] for i, h in enumerate(header) if h}
    df = pl.DataFrame(columns, schema={h: pl.String for h in columns})
    yield df.with_row_index(LINE, offset=2).with_columns(pl.col(LINE).cast(pl.Int64))


def read_parquet(path: Path, workdir: Path) -> Iterator[pl.DataFrame]:
    # A parquet "line" is the row number, counted from 1.
    try:
        frames = pl.scan_parquet(path).with_row_index(LINE, offset=1).with_columns(
            pl.col(LINE).cast(pl.Int64))
        yield from frames.collect_batches(chunk_size=BATCH_ROWS)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise FileRejected(f"{path.name}: cannot read as parquet: "
                           f"{str(exc).splitlines()[0]}") from None


# Each reader yields a file's rows in batches (with their line numbers), so a file of any size
# is held in memory one batch at a time; `workdir` takes a transcoded copy when one is needed.
READERS = {".csv": read_csv, ".xlsx": read_xlsx, ".parquet": read_parquet}


def match_headers(df: pl.DataFrame, table: Table,
                  name: str) -> tuple[pl.DataFrame, list[str], list[str]]:
    """Rename delivered headers to contract names; return the frame, the extra columns (not
    in the contract) and the optional contract columns the file does not have."""
    lookup = {}
    for col in table.columns:
        lookup[col.name.lower()] = col.name
        lookup[col.zh] = col.name
    renames, extra = {}, []
    for header in df.columns:
        if header == LINE:
            continue
        key = header.strip().lstrip("\ufeff").lower()
        target = lookup.get(key)
        if target is None or target in renames.values():
            extra.append(header)
        else:
            renames[header] = target
    missing = [c for c in table.required if c not in renames.values()]
    if missing:
        raise FileRejected(f"{name}: missing required column {', '.join(missing)} "
                           f"(table {table.name}; header row has: "
                           f"{', '.join(h for h in df.columns if h != LINE)})")
    df = df.select(LINE, *renames).rename(renames)
    missing_optional = [c.name for c in table.columns if c.name not in df.columns]
    absent = [pl.lit(None, pl.String).alias(name) for name in missing_optional]
    return df.with_columns(absent), extra, missing_optional


def schema_drift(headers: list[str], table: str, loads: list[dict]) -> list[str]:
    """How a file's header row differs from the last loaded file of the same table (a column
    added, dropped or renamed), as messages; empty when it matches or there is no earlier
    file."""
    before = next((f.get("headers") for load in reversed(loads) for f in load.get("files", [])
                   if f.get("table") == table and f.get("status") == "loaded"
                   and f.get("headers")), None)
    if before is None or before == headers:
        return []
    added = [h for h in headers if h not in before]
    dropped = [h for h in before if h not in headers]
    # a header gone whose place a new header took: renamed
    renamed = {old: headers[before.index(old)] for old in dropped
               if before.index(old) < len(headers) and headers[before.index(old)] in added}
    changes = [f"header {old!r} renamed to {new!r}" for old, new in renamed.items()]
    changes += [f"new column {h!r}" for h in added if h not in renamed.values()]
    changes += [f"column {h!r} no longer delivered" for h in dropped if h not in renamed]
    if not changes:
        changes.append("columns in a different order")
    return [f"{c} (since the last load of {table})" for c in changes]


# -- parsing and rules -----------------------------------------------------------------------

def _text(name: str, dtype: pl.DataType) -> pl.Expr:
    """A column as stripped text, empty → null (ids from numeric parquet lose no digits)."""
    expr = pl.col(name)
    if dtype.is_float():
        expr = expr.cast(pl.Int64, strict=False)
    expr = expr.cast(pl.String).str.strip_chars()
    return pl.when(expr == "").then(None).otherwise(expr)


def _given(name: str, dtype: pl.DataType) -> pl.Expr:
    """Whether a cell holds a value (text that is not blank; a typed value that is not null)."""
    if dtype == pl.String:
        return pl.col(name).str.strip_chars().str.len_bytes().fill_null(0) > 0
    if dtype.is_float():
        return pl.col(name).is_not_null() & pl.col(name).is_not_nan()
    return pl.col(name).is_not_null()


_DATE_PARTS = r"^(\d{4})\D?(\d{1,2})\D?(\d{1,2})\D*(?:[ T].*)?$"
_MONTH_PARTS = r"^(\d{4})\D?(\d{1,2})(?:\D?(\d{1,2}))?\D*(?:[ T].*)?$"


def _iso_date(text: pl.Expr, pattern: str) -> pl.Expr:
    parts = [text.str.extract(pattern, i) for i in (1, 2, 3)]
    iso = pl.concat_str(parts[0], parts[1].str.zfill(2),
                        pl.coalesce(parts[2], pl.lit("01")).str.zfill(2), separator="-")
    return iso.str.to_date("%Y-%m-%d", strict=False)


def _date_lookup(df: pl.DataFrame, col: Column) -> tuple[pl.Series, pl.Series]:
    """Distinct texts of a date or month column and their parsed dates.

    A month column has a handful of distinct values and a date column a few thousand, so
    parsing each distinct text once (regex and all) is far cheaper than parsing every row.
    """
    texts = df.select(_text(col.name, df.schema[col.name]).unique().drop_nulls().alias("t"))
    pattern = _DATE_PARTS if col.kind == contract.DATE else _MONTH_PARTS
    parsed = texts.select("t", _iso_date(pl.col("t"), pattern).alias("d"))
    return parsed["t"], parsed["d"]


HAS = "__has_"  # prefix of the per-column "a value was given" flags while parsing


@dataclass
class ParsedColumn:
    """How one column is parsed, in three steps over the delivered rows:
    `value` reads the raw column; `checks` are (rule, broken) tests written over the parsed
    frame (`pl.col(name)` is the parsed value, `pl.col(HAS + name)` says a value was given);
    `final` turns a row that passed into its stored form (defaults, whole numbers)."""
    value: pl.Expr
    checks: list[tuple[str, pl.Expr]]
    final: pl.Expr | None = None


def parse_column(col: Column, dtype: pl.DataType,
                 dates: tuple[pl.Series, pl.Series] | None = None) -> ParsedColumn:
    """Parse one column by its kind. `dates` is the distinct-text lookup of a text date or
    month column (`_date_lookup`)."""
    raw = _text(col.name, dtype)
    parsed, given = pl.col(col.name), pl.col(HAS + col.name)
    checks: list[tuple[str, pl.Expr]] = []
    final = None
    if col.required:
        checks.append((f"missing required value: {col.name}", ~given))
    if col.kind in (contract.ID, contract.TEXT):
        value = raw
    elif col.kind == contract.MONEY:
        if dtype.is_numeric():
            value = pl.col(col.name).cast(MONEY_TYPE, strict=False)
        else:
            value = raw.str.replace_all(r"[,，¥\s]", "").cast(MONEY_TYPE, strict=False)
        checks.append((f"not an amount: {col.name}", given & parsed.is_null()))
        if col.non_negative:
            checks.append((f"negative amount: {col.name}", parsed < 0))
    elif col.kind == contract.COUNT:
        value = (pl.col(col.name) if dtype.is_numeric() else raw).cast(pl.Float64, strict=False)
        checks.append((f"not a whole number: {col.name}",
                       given & (parsed.is_null() | (parsed != parsed.round(0)))))
        checks.append((f"negative number: {col.name}", parsed < 0))
        final = parsed.cast(pl.Int64)
    elif col.kind in (contract.DATE, contract.MONTH):
        if dtype == pl.Date or isinstance(dtype, pl.Datetime):
            date = pl.col(col.name).cast(pl.Date)
        else:
            texts, dates_parsed = dates
            date = raw.replace_strict(texts, dates_parsed, default=None, return_dtype=pl.Date)
        value = date.dt.strftime("%Y-%m") if col.kind == contract.MONTH else date
        word = "month" if col.kind == contract.MONTH else "date"
        checks.append((f"not a {word}: {col.name}", given & parsed.is_null()))
    elif col.kind == contract.ENUM:
        lower = raw.str.to_lowercase()
        spelled = pl.when(lower.is_in(list(col.values))).then(lower).otherwise(raw)
        mapped = spelled.replace_strict(col.values, default=None, return_dtype=pl.String)
        if col.strict:
            value = mapped
            checks.append((f"unknown value: {col.name} (allowed: "
                           f"{', '.join(sorted(set(col.values.values())))})",
                           given & parsed.is_null()))
        else:  # a descriptive code the bank may extend: kept as given
            value = pl.coalesce(mapped, lower)
        if col.default is not None:
            final = pl.coalesce(parsed, pl.lit(col.default))
    else:
        raise ValueError(f"unknown column kind {col.kind}")
    return ParsedColumn(value.alias(col.name), checks,
                        None if final is None else final.alias(col.name))


def first_broken_rule(checks: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """The first rule a row breaks, or null."""
    expr = None
    for rule, broken in checks:
        broken = broken.fill_null(False)
        expr = (pl.when(broken).then(pl.lit(rule)) if expr is None
                else expr.when(broken).then(pl.lit(rule)))
    return pl.lit(None, pl.String) if expr is None else expr.otherwise(None)


def _among(values: pl.Series, keys: pl.Series) -> pl.Series:
    """Whether each value is one of the sorted `keys` (null stays null). A binary search:
    `is_in` hashes all the keys again for every batch, 2.2 s a batch against 7M clients."""
    if keys.is_empty():
        return pl.repeat(False, values.len(), eager=True)
    at = keys.search_sorted(values).clip(upper_bound=keys.len() - 1)
    return keys.gather(at) == values


@dataclass
class References:
    """Keys the rows of later tables may point at: the lake's plus this delivery's, each
    sorted (see `remember`)."""
    branches: pl.Series | None = None
    managers: pl.Series | None = None
    clients: pl.Series | None = None

    def remember(self, table: Table, merged: pl.DataFrame) -> None:
        for name in ("branches", "managers", "clients"):
            if table.name == name:
                setattr(self, name, merged[table.key[0]].sort())

    def checks(self, table: Table, rows: pl.DataFrame) -> list[tuple[str, pl.Expr]]:
        names = {c.name for c in table.columns}
        out = []
        for column, keys, rule in (("branch_id", self.branches, "unknown branch: branch_id"),
                                   ("client_id", self.clients, "unknown client: client_id"),
                                   ("manager_id", self.managers, "unknown manager: manager_id")):
            if column in names and keys is not None and table.key != (column,):
                known = _among(rows[column], keys)
                out.append((rule, pl.col(column).is_not_null() & ~pl.lit(known)))
        return out


def parse_rows(df: pl.DataFrame, table: Table, refs: References) -> tuple[pl.DataFrame,
                                                                            pl.DataFrame]:
    """Split delivered rows into (good rows with contract types, rows set aside)."""
    columns = []
    for col in table.columns:
        dtype = df.schema[col.name]
        dates = (_date_lookup(df, col) if col.kind in (contract.DATE, contract.MONTH)
                 and dtype == pl.String else None)
        columns.append((col, parse_column(col, dtype, dates)))
    given = [_given(c.name, df.schema[c.name]).alias(HAS + c.name) for c in table.columns]
    parsed = df.select(FILE, LINE, *(p.value for _, p in columns), *given)
    # Checks run on parsed columns, so each value is parsed once, not once per rule.
    checks = [check for _, p in columns for check in p.checks] + refs.checks(table, parsed)
    rule = parsed.select(first_broken_rule(checks)).to_series()
    broken = rule.is_not_null()
    good = parsed.filter(~broken).drop([HAS + c.name for c in table.columns])
    good = good.with_columns(p.final for _, p in columns if p.final is not None)
    # The raw values of the rows set aside only, taken from the rows as delivered.
    bad = df.filter(broken).select(
        pl.col(FILE).alias("file"), pl.col(LINE).alias("line"),
        rule.filter(broken).alias("rule"),
        pl.struct([c for c in df.columns if c not in (LINE, FILE)]).struct.json_encode()
        .alias("values"))
    return good, bad


def set_aside_duplicates(good: pl.DataFrame, table: Table) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep the first row of each key (file order, then line); set the later ones aside."""
    key = list(table.key)
    keep = pl.struct(key).is_first_distinct()
    if good.select(keep.all()).item():
        return good, pl.DataFrame(schema=EMPTY_SET_ASIDE)
    first_line = pl.concat_str(pl.col(FILE), pl.lit(":"), pl.col(LINE).cast(pl.String))
    good = good.with_columns(first_line.first().over(key).alias(FIRST), keep.alias("__keep"))
    dup = duplicate_rows(good.filter(~pl.col("__keep")), table)
    return good.filter("__keep").drop(FIRST, "__keep"), dup


def duplicate_rows(later: pl.DataFrame, table: Table) -> pl.DataFrame:
    """The set-aside rows of the later rows of a duplicated key (with FILE, LINE, FIRST)."""
    return later.select(
        pl.col(FILE).alias("file"), pl.col(LINE).alias("line"),
        pl.format("duplicate key: {} (first at {})", pl.lit(", ".join(table.key)), FIRST)
        .alias("rule"),
        pl.struct(pl.col(c.name).cast(pl.String) for c in table.columns).struct.json_encode()
        .alias("values"))


# -- the load --------------------------------------------------------------------------------

def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def delivery_files(delivery: Path) -> list[Path]:
    if not delivery.is_dir():
        raise FileNotFoundError(f"{delivery}: not a folder (a delivery is a folder of files)")
    return sorted(p for p in delivery.iterdir() if p.is_file() and not p.name.startswith("."))


def derive_snapshot_sql(source: str) -> str:
    """The stored snapshot columns (without the history columns) of the rows of `source` (a
    subquery of the delivered columns, `snapshot_month` as `month`): the defaults from the
    client (branch, manager; the clients file bound as $clients), presence, month index and
    tier with the settings in force (bound by `derive_parameters`)."""
    present = "s.status <> 'closed'"
    basis = "case when $basis_is_avg then coalesce(s.aum_avg, s.aum) else s.aum end"
    rank = " + ".join(f"cast({basis} >= $floor_{i} as tinyint)"
                      for i in range(1, len(TIER_CODES)))
    rank = f"case when {present} then {rank} end"
    derived = {
        "branch_id": "coalesce(s.branch_id, c.branch_id)",
        "manager_id": "coalesce(s.manager_id, c.manager_id)",
        "month_index": "cast(substr(s.month, 1, 4) as integer) * 12 "
                       "+ cast(substr(s.month, 6, 2) as integer) - 1",
        "present": present,
        "tier_rank": rank,
        "tier": f"list_extract($tier_codes, ({rank}) + 1)",
    }
    columns = [f"cast({derived.get(name, 's.' + quoted(name))} as {duck_type(dtype)}) "
               f"as {quoted(name)}" for name, dtype in snapshot_schema().items()
               if name not in history.NEIGHBOUR_COLUMNS]
    return (f"select {', '.join(columns)} from ({source}) s left join "
            "(select client_id, branch_id, manager_id from read_parquet($clients)) c "
            "on c.client_id = s.client_id")


def derive_parameters(settings: Settings) -> dict:
    params = {f"floor_{i}": settings.tier_floors[i] for i in range(1, len(TIER_CODES))}
    return {**params, "basis_is_avg": settings.tier_basis != "aum",
            "tier_codes": list(TIER_CODES)}


def _delivered_columns(prefix: str, month: str) -> str:
    """The contract columns of a snapshot row as stored, `snapshot_month` read as `month`."""
    return ", ".join(f"{prefix}{quoted(c.name)}" if c.name != "snapshot_month"
                     else f"{prefix}{quoted(month)} as month"
                     for c in contract.SNAPSHOTS.columns)


def snapshot_schema() -> pl.Schema:
    """Snapshot rows as stored: contract columns, then load-time and history columns."""
    cols = {"month": pl.String}
    types = {contract.ID: pl.String, contract.TEXT: pl.String, contract.MONEY: MONEY_TYPE,
             contract.COUNT: pl.Int64, contract.DATE: pl.Date, contract.ENUM: pl.String}
    for col in contract.SNAPSHOTS.columns:
        if col.name != "snapshot_month":
            cols[col.name] = types[col.kind]
    cols.update(SNAPSHOT_DERIVED)
    cols.update(history.NEIGHBOUR_COLUMNS)
    return pl.Schema(cols)


def table_schema(table: Table) -> pl.Schema:
    types = {contract.ID: pl.String, contract.TEXT: pl.String, contract.MONEY: MONEY_TYPE,
             contract.COUNT: pl.Int64, contract.DATE: pl.Date, contract.ENUM: pl.String,
             contract.MONTH: pl.String}
    return pl.Schema({c.name: types[c.kind] for c in table.columns})


def tiers_frame(settings: Settings) -> pl.DataFrame:
    bands = settings.tier_bands
    return pl.DataFrame({
        "tier": [b[0] for b in bands], "tier_rank": [b[1] for b in bands],
        "aum_from": [b[2] for b in bands], "aum_below": [b[3] for b in bands],
    }, schema={"tier": pl.String, "tier_rank": pl.Int8, "aum_from": MONEY_TYPE,
               "aum_below": MONEY_TYPE})


class Progress(Protocol):
    """What a load reports its steps to (a tqdm bar fits): the total grows as the load learns
    how many months it will write."""
    total: float | None

    def update(self, n: float = 1) -> object: ...

    def refresh(self) -> object: ...


class _Steps:
    """Counts a load's steps: one per file read (and per batch of a large one), per month
    derived and written, for tier entries, per bucket of clients, per cube (and month of a cube
    written a month at a time)."""

    def __init__(self, progress: Progress | None, files: int):
        self.progress = progress
        if progress is not None:
            progress.total = files
            progress.refresh()

    def add(self, n: int) -> None:
        if self.progress is not None:
            self.progress.total = (self.progress.total or 0) + n
            self.progress.refresh()

    def tick(self, n: int = 1) -> None:
        if self.progress is not None:
            self.progress.update(n)


def ingest(delivery: Path | None, data_dir: Path, settings: Settings, *, by: str = "cli",
           progress: Progress | None = None) -> LoadReport:
    """Load one delivery folder into a new lake version and return the report.

    With no delivery, the lake is rebuilt as it is: every month's tiers are derived again
    with the settings in force (what `python -m tierflow rebuild` does after a change of
    tier bands or basis).
    """
    lake = Lake(data_dir)
    files = delivery_files(Path(delivery)) if delivery is not None else []
    report = LoadReport(delivery=str(delivery) if delivery is not None else "(rebuild)")
    for path in files:
        ext = path.suffix.lower()
        table = table_of(path) if ext in SUPPORTED else None
        fr = FileReport(path.name, table, path.stat().st_size, sha256_of(path))
        if table is None:
            fr.status = "skipped"
            fr.message = ("not a table of the data contract"
                          if ext in SUPPORTED else f"file type {ext or '(none)'} not supported")
        report.files.append(fr)

    previous = lake.manifest().get("loads", [])
    fingerprint = sorted((f.name, f.sha256) for f in report.files if f.table)
    if previous and previous[-1].get("fingerprint") == [list(x) for x in fingerprint] \
            and lake.manifest().get("settings") == settings.lake_fingerprint \
            and lake.manifest().get("warning_settings") == settings.warning_fingerprint \
            and _has_every_table(lake):
        report.unchanged = True
        report.version = lake.current_version()
        return report

    steps = _Steps(progress, sum(1 for f in report.files if f.table))
    rederive = lake.manifest().get("settings", settings.lake_fingerprint) \
        != settings.lake_fingerprint
    try:
        _load(lake, delivery, report, settings, rederive, steps, previous, fingerprint, by)
    except _Refused:
        report.version = None
        _keep_refused(lake, report, by)
    return report


def _has_every_table(lake: Lake) -> bool:
    """Whether the current version holds every table this tierflow derives (one loaded by an
    older tierflow may lack some: a rebuild then derives them, it is not a no-op)."""
    files = lake.table_files(lake.require_version())
    return all(path.exists() for paths in files.values() for path in paths)


def _keep_refused(lake: Lake, report: LoadReport, by: str) -> None:
    """A refused load leaves no version, so its report and set-aside rows are kept apart, in
    ``lake/refused/<time>/``, for the operator to fix the delivery."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    folder = lake.root / "refused" / stamp
    folder.mkdir(parents=True)
    (folder / "set_aside.csv").write_bytes(_csv_bytes(report.set_aside))
    (folder / "report.json").write_text(json.dumps({
        "at": stamp, "by": by, "delivery": Path(report.delivery).name,
        "refused": report.refused, "files": [f.as_manifest() for f in report.files],
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    report.kept_in = folder


class _Refused(Exception):
    """Raised inside the version writer to throw the new version away (report.refused)."""


def _load(lake: Lake, delivery: Path | None, report: LoadReport, settings: Settings,
          rederive: bool, steps: _Steps, previous: list[dict], fingerprint: list,
          by: str) -> None:
    with lake.writer(by) as writer:
        refs = References()
        set_aside = []
        staging = MonthStaging(writer.dir / "staging")
        work = writer.dir / "work"  # transcoded copies of GB18030 files, removed as read
        work.mkdir()
        for table in contract.TABLES.values():
            frames = []
            for fr in report.files:
                if fr.table != table.name:
                    continue
                marks = (staging.parts, len(frames), len(set_aside))
                try:
                    _read_file(delivery / fr.name, work, fr, table, refs, previous, staging,
                               frames, set_aside, steps)
                except FileRejected as exc:
                    # nothing of a rejected file is kept, whichever batch failed
                    staging.discard_from(marks[0])
                    del frames[marks[1]:], set_aside[marks[2]:]
                    fr.status, fr.message, fr.rows_in = "rejected", str(exc), 0
                steps.tick()
            if table is contract.SNAPSHOTS:
                report.months, loaded, dups = _write_snapshots(writer, staging, settings,
                                                               rederive, steps)
                set_aside += dups
                report.rows_loaded[table.name] = loaded
                continue
            delivered = (pl.concat(frames, how="vertical_relaxed") if frames
                         else pl.DataFrame(schema={FILE: pl.String, LINE: pl.Int64,
                                                   **table_schema(table)}))
            delivered, dups = set_aside_duplicates(delivered, table)
            set_aside.append(dups)
            delivered = delivered.drop(FILE, LINE)
            merged = _merge(lake.read_table(table.name, writer.base), delivered, table)
            writer.write_table(table.name, merged)
            refs.remember(table, merged)
            report.rows_loaded[table.name] = delivered.height
            del frames, delivered, merged  # a table of millions of clients: not kept meanwhile
        writer.write_table("tiers", tiers_frame(settings))
        shutil.rmtree(work)

        report.set_aside = pl.concat(set_aside).sort("file", "line")
        counts = report.set_aside.group_by("file").len()
        for fr in report.files:
            hit = counts.filter(pl.col("file") == fr.name)
            fr.rows_set_aside = int(hit["len"][0]) if hit.height else 0
        if report.set_aside_share > settings.max_set_aside_share:
            report.refused = (
                f"{report.set_aside.height:,} of {report.rows_read:,} rows "
                f"({report.set_aside_share:.1%}) break a rule, more than the "
                f"{settings.max_set_aside_share:.0%} allowed (setting max_set_aside_share).")
            raise _Refused
        # derived from every month (and the maturities), over the same buckets of clients:
        # computed_warnings (warning_rules.py), dormant_months, reactivations (dormancy.py)
        per_client.write(writer, settings, steps)  # a step per bucket of clients
        # derived from the months, tier_entries, clients, cases and dormant_months: the
        # aggregates the dashboard reads (cubes.py), a step per cube and per month of those
        # written a month at a time
        cubes.write(writer, settings, steps=steps)
        report.version = writer.version
        report.kept_in = lake.path(writer.version) / "load"
        writer.write_load_file("set_aside.csv", _csv_bytes(report.set_aside))
        manifest = writer.manifest_base()
        manifest["settings"] = settings.lake_fingerprint
        manifest["warning_settings"] = settings.warning_fingerprint
        manifest["loads"].append({
            "load": writer.version, "at": manifest["created_at"], "by": by,
            "delivery": Path(report.delivery).name,
            "fingerprint": [list(x) for x in fingerprint],
            "files": [f.as_manifest() for f in report.files],
            "months": report.months,
        })
        writer.write_load_file("report.json", json.dumps(manifest["loads"][-1],
                                                         ensure_ascii=False, indent=2).encode())


def _read_file(path: Path, work: Path, fr: FileReport, table: Table, refs: References,
               previous: list[dict], staging: MonthStaging, frames: list[pl.DataFrame],
               set_aside: list[pl.DataFrame], steps: _Steps) -> None:
    """Read, match, parse and check one delivered file, batch by batch: snapshot rows go to
    the month staging on disk, other tables' rows to `frames`, broken rows to `set_aside`."""
    for number, batch in enumerate(READERS[path.suffix.lower()](path, work)):
        if number == 0:
            fr.headers = [c for c in batch.columns if c != LINE]
            fr.drift = schema_drift(fr.headers, table.name, previous)
        else:  # a large file: one more step per batch
            steps.add(1)
            steps.tick()
        batch, fr.extra_columns, fr.missing_columns = match_headers(batch, table, fr.name)
        fr.rows_in += batch.height
        good, bad = parse_rows(batch.with_columns(pl.lit(fr.name).alias(FILE)), table, refs)
        set_aside.append(bad)
        if table is contract.SNAPSHOTS:
            staging.add(good)
        else:
            frames.append(good)


def _csv_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_csv(buf)
    return buf.getvalue()


def _merge(old: pl.DataFrame | None, new: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Delivered rows replace lake rows with the same key; other lake rows stay."""
    if old is None:
        return new.sort(table.sort_by)
    kept = old.join(new.select(table.key), on=list(table.key), how="anti", nulls_equal=True)
    return pl.concat([kept, new.select(old.columns)], how="vertical_relaxed").sort(
        table.sort_by)


class MonthStaging:
    """Parsed snapshot rows parked on disk by month, so that a delivery of any size is held
    in memory one file, then one month, at a time."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.parts = 0

    def add(self, rows: pl.DataFrame) -> None:
        for (month,), part in rows.partition_by("snapshot_month", as_dict=True).items():
            (self.folder / month).mkdir(parents=True, exist_ok=True)
            # Parts are numbered in file order, so reading them back keeps delivery order.
            part.write_parquet(self.folder / month / f"{self.parts:06d}.parquet",
                               compression="uncompressed", statistics=False)
            self.parts += 1

    def discard_from(self, part: int) -> None:
        """Remove the parts numbered `part` and later (a file rejected half-way)."""
        for path in self.folder.glob("*/*.parquet"):
            if int(path.stem) >= part:
                path.unlink()
        for month in self.folder.glob("*"):
            if month.is_dir() and not any(month.iterdir()):
                month.rmdir()

    def months(self) -> list[str]:
        return sorted(p.name for p in self.folder.glob("*") if p.is_dir()) \
            if self.folder.exists() else []

    def files(self, month: str) -> list[Path]:
        """A month's part files, in delivery order (file order, then line)."""
        return sorted((self.folder / month).glob("*.parquet"))

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# Duplicate keys of the delivered months: a month's staging parts ($parts, read with their file
# name, which numbers the parts in delivery order) keep the first row of each key (file order,
# then line). Keys are counted first; the first row is looked for among repeated keys only.
_KEY = " and ".join(f"p.{quoted(k)} = d.{quoted(k)}" for k in contract.SNAPSHOTS.key)
_FIRST_OF_KEY = "p.filename = d.first.part and p.__line = d.first.line"
DUPLICATE_KEYS_TABLE = f"""
create temp table duplicate_keys (
    {', '.join(quoted(k) + ' varchar' for k in contract.SNAPSHOTS.key)},
    first struct(part varchar, line bigint, file varchar))
"""
DUPLICATE_KEYS_SQL = f"""
insert into duplicate_keys
with repeated as (
    select {', '.join(quoted(k) for k in contract.SNAPSHOTS.key)}
    from read_parquet($parts) group by all having count(*) > 1
)
select {', '.join('p.' + quoted(k) for k in contract.SNAPSHOTS.key)},
       min({{'part': p.filename, 'line': p.__line, 'file': p.__file}}) as first
from read_parquet($parts, filename = true) p join repeated d on {_KEY}
group by all
"""
FIRST_ROWS_SQL = f"""
select p.* from read_parquet($parts, filename = true) p
left join duplicate_keys d on {_KEY}
where d.first is null or ({_FIRST_OF_KEY})
"""
LATER_ROWS_SQL = f"""
select p.* exclude (filename), d.first.file || ':' || cast(d.first.line as varchar) as {FIRST}
from read_parquet($parts, filename = true) p
join duplicate_keys d on {_KEY}
where not ({_FIRST_OF_KEY})
"""


def _set_aside_duplicate_keys(con, parts: list[Path]) -> pl.DataFrame | None:
    """Record a delivered month's repeated keys (table duplicate_keys); return the rows set
    aside for them (the later rows of each key), or None when there are none."""
    params = {"parts": [str(p) for p in parts]}
    added = con.execute(DUPLICATE_KEYS_SQL, params).fetchall()[0][0]
    if not added:
        return None
    later = pl.from_arrow(con.sql(LATER_ROWS_SQL, params=params).to_arrow_table())
    return duplicate_rows(later, contract.SNAPSHOTS)


def _derived_rows(source: list[Path] | Path, delivered: bool, clients: Path,
                  settings: Settings) -> tuple[str, dict]:
    """One month's rows with their derived columns (no history columns, unsorted) as a query
    and its parameters: from the staging parts of a delivered month (first row of each
    key), or from the lake file of a month derived again."""
    params = {"clients": str(clients), **derive_parameters(settings)}
    if delivered:
        rows = f"select {_delivered_columns('p.', 'snapshot_month')} from ({FIRST_ROWS_SQL}) p"
        params["parts"] = [str(p) for p in source]
    else:
        rows = f"select {_delivered_columns('', 'month')} from read_parquet($source)"
        params["source"] = str(source)
    return derive_snapshot_sql(rows), params


def _write_snapshots(writer, staging: MonthStaging, settings: Settings, rederive: bool,
                     steps: _Steps) -> tuple[list[str], int, list[pl.DataFrame]]:
    """Write each delivered month whole (replacing that month); other months are linked,
    or derived again when the tier settings changed since they were written; each written
    month gets its history columns as it is written, the lake months beside them are
    refreshed, and tier entries are rebuilt (tierflow/history.py).

    Every step is a DuckDB statement from parquet files to a parquet file, with a memory
    limit (spilling to the version's work folder), so no month is held in memory: a
    delivered month's repeated keys are found (the later rows set aside); a month that is
    the neighbour of another written month is derived first into the work folder; then
    each month is derived (first row of each key, defaults, tier), given its neighbours
    (from the derived months and the lake's) and written sorted by branch and client.
    Returns the months delivered, the rows loaded and the duplicate rows set aside."""
    schema = snapshot_schema()
    writer.write_empty_snapshots(schema)
    files = history.MonthFiles(writer.dir, writer.base_dir)
    delivered, dups = staging.months(), []
    loaded = 0
    lake_months = set(files.months())
    rederived = sorted(lake_months - set(delivered)) if rederive else []
    written = sorted({*delivered, *rederived})
    beside = sorted({history.month_of(history.month_index(m) + d) for m in written
                     for d in (-1, 1)} & lake_months - set(written))
    # a month another written month takes as neighbour is derived first, into the work folder
    ahead = [m for m in written if {history.month_of(history.month_index(m) + d)
                                    for d in (-1, 1)} & set(written)]
    # derive, write, refresh, tier entries, client months
    steps.add(len(ahead) + len(written) + len(beside) + 2)
    work = writer.dir / "work-snapshots"
    con = load_connection(work / "spill")
    try:
        con.execute(DUPLICATE_KEYS_TABLE).fetchall()

        def derive(month: str) -> tuple[str, dict]:
            if month in delivered:
                dup = _set_aside_duplicate_keys(con, staging.files(month))
                if dup is not None:
                    dups.append(dup)
            source = staging.files(month) if month in delivered else files.path(month)
            return _derived_rows(source, month in delivered, writer.dir / "clients.parquet",
                                 settings)

        derived = {}
        for month in ahead:
            derived[month] = work / f"{month}.parquet"
            copy_parquet(con, *derive(month), derived[month])
            steps.tick()
        for month in written:
            rows = history.month_file(derived[month]) if month in derived else derive(month)
            before, after = history.neighbour_files(files, month, derived)
            history.attach_neighbours(con, *rows, before, after, writer.month_path(month),
                                      schema)
            if month in delivered:
                loaded += con.execute("select count(*) from read_parquet($month)",
                                      {"month": str(writer.month_path(month))}).fetchall()[0][0]
            steps.tick()
        staging.remove()
        history.relink(con, files, beside, writer.month_path, schema, steps.tick)
        history.write_tier_entries(con, files, writer.dir / "tier_entries.parquet")
        steps.tick()
        history.write_client_months(con, files, writer.dir / "client_months.parquet",
                                    writer.dir / "snapshots" / "empty.parquet")
        steps.tick()
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    return delivered, loaded, dups
