"""Every named query stays portable SQL (the Spark engine runs the same files, see
tests/test_spark_equivalence.py): it translates to Spark SQL with sqlglot in strict mode, avoids
the constructs known to break or change meaning there, and guards every division (x / 0 is
NULL in DuckDB, an error on Spark). The checks are the engine's own
(tierflow/spark_engine.py), so a query that fails them also refuses to run on Spark."""

import pytest
import sqlglot
from sqlglot import ErrorLevel

from tierflow.queries import catalog
from tierflow.spark_engine import portability_problems

QUERIES = sorted(catalog())


@pytest.mark.parametrize("name", QUERIES)
def test_translates_to_spark_in_strict_mode(name):
    sqlglot.transpile(catalog()[name].sql, read="duckdb", write="spark",
                      unsupported_level=ErrorLevel.RAISE)


@pytest.mark.parametrize("name", QUERIES)
def test_query_is_portable(name):
    assert portability_problems(catalog()[name].sql) == []


@pytest.mark.parametrize("sql,problem", [
    ("select * from read_parquet('/data/x.parquet')", "a table function or file path"),
    ("select * from t pivot (sum(a) for b in ('x'))", "PIVOT / UNPIVOT"),
    ("select * replace (a + 1 as a) from t", "* REPLACE / EXCLUDE"),
    ("select a from t union by name select a from u", "UNION BY NAME"),
    ("select count(distinct a) over (partition by b) from t", "count(DISTINCT) OVER"),
    ("select quantile_cont(a, 0.5) from t", "quantile(x, p)"),
    ("select dayofweek(d) from t", "dayofweek (Sunday = 0 in DuckDB, 1 on Spark)"),
    ("select a::int from t", "x::type (write cast(x as type))"),
    ("select a / b from t", "unguarded division a / b"),
    ("select sum(a) filter (where b) from t", "aggregate FILTER (WHERE ...)"),
    ("select date_diff('month', a, b) from t", "date_diff in months, quarters or years"),
])
def test_the_checks_catch_what_they_name(sql, problem):
    assert problem in portability_problems(sql)


def test_a_guarded_division_passes():
    assert portability_problems(
        "select case when b = 0 then null else cast(a as double) / b end from t") == []
