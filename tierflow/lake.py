"""The parquet lake: versioned, written whole, switched atomically.

Layout under ``<data dir>/lake/``::

    CURRENT                  name of the version readers use (replaced atomically)
    versions/v000007/        one complete version
        manifest.json        what is in it and every load that led to it
        branches.parquet  managers.parquet  clients.parquet  tiers.parquet
        clients.duckdb       the clients again, as a DuckDB table indexed by client_id, so a
                             page's 1,000 names are looked up, not a 7M-row file scanned
        retention_cases.parquet  warnings.parquet  maturities.parquet
        tier_entries.parquet  first month per client at each tier rank (tierflow/history.py)
        client_months.parquet  every snapshot row in client order, for one client's history
        computed_warnings.parquet  the warning rules' warnings (tierflow/warning_rules.py)
        dormant_months.parquet  reactivations.parquet   dormancy (tierflow/dormancy.py)
        tier_cube.parquet  cohort_cube.parquet  case_aum.parquet   for the dashboard (cubes.py)
        cohort_group_cube.parquet   cohort members by branch, entry tier and segment, too
        dormancy_cube.parquet   dormant clients per month and branch, too (cubes.py)
        transition_cube.parquet   tier moves between months 1, 3, 6 and 12 apart (cubes.py)
        concentration_cube.parquet   AUM by percentile of clients, too (cubes.py)
        delivered_warning_rows.parquet   delivered warnings with their month's row (cubes.py)
        client_list_head.parquet   the top clients by AUM per month, branch, tier (cubes.py)
        tier_moves.parquet   the clients whose tier rank changed from the month before (cubes.py)
        book_cube.parquet   each manager's clients and AUM per month, branch, tier (cubes.py)
        unassigned_rows.parquet   the clients with no manager above the default floor (cubes.py)
        todo_rows.parquet   the to-do lists' rows around each month, with tier and AUM (cubes.py)
        warning_cube.parquet   warnings and how fast cases answered them, per month (cubes.py)
        warning_answers.parquet   the first case answering each warning, per month (cubes.py)
        snapshots/2024-06.parquet ...   one file per month, sorted by branch and client
        load/report.json  load/set_aside.csv   the report of the load that made it

A load writes a new version beside the current one (unchanged files are hard links, so a
month load costs one month), then replaces ``CURRENT``. Readers resolve ``CURRENT`` once per
query and never see a half-written version; a load that dies leaves only a ``.tmp-*`` folder
that the next load removes. Old versions are kept (for rollback and for readers still on
them): the last ``KEEP_VERSIONS`` loads of the version in use, and the two newest. A rollback makes the version before the last load
current again, the same atomic way, and is recorded in ``lake/events.jsonl``.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

KEEP_VERSIONS = 5
ROW_GROUP_SIZE = 1_000_000
# What a load's DuckDB statements (month writes, history) may hold before spilling to disk.
# A month of 5M rows joined with 7M clients (deriving a delivered month) failed at 1 GB and
# peaked at 1.7 GB resident with 2 GB.
LOAD_MEMORY_LIMIT = "2GB"
LOAD_THREADS = 2

# Logical tables every version holds; queries name these, never files.
TABLE_FILES = ("branches", "managers", "clients", "tiers", "retention_cases", "warnings",
               "maturities", "tier_entries", "computed_warnings", "dormant_months",
               "reactivations", "tier_cube", "cohort_cube", "cohort_group_cube", "case_aum",
               "dormancy_cube", "transition_cube", "concentration_cube",
               "delivered_warning_rows", "client_months", "client_list_head", "tier_moves",
               "todo_rows", "book_cube", "unassigned_rows", "warning_cube",
               "warning_answers")
SNAPSHOTS = "snapshots"
# Tables also written as a DuckDB table with an index on their key (``<table>.duckdb``), for
# lookups of a few keys: at 7M clients, 1,000 clients' rows come in 26 ms by the index against
# 0.9-1.3 s for a scan of the parquet file. The parquet file stays the table of record.
# Table → (key, the columns a lookup by key fetches: queries/client_details.sql's).
INDEXED_TABLES = {"clients": ("client_id", ("client_id", "name", "phone", "id_number",
                                            "segment", "open_date", "manager_id"))}
VERSION_NAME = re.compile(r"v\d{6}")


class LakeMissing(RuntimeError):
    """No version has been loaded into the data folder yet."""


class RollbackImpossible(RuntimeError):
    """There is no earlier version to go back to (first load, or it was pruned)."""


def write_parquet(df: pl.DataFrame, path: Path) -> None:
    df.write_parquet(path, compression="zstd", compression_level=1, row_group_size=ROW_GROUP_SIZE,
                     statistics=True)


def load_connection(work: Path,
                    memory_limit: str = LOAD_MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for a load's large statements: memory bounded by `memory_limit`,
    spilling to `work` (a folder inside the version being written, removed with it)."""
    work.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(config={"memory_limit": memory_limit, "threads": LOAD_THREADS,
                                  "temp_directory": str(work)})


