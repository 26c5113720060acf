"""Named queries: the catalog of ``queries/*.sql`` and the one runner that executes them.

Every figure tierflow shows or exports comes from here. A query file starts with a header
comment that declares its purpose, grain, parameters and columns; the runner binds only those
parameters (as DuckDB ``$name`` values, never pasted into the SQL) and fills the ones backed by
a setting from the settings in force. Queries read logical tables (``snapshots``, ``clients``,
...); which parquet files make them up is decided here, once, from the lake's current version.

The engine that executes them is a setting (`engine`): DuckDB here, embedded; or Apache Spark
(tierflow/spark_engine.py, imported only then), which is handed the same scoped query text and
translates it. Everything else (catalog, parameters, scope, version pinning, the checks that
the lake matches the settings) is this module's, whatever the engine.

DuckDB: one connection per process and data folder, a cursor per call (a connection is not
thread-safe; Streamlit runs sessions in threads). The connection can read nothing outside the
lake, and its configuration is locked before any query runs. This module imports no Streamlit.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import warnings
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tierflow.access import MASKS, Scope
from tierflow.cubes import ACROSS_BRANCHES, BY_CLIENT, CUBES
from tierflow.cubes import params as cube_params
from tierflow.lake import Lake, quoted
from tierflow.settings import Settings, load_settings

if TYPE_CHECKING:
    from tierflow.spark_engine import SparkEngine

QUERY_DIR = Path(__file__).resolve().parent.parent / "queries"
# The query that gives the columns a list query looks up by client_id (its `Looked up:` line).
LOOKUP = "client_details"
# The most ids LOOKUP answers from the clients index (DuckDB's index_scan_max_count, as its
# header says): more are a download's
LOOKUP_PAGE = 2_048
# DuckDBEngine.execute hands a page's rows over as Arrow from a DB-API result, which DuckDB
# warns holds the rows twice: chosen there, for the few rows a page has. Filtered for the
# process, since queries run in several threads at once and catch_warnings is not thread-safe.
warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning)
PARAM_TYPES = ("text", "textlist", "month", "date", "int", "number")
_PARAM_LINE = re.compile(
    r"^(?P<name>\w+)\s+(?P<type>\w+),\s*(?P<mode>required|optional|setting\s+(?P<setting>\w+))"
    r"\s+(?P<doc>.+)$")


class QueryError(ValueError):
    """A named query was asked for wrongly: unknown name, parameter or value."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    mode: str  # required | optional | setting
    setting: str | None
    doc: str


@dataclass(frozen=True)
class NamedQuery:
    name: str
    sql: str
    purpose: str
    grain: str
    parameters: tuple[Parameter, ...]
    columns: dict[str, str]
    looked_up: tuple[str, ...] = ()  # columns the runner adds from LOOKUP by client_id


def parse_header(name: str, sql: str) -> NamedQuery:
    """Read the header comment: `Purpose:`, `Grain:`, `Parameters:` and `Columns:` sections,
    and an optional `Looked up:` line (columns of LOOKUP the runner adds to each row by its
    client_id, after the query ran).

    In Parameters and Columns an entry starts three spaces in (`--   name ...`); a line
    indented further continues the entry above it.
    """
    sections: dict[str, list[str]] = {}
    current = None
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        body = line[2:]
        text = body.strip()
        head = re.match(r"^(Purpose|Grain|Parameters|Columns|Looked up):\s*(.*)$", text)
        if head:
            current = head.group(1)
            sections[current] = [head.group(2)] if head.group(2) else []
        elif current and text:
            continues = len(body) - len(body.lstrip()) > 3 and sections[current]
            if continues and current in ("Parameters", "Columns"):
                sections[current][-1] += " " + text
            else:
                sections[current].append(text)
    missing = [s for s in ("Purpose", "Grain", "Parameters", "Columns") if s not in sections]
    if missing:
        raise QueryError(f"queries/{name}.sql: header lacks {', '.join(missing)}")
    params = []
    for line in sections["Parameters"]:
        if line.lower() == "none":
            continue
        m = _PARAM_LINE.match(line)
        if m is None or m["type"] not in PARAM_TYPES:
            raise QueryError(f"queries/{name}.sql: cannot read parameter line {line!r}")
        params.append(Parameter(m["name"], m["type"], m["mode"].split()[0], m["setting"],
                                m["doc"]))
    columns = dict((col, doc.strip()) for col, _, doc in
                   (line.partition(" ") for line in sections["Columns"]))
    looked_up = tuple(c.strip() for c in " ".join(sections.get("Looked up", [])).split(",")
                      if c.strip())
    unlisted = [c for c in looked_up if c not in columns]
    if unlisted:
        raise QueryError(f"queries/{name}.sql: looked-up columns {', '.join(unlisted)} are not "
                         "among its Columns")
    return NamedQuery(name, sql, " ".join(sections["Purpose"]), " ".join(sections["Grain"]),
                      tuple(params), columns, looked_up)


