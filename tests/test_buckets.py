"""The per-client work of a load (warnings, dormancy) split into buckets of clients
(tierflow/buckets.py) writes the same tables, row for row and in the same order, as one pass
over every client; and warnings and dormancy over the same passes (tierflow/per_client.py, as
a load runs them) write what each writes alone."""

from __future__ import annotations

import polars as pl
import pytest

from tierflow import buckets, dormancy, per_client, warning_rules
from tierflow.lake import Lake
from tierflow.settings import Settings


class Steps:
    def __init__(self):
        self.added, self.ticks = [], 0

    def add(self, n: int) -> None:
        self.added.append(n)

    def tick(self, n: int = 1) -> None:
        self.ticks += n


@pytest.fixture(scope="module")
def version(tmp_path_factory):
    from tierflow.demo import generate_delivery
    from tierflow.ingest import ingest

    root = tmp_path_factory.mktemp("buckets")
    generate_delivery(root / "demo", clients=1_500, months=20, branches=3, seed=11)
    ingest(root / "demo", root / "data", Settings())
    lake = Lake(root / "data")
    return lake.path(lake.require_version())


def _tables(version, out, rows_per_bucket, monkeypatch) -> tuple[dict, Steps]:
    monkeypatch.setattr(buckets, "ROWS_PER_BUCKET", rows_per_bucket)
    snapshots = sorted((version / "snapshots").glob("*.parquet"))
    steps = Steps()
    out.mkdir()
    warning_rules.compute(snapshots, version / "maturities.parquet",
                          out / "computed_warnings.parquet", Settings(), out / "work-w",
                          steps=steps)
    dormancy.compute(snapshots, out, Settings(), out / "work-d", steps=steps)
    return {t: pl.read_parquet(out / f"{t}.parquet")
            for t in ("computed_warnings", *dormancy.TABLES)}, steps


def test_several_buckets_write_the_tables_of_one(version, tmp_path, monkeypatch):
    rows = pl.scan_parquet(sorted((version / "snapshots").glob("*.parquet"))).select(
        pl.len()).collect().item()
    one, one_steps = _tables(version, tmp_path / "one", rows, monkeypatch)
    many, many_steps = _tables(version, tmp_path / "many", -(-rows // 7), monkeypatch)

    assert one_steps.added == [1, 1] and one_steps.ticks == 2
    assert many_steps.added == [7, 7] and many_steps.ticks == 14
    # every rule and both dormancy tables have rows to compare
    assert set(one["computed_warnings"]["rule"]) == set(warning_rules.RULES)
    assert one["dormant_months"].height and one["reactivations"].height
    for table, frame in one.items():
        assert many[table].equals(frame), table
        # the load wrote the same (one bucket at this size)
        assert pl.read_parquet(version / f"{table}.parquet").equals(frame), table


def test_warnings_and_dormancy_over_the_same_passes(version, tmp_path, monkeypatch):
    rows = pl.scan_parquet(sorted((version / "snapshots").glob("*.parquet"))).select(
        pl.len()).collect().item()
    alone, _ = _tables(version, tmp_path / "alone", -(-rows // 7), monkeypatch)
    snapshots = sorted((version / "snapshots").glob("*.parquet"))
    steps = Steps()
    out = tmp_path / "together"
    out.mkdir()
    counts = per_client.compute(snapshots, version / "maturities.parquet", out, Settings(),
                                out / "work", steps=steps)

    assert steps.added == [7] and steps.ticks == 7
    assert not (out / "work").exists()
    for table, frame in alone.items():
        together = pl.read_parquet(out / f"{table}.parquet")
        assert counts[table] == frame.height
        assert together.equals(frame), table
