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

    # a step for the split of the rows into buckets, and one a bucket
    assert one_steps.added == [2, 2] and one_steps.ticks == 4
    assert many_steps.added == [8, 8] and many_steps.ticks == 16
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

    assert steps.added == [8] and steps.ticks == 8
    assert not (out / "work").exists()
    for table, frame in alone.items():
        together = pl.read_parquet(out / f"{table}.parquet")
        assert counts[table] == frame.height
        assert together.equals(frame), table


def test_split_puts_each_client_in_one_bucket_and_every_bucket_has_a_file(version, tmp_path):
    import duckdb

    snapshots = [str(p) for p in sorted((version / "snapshots").glob("*.parquet"))]
    con = duckdb.connect()
    total = con.execute("select count(*), count(distinct client_id) from read_parquet($s)",
                        {"s": snapshots}).fetchone()
    files = buckets.split(con, snapshots, ("client_id", "month", "aum"), 5, tmp_path / "all")
    counts = [con.execute("select count(*), count(distinct client_id) "
                          "from read_parquet($f, hive_partitioning = false)",
                          {"f": f}).fetchone() for f in files]
    assert len(files) == 5 and all(rows for rows, _ in counts)
    # every row is in one bucket, and so is every client (its rows all in the same bucket)
    assert tuple(map(sum, zip(*counts))) == total
    # the bucket is the hash a pass filters the maturities with
    first = con.execute("select distinct client_id, hash(client_id) % 5 "
                        "from read_parquet($f, hive_partitioning = false)",
                        {"f": files[2]}).fetchall()
    assert {b for _, b in first} == {2}

    # one client's rows: four buckets have none, and get an empty file with the columns
    client = con.execute("select min(client_id) from read_parquet($s)",
                         {"s": snapshots}).fetchone()[0]
    months = con.execute("select count(*) from read_parquet($s) where client_id = $c",
                         {"s": snapshots, "c": client}).fetchone()[0]
    one = tmp_path / "one-client.parquet"
    con.execute("copy (select * from read_parquet($s) where client_id = $c) to $out",
                {"s": snapshots, "c": client, "out": str(one)})
    files = buckets.split(con, [str(one)], ("client_id", "month", "aum"), 5, tmp_path / "one")
    rows = [con.execute("select count(*) from read_parquet($f, hive_partitioning = false)",
                        {"f": f}).fetchone()[0] for f in files]
    assert sorted(rows) == [0, 0, 0, 0, months] and months > 1
    columns = con.execute("describe select * from read_parquet($f, hive_partitioning = false)",
                          {"f": files[rows.index(0)]}).fetchall()
    assert [c[0] for c in columns] == ["client_id", "month", "aum"]