@cache
def catalog(query_dir: Path = QUERY_DIR) -> dict[str, NamedQuery]:
    """Every named query, by name (the file name without `.sql`)."""
    return {p.stem: parse_header(p.stem, p.read_text(encoding="utf-8"))
            for p in sorted(query_dir.glob("*.sql"))}


def _convert(param: Parameter, value):
    """A parameter value from a page or the command line, as the type the SQL expects."""
    if value is None or value == "" or (isinstance(value, (list, tuple)) and not value):
        return None
    try:
        if param.type == "text":
            return str(value)
        if param.type == "textlist":
            # From a page: a list; from the command line: "B01,B02". Empty means no filter.
            items = value.split(",") if isinstance(value, str) else value
            return [str(v).strip() for v in items if str(v).strip()] or None
        if param.type == "month":
            text = str(value)
            if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
                raise ValueError("expected YYYY-MM")
            return text
        if param.type == "date":
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        if param.type == "int":
            return int(value)
        if param.type == "number":
            return float(value)
    except ValueError as exc:
        raise QueryError(f"parameter {param.name}: {value!r} is not a {param.type} ({exc})") \
            from None
    raise QueryError(f"parameter {param.name}: unknown type {param.type}")


def bind(query: NamedQuery, given: dict, settings: Settings) -> dict:
    """The full parameter dict for a query: given values, setting defaults, NULL for the rest."""
    declared = {p.name: p for p in query.parameters}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise QueryError(f"query {query.name} has no parameter {', '.join(unknown)} "
                         f"(it takes: {', '.join(declared) or 'none'})")
    bound = {}
    for p in query.parameters:
        value = _convert(p, given.get(p.name))
        if value is None and p.mode == "setting":
            value = _convert(p, getattr(settings, p.setting))
        if value is None and p.mode == "required":
            raise QueryError(f"query {query.name} needs parameter {p.name} ({p.doc})")
        bound[p.name] = value
    return bound


# How each logical table is narrowed to a user's scope (tierflow/access.py): the filter for a
# scope of some branches, and the one for a manager's own clients. Rows are a branch's when the
# row says so (a snapshot row by that month's branch); warnings and maturities have no branch
# and follow their client, as do a manager's rows: `clients` here is the narrowed clients
# table, defined first. A table not listed here cannot be read in a narrowed scope at all.
_IN_BRANCHES = "list_contains($scope_branches, branch_id)"
_CLIENT_IN_SCOPE = "client_id in (select client_id from clients)"
SCOPE_FILTERS: dict[str, tuple[str | None, str | None]] = {
    "branches": (_IN_BRANCHES, "branch_id in (select branch_id from clients)"),
    "managers": (_IN_BRANCHES, "manager_id = $scope_manager"),
    "clients": (_IN_BRANCHES, "manager_id = $scope_manager"),
    "snapshots": (_IN_BRANCHES, _CLIENT_IN_SCOPE),
    "client_months": (_IN_BRANCHES, _CLIENT_IN_SCOPE),  # snapshot rows in client order
    "retention_cases": (_IN_BRANCHES, _CLIENT_IN_SCOPE),
    "tier_entries": (_IN_BRANCHES, _CLIENT_IN_SCOPE),
    "computed_warnings": (_IN_BRANCHES, _CLIENT_IN_SCOPE),  # by the month's branch, as snapshots
    "dormant_months": (_IN_BRANCHES, _CLIENT_IN_SCOPE),  # by the month's branch, as snapshots
    "reactivations": (_IN_BRANCHES, _CLIENT_IN_SCOPE),  # by the branch where it was dormant
    "warnings": (_CLIENT_IN_SCOPE, _CLIENT_IN_SCOPE),
    "maturities": (_CLIENT_IN_SCOPE, _CLIENT_IN_SCOPE),
    "tiers": (None, None),  # the tier bands: no client data
    # the aggregates (tierflow/cubes.py) by branch; in a manager's scope they are computed
    # from the manager's rows, as they were built (see scoped_sql)
    "tier_cube": (_IN_BRANCHES, None),
    "cohort_cube": (_IN_BRANCHES, None),
    "cohort_group_cube": (_IN_BRANCHES, None),  # by the cohort's branch, as cohort_cube
    "dormancy_cube": (_IN_BRANCHES, None),  # by the month's branch, as dormant_months
    "book_cube": (_IN_BRANCHES, None),  # by the month's branch, as snapshots
    "warning_cube": (_IN_BRANCHES, None),  # by the warning's branch, as the warnings
    "unassigned_rows": (_IN_BRANCHES, _CLIENT_IN_SCOPE),  # snapshot rows, as snapshots
    "case_aum": (_IN_BRANCHES, _CLIENT_IN_SCOPE),  # by the case's branch, as retention_cases
    # by the warning's branch (the month's row's, else the clients file's), as the computed
    # warnings by theirs
    "delivered_warning_rows": (_IN_BRANCHES, _CLIENT_IN_SCOPE),
    "warning_answers": (_IN_BRANCHES, _CLIENT_IN_SCOPE),  # by the warning's branch, as those
    # by the month's branch, as snapshots; its heads are the top of all of a group's clients,
    # so a manager's scope computes it from the manager's rows, as the aggregates
    "client_list_head": (_IN_BRANCHES, None),
    # a row spans two branches (the client's in either month) or ranks all branches:
    # computed from the scope's rows in any narrowed scope (cubes.ACROSS_BRANCHES)
    "transition_cube": (None, None),
    "concentration_cube": (None, None),
    "tier_moves": (None, None),  # the month's branch and the clients file's, as the list
    "todo_rows": (None, None),  # the same
}


