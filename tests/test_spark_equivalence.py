"""Every named query gives the same rows on Apache Spark as on DuckDB (tierflow/spark_engine.py).

One small demo lake, one local Spark session for the whole run; each query in `catalog()` runs
on both engines with the parameters the pages pass, for everyone and (a few queries) within a
branch head's, a manager's and a masked analyst's scope. Same column names, the same kind of
type per column, the same rows after sorting: money to the cent, rates to 1e-9. The DuckDB side
must return rows, so a comparison of two empty answers cannot pass for an equal one.

Selected with `-m spark`; part of the default run.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from tierflow.access import EVERYTHING, Scope
from tierflow.demo import generate_delivery
from tierflow.ingest import ingest
from tierflow.queries import DuckDBEngine, QueryRunner, catalog, runner_for
from tierflow.settings import Settings, load_settings
from tierflow.spark_engine import SparkEngine, SparkTranslationError, spark_sql

pytestmark = [
    pytest.mark.spark,
    # pyspark checks the pandas version on import; results here come through Arrow, not pandas
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

QUERIES = sorted(catalog())
# Scoped runs are slow on Spark (a second or so a query on two cores), so a few queries that
# between them read every scoped table, the masked columns and the aggregates.
SCOPED_QUERIES = ("client_list", "monthly_totals", "cohort_retention", "cohort_breakdown",
                  "tier_transition", "wealth_concentration", "warnings", "retention_ledger",
                  "todo_birthdays", "managers")
# Extra parameter sets the pages pass besides their defaults: list filters bound as arrays,
# each grouping of the queries that take a dimension, a strftime month and a day's warnings.
EXTRA_CASES = {
    "client_list": lambda p: {"branch_id": [p["branch"]], "tier": ["gold", "platinum"],
                              "aum_min": 100_000, "search": "0"},
    "warning_coverage": lambda p: {"dimension": "branch", "month": p["month"]},
    "retention_by_dimension": lambda p: {"dimension": "closed_month"},
    "warnings": lambda p: {"raised_on": p["raised_on"], "rule": ["maturity", "dormancy"]},
    "cohort_breakdown": lambda p: {"dimension": "segment"},
    # months 1 (the pages' default) or 3 apart read transition_cube; 4 apart join the two
    # months' rows
    "tier_transition": lambda p: {"from_month": p["quarter_before"]},
    "aum_bridge": lambda p: {"from_month": p["earlier_month"], "group_by": "branch"},
    "migration_by_group": lambda p: {"group_by": "manager"},
    # one branch reads concentration_cube's buckets, as all branches do; two rank the rows
    "wealth_concentration": lambda p: {"month": p["month"], "branch_id": [p["branch"]]},
    # the month's last week reads todo_rows; the default window (every month) the rows
    "todo_maturities": lambda p: {"from_date": p["last_week"], "to_date": p["to_date"]},
    "todo_birthdays": lambda p: {"from_date": p["last_week"], "to_date": p["to_date"]},
    "todo_new_clients": lambda p: {"from_date": p["last_week"], "to_date": p["to_date"]},
}


@pytest.fixture(scope="session")
def spark():
    """One local Spark for the whole run: two cores, small shuffles, no web UI, a JIT that
    starts fast (C1 only) and the serial collector (about half the run time on two cores)."""
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("tierflow-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.driver.extraJavaOptions",
                       "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("spark-lake")
    delivery = generate_delivery(root / "delivery", clients=600, months=14, branches=4, seed=3)
    report = ingest(delivery, root / "data", Settings())
    assert not report.rejected, report.summary()
    return root / "data"


@pytest.fixture(scope="module")
def duck(lake) -> QueryRunner:
    return QueryRunner(lake)


@pytest.fixture(scope="module")
def on_spark(lake, spark) -> QueryRunner:
    return QueryRunner(lake, SparkEngine(session=spark))


@pytest.fixture(scope="module")
def picks(duck) -> dict:
    """Values from the lake that make every query return rows."""
    months = duck.lake.months()
    everything = duck.for_scope(EVERYTHING)
    managers = everything.run_arrow("managers").to_pylist()
    case_client = everything.run_arrow("retention_ledger").column("client_id")[0].as_py()
    last = dt.date.fromisoformat(months[-1] + "-01")
    month_end = (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(1)
    return {"month": months[-1], "from_month": months[-2], "to_month": months[-1],
            "quarter_before": months[-4], "earlier_month": months[-5],
            "cohort_month": months[0], "months_since": 3, "client_id": case_client,
            "from_date": months[0] + "-01", "to_date": month_end.isoformat(),
            "last_week": (month_end - dt.timedelta(days=6)).isoformat(),
            "raised_on": month_end, "dimension": "channel",
            "branch": managers[0]["branch_id"], "manager": managers[0]["manager_id"]}


def page_params(name: str, picks: dict) -> dict:
    """The required parameters, as a page passes them (dimension-taking queries their first
    grouping). A new required parameter name fails here until it gets a value above."""
    query = catalog()[name]
    params = {p.name: picks[p.name] for p in query.parameters if p.mode == "required"}
    if name == "warning_coverage":
        params["dimension"] = "rule"
    return params


def kind(t: pa.DataType) -> str:
    """A column's type as far as the engines must agree. Sums of whole numbers are
    decimal(38, 0) on DuckDB and bigint on Spark, and integer widths differ: both are integer.
    Money is decimal on both (precision differs: 38 on DuckDB, 28 or so on Spark)."""
    if pa.types.is_decimal(t):
        return "integer" if t.scale == 0 else "decimal"
    for name, test in (("integer", pa.types.is_integer), ("float", pa.types.is_floating),
                       ("string", pa.types.is_string), ("string", pa.types.is_large_string),
                       ("date", pa.types.is_date), ("bool", pa.types.is_boolean),
                       ("null", pa.types.is_null), ("list", pa.types.is_list)):
        if test(t):
            return name
    return str(t)


def _sort_key(row: tuple) -> tuple:
    def cell(v):
        if v is None:
            return (0, 0.0, "")
        if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
            return (1, round(float(v), 6), "")
        return (2, 0.0, str(v))
    return tuple(cell(v) for v in row)


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, Decimal) or isinstance(b, Decimal):  # money: to the cent
        return a is not None and b is not None and \
            Decimal(a).quantize(Decimal("0.01")) == Decimal(b).quantize(Decimal("0.01"))
    return a == b


def assert_same_answer(name: str, duck: pa.Table, spark: pa.Table) -> None:
    assert spark.column_names == duck.column_names, name
    kinds = [(f.name, kind(f.type), kind(g.type)) for f, g in zip(duck.schema, spark.schema)]
    assert [k for k in kinds if k[1] != k[2] and "null" not in k[1:]] == [], name
    assert spark.num_rows == duck.num_rows, name
    expected = sorted((tuple(r.values()) for r in duck.to_pylist()), key=_sort_key)
    got = sorted((tuple(r.values()) for r in spark.to_pylist()), key=_sort_key)
    for want, have in zip(expected, got):
        differ = [(col, a, b) for col, a, b in zip(duck.column_names, want, have)
                  if not _same(a, b)]
        assert not differ, f"{name}: row {want} differs on Spark: {differ}"


@pytest.mark.parametrize("name", QUERIES)
def test_every_query_gives_the_same_rows_on_spark(name, duck, on_spark, picks):
    params = page_params(name, picks)
    expected = duck.run_arrow(name, params, scope=EVERYTHING)
    assert expected.num_rows > 0, f"{name} returns nothing on the test lake: the comparison " \
                                  "would prove nothing (give it parameters that find rows)"
    assert_same_answer(name, expected, on_spark.run_arrow(name, params, scope=EVERYTHING))


@pytest.mark.parametrize("name", sorted(EXTRA_CASES))
def test_filters_and_groupings_give_the_same_rows_on_spark(name, duck, on_spark, picks):
    params = {**page_params(name, picks), **EXTRA_CASES[name](picks)}
    expected = duck.run_arrow(name, params, scope=EVERYTHING)
    assert expected.num_rows > 0, f"{name} {params} returns nothing on the test lake"
    assert_same_answer(name, expected, on_spark.run_arrow(name, params, scope=EVERYTHING))


@pytest.mark.parametrize("role", ["branch_head", "manager", "masked_analyst"])
@pytest.mark.parametrize("name", SCOPED_QUERIES)
def test_scoped_queries_give_the_same_rows_on_spark(name, role, duck, on_spark, picks):
    scope = {"branch_head": Scope((picks["branch"],), None, True),
             "manager": Scope((picks["branch"],), picks["manager"], True),
             "masked_analyst": Scope(None, None, False)}[role]
    params = page_params(name, picks)
    expected = duck.run_arrow(name, params, scope=scope)
    assert expected.num_rows > 0, f"{name} returns nothing for the {role} on the test lake"
    if role == "masked_analyst" and "name" in expected.column_names:
        assert all(v is None or v.endswith("*") for v in expected.column("name").to_pylist())
    assert_same_answer(name, expected, on_spark.run_arrow(name, params, scope=scope))


@pytest.mark.parametrize("name", ["client_list", "warnings", "dormant_clients",
                                  "reactivated_clients", "retention_ledger"])
def test_a_page_of_a_list_is_the_same_on_spark(name, duck, on_spark, picks):
    """The pages fetch only the first rows of a long list (page_rows) with the totals of the
    whole list: the same rows in the same order, and the same totals."""
    params = {**page_params(name, picks), "page_rows": 3}
    expected = duck.run_arrow(name, params, scope=EVERYTHING)
    assert expected.num_rows == 3, f"{name} {params}: fewer than a page on the test lake"
    got = on_spark.run_arrow(name, params, scope=EVERYTHING)
    assert_same_answer(name, expected, got)
    first = expected.column_names[0]
    assert got.column(first).to_pylist() == expected.column(first).to_pylist(), name


@pytest.mark.parametrize("sql,reason", [
    # sqlglot's strict mode refuses to drop the third argument
    ("select arg_max(a, b, 2) as top from t", "cannot be translated to Spark SQL"),
    # sqlglot would translate these, but they mean something else (or nothing) on Spark
    ("select * from read_parquet('/x/*.parquet')", "a table function or file path"),
    ("select a / b as r from t", "unguarded division"),
])
def test_a_query_spark_cannot_run_as_on_duckdb_fails_naming_it(sql, reason):
    with pytest.raises(SparkTranslationError, match=f"query tier_distribution .*{reason}"):
        spark_sql(catalog()["tier_distribution"], sql, {})


def test_missing_list_parameters_are_typed_nulls():
    query = catalog()["client_list"]
    text = spark_sql(query, "select * from t where $tier is null or list_contains($tier, x)",
                     {"tier": None})
    assert "CAST(:tier AS ARRAY<STRING>)" in text and "$" not in text


def test_the_engine_setting_puts_the_app_on_spark(lake, tmp_path, spark, picks):
    """`engine = "spark"` in the data folder's settings: the runner the app, the command line
    and the exports share (runner_for) runs on Spark, with the same answers."""
    data_dir = tmp_path / "data"
    shutil.copytree(lake, data_dir)
    (data_dir / "settings.toml").write_text('[engine]\nengine = "spark"\n'
                                            'spark_master = "local[2]"\n')
    assert load_settings(data_dir).spark_master == "local[2]"
    runner = runner_for(data_dir)
    assert isinstance(runner.engine, SparkEngine)
    assert isinstance(QueryRunner(lake).engine, DuckDBEngine)
    params = {"month": picks["month"]}
    expected = QueryRunner(lake).run_arrow("tier_distribution", params, scope=EVERYTHING)
    assert expected.num_rows > 0
    assert_same_answer("tier_distribution", expected,
                       runner.run_arrow("tier_distribution", params, scope=EVERYTHING))


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="engine.engine must be one of"):
        Settings(engine="oracle")
