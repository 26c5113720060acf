"""History columns derived at load: neighbour months on each snapshot row, and tier entries;
both right after a month in the middle is replaced."""

import polars as pl
import pytest

from conftest import BRANCHES, snap, write_delivery
from test_queries import CLIENTS, SNAPSHOTS
from tierflow.buckets import bucket_count
from tierflow.history import (CLIENT_MONTH_COLUMNS, CLIENT_MONTH_ROW_GROUP, MonthFiles,
                              write_client_months, write_tier_entries)
from tierflow.ingest import ingest
from tierflow.lake import Lake, load_connection
from tierflow.settings import Settings


def neighbours(data_dir, client_id):
    lake = Lake(data_dir)
    files = lake.table_files(lake.current_version())["snapshots"]
    rows = pl.concat([pl.read_parquet(f) for f in files]).filter(pl.col("client_id") == client_id)
    return [(m, p, None if pa is None else float(pa), n, None if na is None else float(na))
            for m, p, pa, n, na in rows.sort("month").select(
                "month", "prev_tier_rank", "prev_aum", "next_tier_rank", "next_aum").rows()]


@pytest.fixture
def data_dir(tmp_path):
    delivery = write_delivery(tmp_path / "d1", {"branches": BRANCHES, "clients": CLIENTS,
                                                "snapshots": SNAPSHOTS})
    ingest(delivery, tmp_path / "data", Settings())
    return tmp_path / "data"


def test_neighbour_columns(data_dir):
    assert neighbours(data_dir, "C01") == [
        ("2024-01", None, None, 0, 49_999.99),      # no December in the data
        ("2024-02", 1, 50_000.0, 1, 50_000.0),
        ("2024-03", 0, 49_999.99, None, None),      # no April
    ]
    # C03 is closed in February: January sees no next month, the closed row no neighbours
    assert neighbours(data_dir, "C03") == [("2024-01", None, None, None, None),
                                           ("2024-02", None, None, None, None)]
    # C06 is absent in February
    assert neighbours(data_dir, "C06") == [("2024-01", None, None, None, None),
                                           ("2024-03", None, None, None, None)]


def test_tier_entries(data_dir):
    entries = Lake(data_dir).read_table("tier_entries")
    def of(client):
        return [(r, m, b, float(a)) for r, m, b, a in entries.filter(
            pl.col("client_id") == client).sort("min_rank").select(
            "min_rank", "month", "branch_id", "aum").rows()]
    assert of("C02") == [(0, "2024-01", "B1", 49_999.99), (1, "2024-02", "B1", 50_000.0)]
    assert of("C04") == [(0, "2024-02", "B1", 600_000.0), (1, "2024-02", "B1", 600_000.0),
                         (2, "2024-02", "B1", 600_000.0)]
    assert [r for r, *_ in of("C05")] == [0, 1, 2, 3, 4]


def test_replacing_a_month_updates_its_neighbours(data_dir, tmp_path):
    feb = [s for s in SNAPSHOTS if s["snapshot_month"] == "2024-02"]
    feb.append(snap("2024-02", "C06", "2000"))  # C06 now present in February
    ingest(write_delivery(tmp_path / "d2", {"snapshots": feb}), data_dir, Settings())
    assert neighbours(data_dir, "C06") == [
        ("2024-01", None, None, 0, 2_000.0),
        ("2024-02", 0, 1_000.0, 0, 1_500.0),
        ("2024-03", 0, 2_000.0, None, None),
    ]
    # and an early entry moves when the month that made it is replaced
    jan = [s for s in SNAPSHOTS if s["snapshot_month"] == "2024-01" and s["client_id"] != "C01"]
    ingest(write_delivery(tmp_path / "d3", {"snapshots": jan}), data_dir, Settings())
    entries = Lake(data_dir).read_table("tier_entries").filter(pl.col("client_id") == "C01")
    assert entries.sort("min_rank").select("min_rank", "month").rows() == [
        (0, "2024-02"), (1, "2024-03")]


def test_tier_entries_are_the_same_in_any_number_of_client_buckets(data_dir, tmp_path):
    """Tier entries are written a bucket of clients at a time (a client's months are all in
    its bucket): one row a bucket gives the table one bucket gives, row for row."""
    lake = Lake(data_dir)
    version = lake.current_version()
    files = MonthFiles(lake.path(version), None)
    con = load_connection(tmp_path / "spill")
    one, many = tmp_path / "one.parquet", tmp_path / "many.parquet"
    write_tier_entries(con, files, one)
    assert bucket_count(con, [str(files.path(m)) for m in files.months()], 1) > 5
    write_tier_entries(con, files, many, rows_per_bucket=1)
    assert pl.read_parquet(one).height > 0
    assert pl.read_parquet(many).equals(pl.read_parquet(one))
    assert pl.read_parquet(one).equals(lake.read_table("tier_entries"))


def test_client_months_hold_every_snapshot_row_in_client_order(data_dir, tmp_path):
    lake = Lake(data_dir)
    snapshots = pl.concat([pl.read_parquet(f) for f in
                           lake.table_files(lake.current_version())["snapshots"]])
    months = lake.read_table("client_months")
    assert months.columns == list(CLIENT_MONTH_COLUMNS)
    assert months.height == snapshots.height == len(SNAPSHOTS)
    assert months.select("client_id", "month").rows() == sorted(
        snapshots.select("client_id", "month").rows())
    assert months.equals(snapshots.select(CLIENT_MONTH_COLUMNS).sort("client_id", "month"))
    # replacing February: C06's new February row is in its place
    feb = [s for s in SNAPSHOTS if s["snapshot_month"] == "2024-02"]
    feb.append(snap("2024-02", "C06", "2000"))
    ingest(write_delivery(tmp_path / "d2", {"snapshots": feb}), data_dir, Settings())
    c06 = Lake(data_dir).read_table("client_months").filter(pl.col("client_id") == "C06")
    assert [(m, float(a)) for m, a in c06.select("month", "aum").rows()] == [
        ("2024-01", 1_000.0), ("2024-02", 2_000.0), ("2024-03", 1_500.0)]


def test_client_months_come_in_small_row_groups(tmp_path):
    """A client's lookup reads one row group of CLIENT_MONTH_ROW_GROUP rows, not every row."""
    import duckdb

    con = duckdb.connect()
    version = tmp_path / "v"
    (version / "snapshots").mkdir(parents=True)
    rows = pl.DataFrame({"client_id": [f"C{n:06d}" for n in range(300_000)]}).with_columns(
        month=pl.lit("2024-01"), branch_id=pl.lit("B1"), manager_id=pl.lit("M1"),
        tier=pl.lit("mass"), aum=pl.lit(1.0), aum_avg=pl.lit(1.0), products_held=pl.lit(1),
        txn_count=pl.lit(0), status=pl.lit("normal"))
    rows.sample(fraction=1.0, shuffle=True, seed=1).write_parquet(
        version / "snapshots" / "2024-01.parquet")
    out = tmp_path / "client_months.parquet"
    write_client_months(con, MonthFiles(version, None), out, version / "snapshots" / "empty")
    groups = con.execute("select row_group_num_rows from parquet_metadata($f) "
                         "where column_id = 0", {"f": str(out)}).fetchall()
    assert [g for g, in groups] == [CLIENT_MONTH_ROW_GROUP, CLIENT_MONTH_ROW_GROUP,
                                    300_000 - 2 * CLIENT_MONTH_ROW_GROUP]
    assert pl.read_parquet(out)["client_id"].is_sorted()