def view_name(version: str, table: str) -> str:
    """The view of one table of one lake version (version names are checked: v + 6 digits)."""
    return f"{version}_{table}"


def _scope_filters(table: str, scope: Scope) -> list[str]:
    if table not in SCOPE_FILTERS:
        raise QueryError(f"table {table} has no scope rule (tierflow/queries.py)")
    branch_filter, manager_filter = SCOPE_FILTERS[table]
    return [f for f, on in ((branch_filter, scope.branches is not None),
                            (manager_filter, scope.manager_id is not None)) if on and f]


def scoped_sql(query: NamedQuery, scope: Scope, columns: dict[str, list[str]],
               version: str) -> str:
    """The query reading one lake version within a scope: every logical table it reads is
    defined in front of the query's own common table expressions as that version's table,
    narrowed to the scope and with personal data masked when the scope says so. The query
    text itself never sees a row of another version or outside the scope.

    `columns` holds each table's columns (the masked `clients` lists them one by one)."""
    body = "\n".join(line for line in query.sql.splitlines() if not line.startswith("--"))
    read = [table for table in columns if re.search(rf"\b{table}\b", body)]
    # An aggregate holds no client, so a manager's scope cannot be cut out of it: it is
    # computed from the tables it was built from, narrowed like any other.
    # Nor can a branch's scope be cut out of one whose rows span two branches.
    derived = [t for t in read if t in CUBES and t not in BY_CLIENT
               and (scope.manager_id is not None
                    or (t in ACROSS_BRANCHES and scope.branches is not None))]
    read = sorted(set(read) - set(derived) | {s for t in derived for s in CUBES[t][1]})
    wheres = {table: _scope_filters(table, scope) for table in read}
    if any("from clients" in f for w in wheres.values() for f in w) and "clients" not in wheres:
        wheres["clients"] = _scope_filters("clients", scope)
    defined = []
    for table in sorted(wheres, key=lambda t: t != "clients"):  # clients first: others use it
        select = ", ".join(f"{MASKS[c]} as {c}" if c in MASKS and not scope.personal_data
                           else c for c in columns[table])
        where = " where " + " and ".join(wheres[table]) if wheres[table] else ""
        defined.append(f"{table} as not materialized "
                       f"(select {select} from {view_name(version, table)}{where})")
    defined += [f"{table} as not materialized ({CUBES[table][0]})" for table in derived]
    lead = re.match(r"\s*with\s+", body, flags=re.IGNORECASE)
    if lead:
        return "with " + ",\n".join(defined) + ",\n" + body[lead.end():]
    return "with " + ",\n".join(defined) + "\n" + body


