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
from tierflow.queries import bind, parse_header
from tierflow.settings import load_settings

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
# the tables whose rows follow the client, cut to a manager's clients
_CLIENT_TABLES = ("snapshots", "tier_entries", "retention_cases", "warnings", "maturities")


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
            paths = [str(p) for p in files[table]]
            if manager_id is not None and table == "clients":
                self.con.execute("create table clients as select * from read_parquet($f) "
                                 "where manager_id = $m", {"f": paths, "m": manager_id})
            elif manager_id is not None and table == "branches":  # their clients' branches
                self.con.execute("create table branches as select * from read_parquet($f) "
                                 "where branch_id in (select branch_id from clients)",
                                 {"f": paths})
            elif manager_id is not None and table in _CLIENT_TABLES:
                self.con.execute(f"create table {table} as select * from read_parquet($f) "
                                 "where client_id in (select client_id from clients)",
                                 {"f": paths})
            else:
                self.con.read_parquet(paths).create_view(table)

    def run(self, name: str, params: dict | None = None) -> pa.Table:
        query = parse_header(name, (REFERENCE_DIR / f"{name}.sql").read_text(encoding="utf-8"))
        return self.con.sql(query.sql, params=bind(query, params or {}, self.settings)).to_arrow_table()


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