def copy_parquet(con: duckdb.DuckDBPyConnection, query: str, params: dict, path: Path,
                 row_group_size: int = ROW_GROUP_SIZE, partition_by: str | None = None) -> None:
    """Write a query's rows to `path` as `write_parquet` writes a frame (zstd level 1, row
    groups of about `row_group_size` rows, in the query's order); with `partition_by` (a column
    of the query), to a folder `path` of one folder a value (``<column>=<value>/``). `query` is
    one of tierflow's own SQL texts (COPY takes no query parameter); every value and path is
    bound, never pasted in."""
    partition = f", partition_by ({quoted(partition_by)})" if partition_by else ""
    con.execute(f"copy ({query}) to $__out (format parquet, compression zstd, "
                f"compression_level $__level, row_group_size $__rows{partition})",
                {**params, "__out": str(path), "__level": 1, "__rows": row_group_size}).fetchall()


# polars type → DuckDB type of the columns the lake writes with DuckDB
_DUCK_TYPES = {pl.String: "varchar", pl.Boolean: "boolean", pl.Int8: "tinyint",
               pl.Int32: "integer", pl.Int64: "bigint", pl.Date: "date"}


def duck_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return f"decimal({dtype.precision}, {dtype.scale})"
    return _DUCK_TYPES[dtype.base_type()]