class DuckDBEngine:
    """The embedded engine: one DuckDB connection that reads nothing outside the lake."""

    def __init__(self, lake_root: Path, memory_limit: str = "4GB", threads: int = 2):
        con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit})
        # Order matters: allowed_directories must be set while external access is still on.
        con.execute("SET allowed_directories = $dirs", {"dirs": [str(lake_root) + "/"]})
        con.execute("SET enable_external_access = false")
        con.execute("SET parquet_metadata_cache = true")
        con.execute("SET lock_configuration = true")
        self._con = con

    def create_view(self, name: str, files: list[Path], index: Path | None = None) -> list[str]:
        """A view `name` over parquet files, or over the same table's indexed DuckDB copy
        (`index`, attached read-only: lookups of a few keys use its index); its columns."""
        if index is None:
            view = self._con.read_parquet([str(f) for f in files])
            view.create_view(name, replace=True)
            return list(view.columns)
        attached = quoted(f"{name}_indexed")
        self._con.execute(f"attach if not exists $path as {attached} (read_only)",
                          {"path": str(index)})
        self._con.execute(f"create or replace view {quoted(name)} as "
                          f"select * from {attached}.{quoted(index.stem)}")
        return [c[0] for c in self._con.execute(f"select * from {quoted(name)} limit 0")
                .description]

    def execute(self, query: NamedQuery, sql: str, params: dict,
                many_rows: bool = False) -> pa.Table:
        """Run a scoped query text (DuckDB SQL) with its bound parameters.

        A relation (`sql()`) spends 10-50 ms more than `execute()` on each question (at 5M
        clients; 25 ms on a month with no rows): the cost of a parameterised query's text, not
        of its rows. `execute()` then holds the rows a second time while handing them over,
        which a page or a figure does not notice and a download does (a month's 5.9M rows:
        3.7 GB at the peak against 2.4 GB). So `many_rows` come through the relation."""
        cursor = self._con.cursor()
        try:
            if many_rows:
                return cursor.sql(sql, params=params).to_arrow_table()
            return cursor.execute(sql, params).to_arrow_table()
        finally:
            cursor.close()


def engine_for(settings: Settings, lake: Lake):
    """The engine the settings choose (pyspark is imported only when they choose Spark)."""
    if settings.engine == "spark":
        from tierflow.spark_engine import SparkEngine

        return SparkEngine(settings.spark_master)
    return DuckDBEngine(lake.root)


