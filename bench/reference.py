"""The dashboard's figures computed straight from the raw snapshot rows, to check the
aggregates built at load (tierflow/cubes.py) against.

``bench/reference/<name>.sql`` is, for every named query that reads an aggregate, that query as
it was written over the snapshot rows before the aggregates existed (same header, parameters
and columns). `RawLake` runs it on a plain DuckDB connection over one lake version's parquet
files, outside tierflow's runner: no scope CTEs, no cubes. A manager's book is cut out by
hand (their clients, those clients' rows), as the runner's scope does.
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from tierflow.lake import Lake
from tierflow.queries import bind, catalog, parse_header
from tierflow.settings import load_settings

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
# How a manager's book is cut out of each table, as the runner's scope does: their clients,
# those clients' branches, and the rows that follow those clients ("source": the table's files).
_OWN_CLIENTS_ROWS = "select * from source where client_id in (select client_id from clients)"
_MANAGER_CUTS = {
    "clients": "select * from source where manager_id = $m",
    "managers": "select * from source where manager_id = $m",
    "branches": "select * from source where branch_id in (select branch_id from clients)",
    **{table: _OWN_CLIENTS_ROWS for table in
       ("snapshots", "tier_entries", "retention_cases", "warnings", "maturities",
        "computed_warnings", "dormant_months", "reactivations",
        # built from the warnings and the rows of their clients
        "delivered_warning_rows")},
}


def reference_names() -> list[str]:
    """The named queries that have a reference over the raw snapshots."""
    return sorted(p.stem for p in REFERENCE_DIR.glob("*.sql"))


class RawLake:
    """One lake version's tables as plain DuckDB views (or, for a manager, tables of their
    clients' rows)."""

    def __init__(self, data_dir: Path, manager_id: str | None = None):
        lake = Lake(data_dir)
        self.settings = load_settings(data_dir)
        self.con = duckdb.connect(config={"threads": 2, "memory_limit": "4GB"})
        files = lake.table_files(lake.require_version())
        for table in ("clients", *(t for t in files if t != "clients")):
            rows = self.con.read_parquet([str(p) for p in files[table]])
            cut = _MANAGER_CUTS.get(table) if manager_id is not None else None
            if cut is None:
                rows.create_view(table)
            else:  # the manager's rows as a table of that name (the relation API names it)
                rows.create_view("source", replace=True)
                self.con.sql(cut, params={"m": manager_id} if "$m" in cut else None) \
                    .create(table)

    def run(self, name: str, params: dict | None = None) -> pa.Table:
        query = parse_header(name, (REFERENCE_DIR / f"{name}.sql").read_text(encoding="utf-8"))
        bound = bind(query, params or {}, self.settings)
        return self.con.sql(query.sql, params=bound).to_arrow_table()


def without_looked_up(name: str, table: pa.Table) -> pa.Table:
    """A named query's result without the columns the runner looks up by client (names,
    phones: masked or not by the scope); the references have none."""
    return table.drop_columns(list(catalog()[name].looked_up))


def differences(got: pa.Table, expected: pa.Table) -> list[str]:
    """How two results differ (empty when they are the same rows, in any order): money
    exactly, other numbers to 1e-9."""
    if got.column_names != expected.column_names:
        return [f"columns {got.column_names} != {expected.column_names}"]

    def key(row):
        return tuple((v is None, str(v)) for v in row)

    def rows(table):
        return sorted((tuple(r.values()) for r in table.to_pylist()), key=key)

    problems = []
    a, b = rows(got), rows(expected)
    if len(a) != len(b):
        return [f"{len(a)} rows != {len(b)} rows"]
    for x, y in zip(a, b):
        if any(not _same(u, v) for u, v in zip(x, y)):
            problems.append(f"{x} != {y}")
    return problems[:5]


def _same(u, v) -> bool:
    if u is None or v is None:
        return u is None and v is None
    if isinstance(u, float) or isinstance(v, float):
        return math.isclose(float(u), float(v), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(u, Decimal) or isinstance(v, Decimal):
        return Decimal(u) == Decimal(v)
    return u == v
