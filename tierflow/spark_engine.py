"""Apache Spark as the engine of the named queries (setting `engine = "spark"`).

The same ``queries/*.sql`` files, not a second implementation: the runner (tierflow/queries.py)
builds each query's scoped text exactly as for DuckDB (the user's scope and masks in front of
the query), and this engine translates the whole text from DuckDB SQL to Spark SQL with sqlglot
in strict mode. A construct sqlglot cannot carry over, or one known to break or change meaning
on Spark (`portability_problems`, which tests/test_portability.py also runs over every query
file), raises `SparkTranslationError` naming the query: never a silently different query.
Parameters stay bound: `$name` becomes Spark's `:name`, and the values go to
`spark.sql(text, args=...)`.

The lake is read where it lies: each table of a lake version is a temporary view over the same
parquet files DuckDB reads, so the driver and the executors must see the data folder at the
same path (always so with `local[N]`; on a cluster, a shared file system). Results come back
as Arrow tables with the query's column names; money stays decimal, as on DuckDB.

pyspark is imported here only, so DuckDB users never need it (requirements-spark.txt).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import sqlglot
from sqlglot import ErrorLevel, exp
from sqlglot.errors import SqlglotError

from tierflow.queries import NamedQuery

# A parameter bound to NULL has no type on Spark (NULL typed values are refused by
# array_contains, for one), so a missing value is cast to the type its header declares.
SPARK_TYPES = {"text": "string", "month": "string", "textlist": "array<string>",
               "date": "date", "int": "int", "number": "double"}


# Constructs that break on Spark or silently mean something else there.
FORBIDDEN = {
    exp.Pivot: "PIVOT / UNPIVOT",
    exp.Columns: "COLUMNS(...)",
    exp.DayOfWeek: "dayofweek (Sunday = 0 in DuckDB, 1 on Spark)",
    exp.DayOfWeekIso: "isodow",
    exp.Dayname: "dayname",
    exp.GenerateSeries: "generate_series / range",
    exp.Qualify: "QUALIFY",
    exp.Filter: "aggregate FILTER (WHERE ...)",
    exp.ReadCSV: "read_csv (a file path)",
}
# date_diff counts crossed boundaries on DuckDB and whole periods on Spark
_CALENDAR_UNITS = {"month", "months", "quarter", "quarters", "year", "years"}


class SparkTranslationError(RuntimeError):
    """A named query that cannot run on Spark with the meaning it has on DuckDB."""


def portability_problems(sql: str) -> list[str]:
    """What in a DuckDB query text would break or change meaning on Spark."""
    return _problems(sqlglot.parse_one(sql, read="duckdb"), sql)


def _problems(parsed: exp.Expression, sql: str) -> list[str]:
    found = [label for node, label in FORBIDDEN.items() if list(parsed.find_all(node))]
    found += ["* REPLACE / EXCLUDE" for star in parsed.find_all(exp.Star)
              if star.args.get("replace") or star.args.get("except")]
    found += ["UNION BY NAME" for union in parsed.find_all(exp.Union) if union.args.get("by_name")]
    found += ["ASOF join" for join in parsed.find_all(exp.Join)
              if (join.args.get("kind") or "").upper() == "ASOF"]
    found += ["count(DISTINCT) OVER" for window in parsed.find_all(exp.Window)
              if isinstance(window.this, exp.Count) and window.this.find(exp.Distinct)]
    found += ["quantile(x, p)" for _ in parsed.find_all(exp.PercentileCont, exp.Quantile)]
    found += ["a table function or file path" for t in parsed.find_all(exp.Table)
              if not isinstance(t.this, exp.Identifier)]
    found += ["date_diff in months, quarters or years" for diff in parsed.find_all(exp.DateDiff)
              if diff.unit and diff.unit.name.lower() in _CALENDAR_UNITS]
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    found += ["x::type (write cast(x as type))"] if "::" in body else []
    return found + unguarded_divisions(parsed)


def unguarded_divisions(parsed: exp.Expression) -> list[str]:
    """Divisions whose denominator is not a count, a literal, or tested in the CASE around
    (x / 0 is NULL on DuckDB, an error on Spark)."""
    unguarded = []
    for div in parsed.find_all(exp.Div):
        denominator = div.expression
        while isinstance(denominator, (exp.Cast, exp.Paren)):
            denominator = denominator.this
        if isinstance(denominator, (exp.Count, exp.Literal)):
            continue
        case = div.find_ancestor(exp.Case)
        tests = [when.args["this"].sql() for when in case.args.get("ifs", [])] if case else []
        if not any(denominator.sql() in test for test in tests):
            unguarded.append(f"unguarded division {div.sql()}")
    return unguarded


def spark_sql(query: NamedQuery, sql: str, params: dict) -> str:
    """The scoped DuckDB text `sql` of `query` as Spark SQL, parameters still bound."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
        problems = _problems(tree, sql)
        if problems:
            raise SparkTranslationError(
                f"query {query.name} (queries/{query.name}.sql) would not mean the same on "
                f"Spark: {'; '.join(problems)}")
        for cte in tree.find_all(exp.CTE):
            # DuckDB's `as not materialized` is a planning hint Spark's grammar lacks (Spark
            # inlines such definitions anyway).
            cte.set("materialized", None)
        declared = {p.name: p.type for p in query.parameters}
        for placeholder in list(tree.find_all(exp.Placeholder)):
            name = placeholder.name
            if params.get(name) is None and name in declared:
                placeholder.replace(exp.cast(placeholder.copy(), SPARK_TYPES[declared[name]],
                                             dialect="spark"))
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise SparkTranslationError(
            f"query {query.name} (queries/{query.name}.sql) cannot be translated to Spark SQL: "
            f"{exc}") from exc


class SparkEngine:
    """Named queries on a SparkSession: `master` is `local[N]`, a cluster's master URL or a
    Spark Connect address (`sc://...`); or `session`, a SparkSession to start from (the tests
    share one). Each engine works in a session of its own, so the temporary views of two data
    folders in one process never meet."""

    def __init__(self, master: str = "local[2]", session=None):
        if session is None:
            from pyspark.sql import SparkSession

            builder = SparkSession.builder.appName("tierflow")
            if master.startswith("sc://"):
                builder = builder.remote(master)
            else:
                builder = builder.master(master)
                if master.startswith("local"):
                    # embedded in the app's process: no web UI listening beside it
                    builder = builder.config("spark.ui.enabled", "false")
            session = builder.getOrCreate()
        self.session = session.newSession()

    def create_view(self, name: str, files: list[Path], index: Path | None = None) -> list[str]:
        """A temporary view `name` over parquet files; its columns (`index`, a table's
        indexed DuckDB copy, is DuckDB's: Spark reads the parquet files)."""
        frame = self.session.read.parquet(*[str(f) for f in files])
        frame.createOrReplaceTempView(name)
        return list(frame.columns)

    def execute(self, query: NamedQuery, sql: str, params: dict,
                many_rows: bool = False) -> pa.Table:
        """Run a scoped query text (DuckDB SQL, translated here) with its bound parameters
        (`many_rows` or not: Spark hands every result over alike)."""
        text = spark_sql(query, sql, params)
        try:
            return self.session.sql(text, args=params).toArrow()
        except Exception as exc:
            exc.add_note(f"tierflow: named query {query.name} on Spark")
            raise