def quoted(name: str) -> str:
    """A column name as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class Lake:
    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "lake"
        self.versions = self.root / "versions"

    # -- reading -------------------------------------------------------------------------
    def current_version(self) -> str | None:
        try:
            version = (self.root / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        if version and not VERSION_NAME.fullmatch(version):
            raise LakeMissing(f"{self.root / 'CURRENT'} names no version ({version[:20]!r})")
        return version or None

    def require_version(self) -> str:
        version = self.current_version()
        if version is None:
            raise LakeMissing(
                f"No data loaded in {self.data_dir}: run `python -m tierflow demo` or "
                "`python -m tierflow ingest DELIVERY_DIR` first.")
        return version

    def path(self, version: str) -> Path:
        return self.versions / version

    def table_files(self, version: str) -> dict[str, list[Path]]:
        """Logical table name → the parquet files that make it up in this version."""
        base = self.path(version)
        files = {name: [base / f"{name}.parquet"] for name in TABLE_FILES}
        files[SNAPSHOTS] = sorted((base / SNAPSHOTS).glob("*.parquet"))
        return files

    def index_file(self, version: str, table: str) -> Path | None:
        """The indexed DuckDB copy of a table (`INDEXED_TABLES`) in a version, if written
        (versions loaded by an older tierflow have none until a rebuild)."""
        path = self.path(version) / f"{table}.duckdb"
        return path if table in INDEXED_TABLES and path.exists() else None

    def manifest(self, version: str | None = None) -> dict:
        version = version or self.current_version()
        if version is None:
            return {}
        return json.loads((self.path(version) / "manifest.json").read_text())

    def read_table(self, name: str, version: str | None = None) -> pl.DataFrame | None:
        """A whole small table of a version (dimensions, ledger), or None before any load."""
        version = version or self.current_version()
        if version is None:
            return None
        return pl.read_parquet(self.path(version) / f"{name}.parquet")

    def month_loads(self, version: str | None = None) -> list[dict]:
        """Each month of a version with the load that last delivered it: month, load, at,
        by, delivery (a month only re-derived by a rebuild keeps its delivering load)."""
        loads = self.manifest(version).get("loads", [])
        out = []
        for month in self.months(version):
            load = next((x for x in reversed(loads) if month in x.get("months", [])), {})
            out.append({"month": month, "load": load.get("load"), "at": load.get("at"),
                        "by": load.get("by"), "delivery": load.get("delivery")})
        return out

    def events(self) -> list[dict]:
        """Rollbacks, oldest first (loads are in each version's manifest)."""
        path = self.root / "events.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    def months(self, version: str | None = None) -> list[str]:
        version = version or self.current_version()
        if version is None:
            return []
        return sorted(p.stem for p in (self.path(version) / SNAPSHOTS).glob("*.parquet")
                      if p.stem != "empty")

    # -- writing -------------------------------------------------------------------------
    @contextmanager
    def _exclusive(self):
        """One writer (load or rollback) at a time; readers never lock."""
        self.versions.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def rollback(self, by: str, expected: str | None = None) -> str:
        """Make the version before the current one's last load current again; return it.
        With `expected`, only if that is still the version in use (checked under the lock,
        so a load landing meanwhile is never the one undone by mistake)."""
        with self._exclusive():
            current = self.require_version()
            if expected is not None and current != expected:
                raise RollbackImpossible(
                    f"the data changed since this page was drawn (version {current} is in "
                    f"use now, not {expected}): look at the history again before rolling back")
            loads = self.manifest(current).get("loads", [])
            if len(loads) < 2:
                raise RollbackImpossible("the data in use comes from the first load: there is "
                                         "nothing earlier to go back to")
            target = loads[-2]["load"]
            if not (self.path(target) / "manifest.json").exists():
                raise RollbackImpossible(f"version {target} is no longer kept (the last "
                                         f"{KEEP_VERSIONS} versions are)")
            self.set_current(target)
            event = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "by": by,
                     "event": "rollback", "from": current, "to": target,
                     "undone": loads[-1].get("delivery")}
            with (self.root / "events.jsonl").open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(event, ensure_ascii=False) + "\n")
        return target

    @contextmanager
    def writer(self, created_by: str):
        """A new version to fill; committed (made current) only if the block succeeds."""
        with self._exclusive():
            for stale in self.versions.glob(".tmp-*"):
                shutil.rmtree(stale)
            writer = VersionWriter(self, created_by)
            try:
                yield writer
            except BaseException:
                shutil.rmtree(writer.dir, ignore_errors=True)
                raise
            writer.commit()
            self._prune()

    def set_current(self, version: str) -> None:
        tmp = self.root / "CURRENT.tmp"
        tmp.write_text(version + "\n")
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / "CURRENT")

    def _prune(self) -> None:
        """Keep the versions the current one's last loads made (what rollback goes back to)
        and the two newest (readers may still be on them); remove versions a rollback left
        behind and older ones."""
        chain = [load["load"] for load in self.manifest().get("loads", [])]
        newest = sorted(p.name for p in self.versions.glob("v*") if p.is_dir())[-2:]
        keep = {*chain[-KEEP_VERSIONS:], *newest, self.current_version()}
        for old in self.versions.glob("v*"):
            if old.is_dir() and old.name not in keep:
                shutil.rmtree(old)


