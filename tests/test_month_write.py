"""The month write runs in DuckDB (tierflow/ingest.py, tierflow/history.py): every month file and
tier_entries must equal what the former whole-month polars code wrote, kept here as the oracle
(`polars_month`, `polars_tier_entries`), through a first load, a load replacing and adding
months (neighbours fresh and from the lake, months beside relinked), a rebuild with other tier
settings, and duplicates across files and batches."""

import json

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from conftest import BRANCHES, client, snap, write_csv, write_delivery
from tierflow import history
from tierflow.ingest import SNAPSHOT_DERIVED, ingest, snapshot_schema
from tierflow.lake import ROW_GROUP_SIZE, Lake
from tierflow.settings import TIER_CODES, Settings

SETTINGS = Settings(max_set_aside_share=1.0)
OTHER_TIERS = Settings(max_set_aside_share=1.0, tier_basis="aum_avg",
                       tier_floors=(0, 10_000, 60_000, 700_000, 6_500_000))


# -- the oracle: the polars code that wrote months before DuckDB did -------------------------

def polars_derive(df: pl.DataFrame, clients: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    df = df.join(clients.select("client_id", pl.col("branch_id").alias("__home_branch"),
                                pl.col("manager_id").alias("__home_manager")),
                 on="client_id", how="left")
    basis = pl.col(settings.tier_basis)
    if settings.tier_basis != "aum":
        basis = pl.coalesce(basis, pl.col("aum"))
    present = pl.col("status") != "closed"
    rank = sum((basis >= floor).cast(pl.Int8) for floor in settings.tier_floors[1:])
    rank = pl.when(present).then(rank).otherwise(None).cast(pl.Int8)
    year, month = pl.col("month").str.slice(0, 4), pl.col("month").str.slice(5, 2)
    return df.with_columns(
        pl.coalesce("branch_id", "__home_branch").alias("branch_id"),
        pl.coalesce("manager_id", "__home_manager").alias("manager_id"),
        (year.cast(pl.Int32) * 12 + month.cast(pl.Int32) - 1).alias("month_index"),
        present.alias("present"),
        rank.alias("tier_rank"),
    ).with_columns(
        pl.col("tier_rank").replace_strict(dict(enumerate(TIER_CODES)), default=None,
                                           return_dtype=pl.String).alias("tier"),
    ).drop("__home_branch", "__home_manager")


def polars_attach(rows: pl.DataFrame, before: pl.DataFrame | None,
                  after: pl.DataFrame | None) -> pl.DataFrame:
    rows = rows.drop(*history.NEIGHBOUR_COLUMNS, strict=False)
    for side, near in (("prev", before), ("next", after)):
        if near is None:
            rows = rows.with_columns(pl.lit(None, pl.Int8).alias(f"{side}_tier_rank"),
                                     pl.lit(None, history.MONEY).alias(f"{side}_aum"))
        else:
            near = near.filter("present").select("client_id", "tier_rank", "aum")
            rows = rows.join(near.rename({"tier_rank": f"{side}_tier_rank",
                                          "aum": f"{side}_aum"}),
                             on="client_id", how="left", maintain_order="left")
    return rows.with_columns(pl.when(pl.col("present")).then(pl.col(c)).otherwise(None).alias(c)
                             for c in history.NEIGHBOUR_COLUMNS)


def polars_month(rows: pl.DataFrame, clients: pl.DataFrame, settings: Settings,
                 before: pl.DataFrame | None, after: pl.DataFrame | None) -> pl.DataFrame:
    schema = snapshot_schema()
    rows = rows.drop(*SNAPSHOT_DERIVED, *history.NEIGHBOUR_COLUMNS, strict=False)
    rows = polars_derive(rows, clients, settings).select(
        n for n in schema.names() if n not in history.NEIGHBOUR_COLUMNS)
    rows = rows.sort("branch_id", "client_id")
    return polars_attach(rows, before, after).select(schema.names()).cast(dict(schema))


def polars_tier_entries(months: list[pl.DataFrame]) -> pl.DataFrame:
    entries = pl.DataFrame(schema=history.TIER_ENTRY_SCHEMA)
    for rows in months:
        rows = rows.filter("present")
        candidates = pl.concat([
            rows.filter(pl.col("tier_rank") >= rank).select(
                "client_id", pl.lit(rank, pl.Int8).alias("min_rank"), "month_index",
                "month", "branch_id", "tier_rank", "aum")
            for rank in range(len(TIER_CODES))])
        fresh = candidates.join(entries.select("client_id", "min_rank"),
                                on=["client_id", "min_rank"], how="anti")
        entries = pl.concat([entries, fresh.cast(history.TIER_ENTRY_SCHEMA)])
    return entries.sort("min_rank", "client_id")


def assert_lake_as_polars_wrote_it(data_dir, settings: Settings) -> dict[str, pl.DataFrame]:
    """Each month file of the current version equals the oracle's month, computed from the
    file's delivered columns and its neighbours as the oracle derives them; so does
    tier_entries. Returns the months."""
    lake = Lake(data_dir)
    version = lake.require_version()
    clients = lake.read_table("clients", version)
    stored = {m: pl.read_parquet(lake.path(version) / "snapshots" / f"{m}.parquet")
              for m in lake.months(version)}
    derived = {m: polars_month(rows, clients, settings, None, None)
               for m, rows in stored.items()}
    for month, rows in stored.items():
        index = history.month_index(month)
        expected = polars_month(rows, clients, settings,
                                derived.get(history.month_of(index - 1)),
                                derived.get(history.month_of(index + 1)))
        assert_frame_equal(rows, expected, check_exact=True)
        meta = pq.ParquetFile(lake.path(version) / "snapshots" / f"{month}.parquet").metadata
        assert meta.row_group(0).column(0).compression == "ZSTD"
        assert all(meta.row_group(i).num_rows <= ROW_GROUP_SIZE
                   for i in range(meta.num_row_groups))
    assert_frame_equal(lake.read_table("tier_entries", version),
                       polars_tier_entries([stored[m] for m in sorted(stored)]),
                       check_exact=True)
    return stored


# -- the deliveries ---------------------------------------------------------------------------

CLIENTS = [client("C01", manager_id="M1"), client("C02"), client("C03", "B2"),
           client("C04", "B2", manager_id="M2"), client("C05"), client("C06", "B2"),
           client("C07")]
MANAGERS = [{"manager_id": "M1", "manager_name": "王经理", "branch_id": "B1"},
            {"manager_id": "M2", "manager_name": "李经理", "branch_id": "B2"}]


def month_rows(month: str, shift: int = 0) -> list[dict]:
    """A month of every kind of row: defaults from the client, a branch and manager of the
    row's own, a closed row, an average AUM on some rows only, every tier."""
    return [
        snap(month, "C01", str(50_000 + shift), aum_avg="48000.50"),
        snap(month, "C02", "49999.99", branch_id="B2", manager_id="M2"),
        snap(month, "C03", str(2_000_000 - shift), aum_avg="9000"),
        snap(month, "C04", "600000", status="closed" if shift else ""),
        snap(month, "C05", str(6_000_000 + shift)),
        snap(month, "C06", "1000.10", aum_avg="650000"),
        snap(month, "C07", str(100 * (shift + 1)), status="dormant"),
    ]


@pytest.fixture
def lake_dir(tmp_path):
    delivery = write_delivery(tmp_path / "d1", {
        "branches": BRANCHES, "managers": MANAGERS, "clients": CLIENTS})
    # three months in two files, the second file repeating rows of the first (duplicates)
    write_csv(delivery / "snapshots_a.csv", month_rows("2024-01") + month_rows("2024-02", 1))
    write_csv(delivery / "snapshots_b.csv",
              [r for r in month_rows("2024-03", 2) if r["client_id"] != "C06"]
              + [snap("2024-02", "C01", "1"), snap("2024-02", "C05", "2")])
    report = ingest(delivery, tmp_path / "data", SETTINGS)
    assert not report.rejected and not report.refused, report.summary()
    return tmp_path / "data"


def test_a_first_load_is_written_as_polars_wrote_it(lake_dir):
    stored = assert_lake_as_polars_wrote_it(lake_dir, SETTINGS)
    assert list(stored) == ["2024-01", "2024-02", "2024-03"]
    feb = stored["2024-02"]
    # the first row of a key is kept, sorted by branch then client, defaults filled in
    assert feb.select("client_id", "branch_id", "manager_id",
                      pl.col("aum").cast(pl.Float64)).rows() == [
        ("C01", "B1", "M1", 50_001), ("C05", "B1", None, 6_000_001),
        ("C07", "B1", None, 200), ("C02", "B2", "M2", 49_999.99),
        ("C03", "B2", None, 1_999_999), ("C04", "B2", "M2", 600_000),
        ("C06", "B2", None, 1000.10)]
    assert feb.filter(pl.col("client_id") == "C04").select(
        "present", "tier", "tier_rank", "prev_tier_rank", "next_aum").row(0) == (
        False, None, None, None, None)
    assert feb.filter(pl.col("client_id") == "C01").select(
        "month_index", "tier", "prev_tier_rank", "prev_aum", "next_tier_rank").row(0) == (
        2024 * 12 + 1, "gold", 1, 50_000, 1)


def test_duplicates_are_set_aside_with_the_first_row_named(lake_dir, tmp_path):
    report = ingest(tmp_path / "d1", tmp_path / "again", SETTINGS)
    dups = report.set_aside.filter(pl.col("rule").str.starts_with("duplicate key"))
    assert dups.select("file", "line", "rule").rows() == [
        ("snapshots_b.csv", 8, "duplicate key: snapshot_month, client_id "
                               "(first at snapshots_a.csv:9)"),
        ("snapshots_b.csv", 9, "duplicate key: snapshot_month, client_id "
                               "(first at snapshots_a.csv:13)")]
    values = json.loads(dups["values"][0])
    assert (values["snapshot_month"], values["client_id"], values["aum"], values["status"]) \
        == ("2024-02", "C01", "1.00", "normal")
    assert report.rows_loaded["snapshots"] == 7 + 7 + 6


def test_duplicates_within_and_across_batches(tmp_path, monkeypatch):
    import tierflow.ingest

    monkeypatch.setattr(tierflow.ingest, "BATCH_ROWS", 2)
    delivery = write_delivery(tmp_path / "d", {"branches": BRANCHES, "managers": MANAGERS,
                                             "clients": CLIENTS})
    write_csv(delivery / "snapshots_1.csv", [
        snap("2024-05", "C01", "1"), snap("2024-05", "C02", "2"), snap("2024-05", "C01", "3"),
        snap("2024-05", "C03", "4"), snap("2024-05", "C01", "5")])
    write_csv(delivery / "snapshots_2.csv", [snap("2024-05", "C03", "6")])
    report = ingest(delivery, tmp_path / "data", SETTINGS)
    assert report.set_aside.select("file", "line", "rule").rows() == [
        ("snapshots_1.csv", 4, "duplicate key: snapshot_month, client_id "
                               "(first at snapshots_1.csv:2)"),
        ("snapshots_1.csv", 6, "duplicate key: snapshot_month, client_id "
                               "(first at snapshots_1.csv:2)"),
        ("snapshots_2.csv", 2, "duplicate key: snapshot_month, client_id "
                               "(first at snapshots_1.csv:5)")]
    stored = assert_lake_as_polars_wrote_it(tmp_path / "data", SETTINGS)
    assert stored["2024-05"].select("client_id", pl.col("aum").cast(pl.Float64)).rows() == [
        ("C01", 1), ("C02", 2), ("C03", 4)]


def test_replaced_and_added_months_and_a_rebuild(lake_dir, tmp_path):
    # February replaced (its neighbours January and March come from the lake, and are
    # relinked), April and May added (May's neighbour April is derived in the same load)
    delivery = write_delivery(tmp_path / "d2", {})
    write_csv(delivery / "snapshots_2024-02.csv",
              [r for r in month_rows("2024-02", 5) if r["client_id"] != "C07"])
    write_csv(delivery / "snapshots_later.csv", month_rows("2024-04", 3)
              + [r for r in month_rows("2024-05", 4) if r["client_id"] != "C02"])
    report = ingest(delivery, lake_dir, SETTINGS)
    assert report.months == ["2024-02", "2024-04", "2024-05"], report.summary()
    stored = assert_lake_as_polars_wrote_it(lake_dir, SETTINGS)
    jan = stored["2024-01"].filter(pl.col("client_id") == "C07")
    assert jan.select("next_tier_rank", "next_aum").row(0) == (None, None)  # gone in Feb
    # a rebuild with other tier settings derives every month again
    ingest(None, lake_dir, OTHER_TIERS)
    stored = assert_lake_as_polars_wrote_it(lake_dir, OTHER_TIERS)
    c06 = stored["2024-01"].filter(pl.col("client_id") == "C06")
    assert c06.select("tier", "tier_rank").row(0) == ("platinum", 2)  # on its average AUM
    version = Lake(lake_dir).path(Lake(lake_dir).require_version())
    assert not (version / "work-snapshots").exists() and not (version / "staging").exists()
