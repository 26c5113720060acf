"""The load's per-client tables, worked out over the same buckets of clients
(tierflow/buckets.py): the warnings (tierflow/warning_rules.py: computed_warnings) and dormancy
(tierflow/dormancy.py: dormant_months, reactivations). Each pass reads its bucket's snapshot
rows from the lake once, and both modules' statements read them from there; apart, each would
scan the lake once a pass for itself."""

from __future__ import annotations

from pathlib import Path

from tierflow import buckets, dormancy, history, warning_rules
from tierflow.lake import LOAD_MEMORY_LIMIT
from tierflow.settings import Settings


def compute(snapshots: list[Path], maturities: Path, out_dir: Path, settings: Settings,
            work: Path, memory_limit: str = LOAD_MEMORY_LIMIT,
            steps: buckets.Steps | None = None) -> dict[str, int]:
    """Write computed_warnings, dormant_months and reactivations for these snapshot files
    (every month of one version) and maturities into `out_dir`; return their row counts.
    `work` takes DuckDB's spill files and the passes' parts, and is removed afterwards;
    `steps` counts a step per bucket of clients."""
    warnings, tables = buckets.compute(
        snapshots, work, [warning_rules.Job(maturities,
                                            out_dir / f"{warning_rules.TABLE}.parquet",
                                            settings),
                          dormancy.Job(out_dir, settings)], memory_limit, steps)
    return {warning_rules.TABLE: warnings, **tables}


def write(writer, settings: Settings, steps: buckets.Steps | None = None) -> dict[str, int]:
    """Compute the tables of the version being written (its months: this load's files, else
    the base version's) into its folder."""
    files = history.MonthFiles(writer.dir, writer.base_dir)
    months = [files.path(m) for m in files.months()]
    if not months:  # no month yet: the empty snapshots file gives the columns
        months = [writer.dir / "snapshots" / "empty.parquet"]
    return compute(months, writer.dir / "maturities.parquet", writer.dir, settings,
                   writer.dir / "work-per-client", steps=steps)