class VersionWriter:
    """Collects the files of one new version; unchanged files are linked from the base."""

    def __init__(self, lake: Lake, created_by: str):
        self.lake = lake
        self.created_by = created_by
        self.base = lake.current_version()
        existing = [int(p.name[1:]) for p in lake.versions.glob("v*") if p.name[1:].isdigit()]
        self.version = f"v{max(existing, default=0) + 1:06d}"
        self.dir = lake.versions / f".tmp-{self.version}"
        (self.dir / SNAPSHOTS).mkdir(parents=True)
        (self.dir / "load").mkdir()

    @property
    def base_dir(self) -> Path | None:
        return self.lake.path(self.base) if self.base else None

    def write_table(self, name: str, df: pl.DataFrame) -> None:
        write_parquet(df, self.dir / f"{name}.parquet")
        if name in INDEXED_TABLES:
            self._write_index(name, *INDEXED_TABLES[name])

    def _write_index(self, name: str, key: str, fetched: tuple[str, ...]) -> None:
        """`<name>.duckdb`: the table just written, in key order, with an index on `key`.

        The `fetched` columns are stored uncompressed: a lookup fetches each key's row alone,
        and from a compressed column every fetch decodes a whole vector. The others stay
        compressed for the scans that filter on them. At 7M clients: a page's 1,000 clients
        in 26 ms (82 ms all compressed), one branch's clients counted in 14 ms (48 ms all
        uncompressed); a 1.0 GB file (550 MB all compressed)."""
        con = load_connection(self.dir / "work-index")
        rows = {"rows": str(self.dir / f"{name}.parquet")}
        try:
            con.execute("attach $path as indexed", {"path": str(self.dir / f"{name}.duckdb")})
            # the column types are DuckDB's names for those of a file this load wrote
            columns = ", ".join(
                f"{quoted(column)} {kind}"
                + (" using compression uncompressed" if column in fetched else "")
                for column, kind in con.execute(
                    "select column_name, column_type "
                    "from (describe select * from read_parquet($rows))", rows).fetchall())
            con.execute(f"create table indexed.{quoted(name)} ({columns})")
            con.execute(f"insert into indexed.{quoted(name)} "
                        f"select * from read_parquet($rows) order by {quoted(key)}", rows)
            con.execute(f"create index {quoted(name + '_by_' + key)} "
                        f"on indexed.{quoted(name)} ({quoted(key)})")
            con.execute("detach indexed")
        finally:
            con.close()
            shutil.rmtree(self.dir / "work-index", ignore_errors=True)

    def write_month(self, month: str, df: pl.DataFrame) -> None:
        write_parquet(df, self.month_path(month))

    def month_path(self, month: str) -> Path:
        """Where this version's file of a month goes (a month written by a DuckDB COPY)."""
        return self.dir / SNAPSHOTS / f"{month}.parquet"

    def write_empty_snapshots(self, schema: pl.Schema) -> None:
        """Keep the snapshots table readable (with its columns) before any month is loaded."""
        write_parquet(pl.DataFrame(schema=schema), self.dir / SNAPSHOTS / "empty.parquet")

    def write_load_file(self, name: str, data: bytes) -> Path:
        path = self.dir / "load" / name
        path.write_bytes(data)
        return path

    def commit(self) -> None:
        self._link_unchanged()
        months = sorted(p.stem for p in (self.dir / SNAPSHOTS).glob("*.parquet")
                        if p.stem != "empty")
        if months:
            (self.dir / SNAPSHOTS / "empty.parquet").unlink(missing_ok=True)
        manifest = self.manifest_base()
        manifest.update(version=self.version, months=months)
        (self.dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False,
                                                           indent=2))
        final = self.lake.versions / self.version
        os.replace(self.dir, final)
        self.lake.set_current(self.version)

    def manifest_base(self) -> dict:
        """The manifest being built: the base version's, to be extended by the load."""
        if not hasattr(self, "_manifest"):
            self._manifest = (self.lake.manifest(self.base) if self.base
                              else {"loads": []})
            self._manifest["created_at"] = datetime.now(timezone.utc).isoformat(
                timespec="seconds")
            self._manifest["created_by"] = self.created_by
        return self._manifest

    def _link_unchanged(self) -> None:
        base = self.base_dir
        if base is None:
            return
        for src in [*base.glob("*.parquet"), *base.glob("*.duckdb"),
                    *(base / SNAPSHOTS).glob("*.parquet")]:
            dst = self.dir / src.relative_to(base)
            if not dst.exists() and src.stem != "empty":
                os.link(src, dst)
