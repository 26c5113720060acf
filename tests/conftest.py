"""Fixtures from literal rows: a delivery is written as real files and loaded by real ingest.

`write_delivery(folder, {"clients": [...], ...})` writes one CSV per table (or per snapshot
month) from lists of dicts; `build_lake(tables)` loads it into a fresh data folder and returns
a query runner over it, so query tests exercise the same path a bank's delivery takes.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest

from tierflow.access import EVERYTHING
from tierflow.ingest import ingest
from tierflow.queries import QueryRunner
from tierflow.settings import Settings


def write_csv(path: Path, rows: list[dict], encoding: str = "utf-8") -> Path:
    header = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_delivery(folder: Path, tables: dict[str, list[dict]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        if rows:
            write_csv(folder / f"{name}.csv", rows)
    return folder


BRANCHES = [
    {"branch_id": "B1", "branch_name": "静安支行"},
    {"branch_id": "B2", "branch_name": "徐汇支行"},
]


def client(client_id: str, branch_id: str = "B1", **extra) -> dict:
    return {"client_id": client_id, "name": f"客户{client_id}", "branch_id": branch_id, **extra}


def snap(month: str, client_id: str, aum: str, status: str = "", **extra) -> dict:
    return {"snapshot_month": month, "client_id": client_id, "aum": aum, "status": status,
            **extra}


def rows(df) -> list[tuple]:
    """A result's rows as tuples: floats rounded to 1e-9 (money is exact to the cent in SQL,
    rates are compared to 1e-9), missing values (NaN, NA) as None."""
    def cell(v):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return None
        return round(v, 9) if isinstance(v, float) else v
    return [tuple(cell(v) for v in r) for r in df.astype(object).itertuples(index=False)]


@pytest.fixture
def build_lake(tmp_path):
    """Load literal tables into a new data folder; return a runner over it."""
    count = 0

    def build(tables: dict[str, list[dict]], settings: Settings | None = None) -> QueryRunner:
        nonlocal count
        count += 1
        data_dir = tmp_path / f"data{count}"
        delivery = write_delivery(tmp_path / f"delivery{count}",
                                  {"branches": BRANCHES, **tables})
        report = ingest(delivery, data_dir, settings or Settings())
        assert not report.rejected, report.summary()
        assert report.set_aside.height == 0, report.summary()
        return QueryRunner(data_dir).for_scope(EVERYTHING)

    return build