class QueryRunner:
    """Runs named queries over the current lake version of one data folder, each within the
    asking user's scope, on the engine the settings choose (or the one given)."""

    def __init__(self, data_dir: Path, engine: DuckDBEngine | SparkEngine | None = None):
        self.lake = Lake(data_dir)
        self.settings = load_settings(data_dir)
        self._lock = threading.Lock()
        self._columns: dict[str, dict[str, list[str]]] = {}  # version → table → columns
        self.lake.root.mkdir(parents=True, exist_ok=True)
        self.engine = engine or engine_for(self.settings, self.lake)

    def _tables(self, version: str) -> dict[str, list[str]]:
        """Views over one lake version's parquet files (made the first time it is asked
        for) and their columns. Versions are never changed once written, so a reader that
        started on a version finishes on it even if a load switches CURRENT meanwhile."""
        if version in self._columns:
            return self._columns[version]
        with self._lock:
            if version not in self._columns:
                baked = self.lake.manifest(version).get("settings")
                if baked != self.settings.lake_fingerprint:
                    raise QueryError(
                        f"The tier or churn-floor settings in {self.lake.data_dir}/settings.toml "
                        "differ from "
                        f"those the lake was built with ({baked}); run "
                        "`python -m tierflow rebuild` to derive the tiers again.")
                warned = self.lake.manifest(version).get("warning_settings")
                if warned != self.settings.warning_fingerprint:
                    raise QueryError(
                        f"The warning settings in {self.lake.data_dir}/settings.toml differ "
                        f"from those the lake's warnings were computed with ({warned}); run "
                        "`python -m tierflow rebuild` to compute them again.")
                columns = {}
                for table, files in self.lake.table_files(version).items():
                    if not all(f.exists() for f in files):  # derived tables added since
                        raise QueryError(
                            f"Lake version {version} in {self.lake.data_dir} has no {table} "
                            "table (it was loaded by an older tierflow); run "
                            "`python -m tierflow rebuild` to derive it.")
                    columns[table] = self.engine.create_view(
                        view_name(version, table), files, self.lake.index_file(version, table))
                self._columns[version] = columns
        return self._columns[version]

    def run_arrow(self, name: str, params: dict | None = None, *, scope: Scope,
                  version: str | None = None) -> pa.Table:
        """A named query's rows as the user with `scope` may see them, from one lake
        version (default: the current one)."""
        query = catalog().get(name)
        if query is None:
            raise QueryError(f"no query named {name!r}; known: {', '.join(catalog())}")
        bound = bind(query, params or {}, self.settings)
        version = version or self.lake.require_version()
        sql = scoped_sql(query, scope, self._tables(version), version)
        bound |= {k: v for k, v in (("scope_branches", list(scope.branches or ())),
                                    ("scope_manager", scope.manager_id),
                                    *cube_params(self.settings, scope.narrowed).items())
                             if f"${k}" in sql}
        # a download's rows (a list asked for every row), or its clients' names (every
        # client, or more than a page's names)
        ids = bound["client_id"] if name == LOOKUP else ()
        many_rows = bound.get("page_rows", 0) is None or ids is None or len(ids) > LOOKUP_PAGE
        table = self.engine.execute(query, sql, bound, many_rows)
        if query.looked_up:
            table = self._look_up(table, query, scope, version)
        return table

    def _look_up(self, table: pa.Table, query: NamedQuery, scope: Scope,
                 version: str) -> pa.Table:
        """The query's rows with its looked-up columns added from LOOKUP by client_id, in
        the order of its Columns. LOOKUP is asked for the rows' clients: a page's few from
        the clients index, a download's many by a semi-join (its header says how)."""
        ids = pc.unique(table.column("client_id").drop_null())
        # The rows are the scope's own already, so their clients are looked up without the
        # scope's branch filter: in front of the clients index it made DuckDB scan every
        # client (at 7M clients, a branch head's 650 names in 2.0 s against 0.09 s). The
        # manager's filter and the masking stay.
        details = self.run_arrow(LOOKUP, {"client_id": ids.to_pylist()},
                                 scope=replace(scope, branches=None), version=version)
        at = pc.index_in(table.column("client_id"), value_set=details.column("client_id"))
        found = details.take(at)
        missing = [c for c in query.looked_up if c not in found.column_names]
        if missing:
            raise QueryError(f"query {query.name} looks up {', '.join(missing)}, which "
                             f"queries/{LOOKUP}.sql does not return")
        return pa.table({c: found.column(c) if c in query.looked_up else table.column(c)
                         for c in query.columns})

    def run(self, name: str, params: dict | None = None, *, scope: Scope,
            version: str | None = None) -> pd.DataFrame:
        """A named query's rows as a pandas frame (money as float, for charts and tables)."""
        return money_as_float(self.run_arrow(name, params, scope=scope,
                                             version=version)).to_pandas()

    def for_scope(self, scope: Scope) -> ScopedRunner:
        return ScopedRunner(self, scope)


@dataclass(frozen=True)
class ScopedRunner:
    """A runner with the scope fixed (and the version, when pinned): what the command line,
    tests and benchmarks hold."""
    runner: QueryRunner
    scope: Scope
    version: str | None = None

    def at_version(self, version: str) -> ScopedRunner:
        return ScopedRunner(self.runner, self.scope, version)

    @property
    def lake(self) -> Lake:
        return self.runner.lake

    @property
    def settings(self) -> Settings:
        return self.runner.settings

    def run_arrow(self, name: str, params: dict | None = None) -> pa.Table:
        return self.runner.run_arrow(name, params, scope=self.scope, version=self.version)

    def run(self, name: str, params: dict | None = None) -> pd.DataFrame:
        return self.runner.run(name, params, scope=self.scope, version=self.version)


def money_as_float(table: pa.Table) -> pa.Table:
    """Decimal columns (exact sums in SQL) as float64 for display."""
    for i, f in enumerate(table.schema):
        if pa.types.is_decimal(f.type):
            table = table.set_column(i, f.name, pc.cast(table.column(i), pa.float64()))
    return table


_runners: dict[Path, QueryRunner] = {}
_runners_lock = threading.Lock()


def runner_for(data_dir: Path) -> QueryRunner:
    """The process's one runner (and DuckDB connection) for a data folder."""
    key = Path(data_dir).resolve()
    with _runners_lock:
        if key not in _runners:
            _runners[key] = QueryRunner(key)
        return _runners[key]
