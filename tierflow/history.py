"""History columns derived at load time, so that month-over-month questions need no self-join.

Two things, both rebuilt by every load so they stay right after a month is replaced:

- **Neighbour columns** on every snapshot row: the client's tier rank and AUM in the month
  before (`prev_tier_rank`, `prev_aum`) and the month after (`next_tier_rank`, `next_aum`),
  empty when the client is not present there (closed, absent, or the month is not in the
  data). Written months get them as they are written; the lake months beside a written
  month M (M−1, M+1) are refreshed.
- **`tier_entries`**: per client and tier rank k (0 = any tier), the first month the client was
  present at rank k or higher, with its branch, tier rank and AUM then: the cohort of the retention
  triangle for any VIP threshold. Rebuilt from all months (a replaced early month can move
  any client's entry).

Both are read month by month, so memory stays bounded by one month of slim columns.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tierflow.lake import SNAPSHOTS
from tierflow.settings import TIER_CODES

MONEY = pl.Decimal(18, 2)
NEIGHBOUR_COLUMNS = {"prev_tier_rank": pl.Int8, "prev_aum": MONEY,
                     "next_tier_rank": pl.Int8, "next_aum": MONEY}
TIER_ENTRY_SCHEMA = {"client_id": pl.String, "min_rank": pl.Int8, "month_index": pl.Int32,
                     "month": pl.String, "branch_id": pl.String, "tier_rank": pl.Int8,
                     "aum": MONEY}


def month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_of(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


class MonthFiles:
    """The snapshot files of the version being written: this load's, else the base's."""

    def __init__(self, new_dir: Path, base_dir: Path | None):
        self.new = new_dir / SNAPSHOTS
        self.base = base_dir / SNAPSHOTS if base_dir is not None else None

    def months(self) -> list[str]:
        found = {p.stem for p in self.new.glob("*.parquet")}
        if self.base is not None:
            found |= {p.stem for p in self.base.glob("*.parquet")}
        return sorted(found - {"empty"})

    def path(self, month: str) -> Path:
        mine = self.new / f"{month}.parquet"
        return mine if mine.exists() or self.base is None else self.base / f"{month}.parquet"

    def present(self, month: str, columns: list[str]) -> pl.DataFrame | None:
        if month not in self.months():
            return None
        return pl.read_parquet(self.path(month), columns=["present", *columns]).filter(
            "present").drop("present")


NEIGHBOUR_SOURCE = ["client_id", "tier_rank", "aum"]


def _slim(rows: pl.DataFrame) -> pl.DataFrame:
    """What a month gives its neighbours: its present clients' tier rank and AUM."""
    return rows.filter("present").select(NEIGHBOUR_SOURCE)


def attach_neighbours(rows: pl.DataFrame, before: pl.DataFrame | None,
                      after: pl.DataFrame | None) -> pl.DataFrame:
    """Set a month's neighbour columns from the months before and after (None: not in the
    data). The joins keep the rows' order (branch, client)."""
    rows = rows.drop(*NEIGHBOUR_COLUMNS, strict=False)
    for side, near in (("prev", before), ("next", after)):
        if near is None:
            rows = rows.with_columns(pl.lit(None, pl.Int8).alias(f"{side}_tier_rank"),
                                     pl.lit(None, MONEY).alias(f"{side}_aum"))
        else:
            rows = rows.join(near.rename({"tier_rank": f"{side}_tier_rank",
                                          "aum": f"{side}_aum"}),
                             on="client_id", how="left", maintain_order="left")
    # A neighbour row only counts where this month's row is present too.
    return rows.with_columns(pl.when(pl.col("present")).then(pl.col(c)).otherwise(None).alias(c)
                             for c in NEIGHBOUR_COLUMNS)


def write_with_neighbours(files: MonthFiles, months: list[str], derive, write_month,
                          tick=lambda: None) -> None:
    """Write freshly derived months once each, in calendar order, with their neighbours: the
    month before from the step before (or the lake), the month after derived one step ahead
    (or read from the lake). At most two derived months are held at a time."""
    fresh = set(months)
    ahead: dict[str, pl.DataFrame] = {}
    before: tuple[str, pl.DataFrame | None] | None = None
    for month in sorted(months):
        tick()
        index = month_index(month)
        rows = ahead.pop(month) if month in ahead else derive(month)
        earlier, later = month_of(index - 1), month_of(index + 1)
        if before is None or before[0] != earlier:
            before = (earlier, files.present(earlier, NEIGHBOUR_SOURCE))
        if later in fresh:
            ahead[later] = derive(later)
            after = _slim(ahead[later])
        else:
            after = files.present(later, NEIGHBOUR_SOURCE)
        write_month(month, attach_neighbours(rows, before[1], after))
        before = (month, _slim(rows))


def relink(files: MonthFiles, months: list[str], write_month, tick=lambda: None) -> None:
    """Refresh the neighbour columns of months already in the lake (beside a written one)."""
    for month in sorted(months):
        tick()
        index = month_index(month)
        rows = pl.read_parquet(files.path(month))
        write_month(month, attach_neighbours(
            rows, files.present(month_of(index - 1), NEIGHBOUR_SOURCE),
            files.present(month_of(index + 1), NEIGHBOUR_SOURCE)))


def tier_entries(files: MonthFiles, tick=lambda: None) -> pl.DataFrame:
    """First month at each tier rank or above, per client, from every month in order."""
    entries = pl.DataFrame(schema=TIER_ENTRY_SCHEMA)
    for month in files.months():
        tick()
        rows = files.present(month, ["client_id", "month_index", "branch_id", "aum", "tier_rank"])
        candidates = pl.concat([
            rows.filter(pl.col("tier_rank") >= rank).select(
                "client_id", pl.lit(rank, pl.Int8).alias("min_rank"), "month_index",
                pl.lit(month).alias("month"), "branch_id", "tier_rank", "aum")
            for rank in range(len(TIER_CODES))])
        fresh = candidates.join(entries.select("client_id", "min_rank"),
                                on=["client_id", "min_rank"], how="anti")
        entries = pl.concat([entries, fresh.cast(TIER_ENTRY_SCHEMA)])
    return entries.sort("min_rank", "client_id")
