"""Every named query stays portable SQL (a later step runs the same files on Spark): it
translates to Spark SQL with sqlglot in strict mode, avoids the constructs known to break or
change meaning there, and guards every division (x / 0 is NULL in DuckDB, an error on Spark)."""

import pytest
import sqlglot
from sqlglot import ErrorLevel, exp

from tierflow.queries import catalog

QUERIES = sorted(catalog())
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


def portability_problems(sql: str) -> list[str]:
    """What in a query would break or change meaning on Spark."""
    parsed = sqlglot.parse_one(sql, read="duckdb")
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
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    found += ["x::type (write cast(x as type))"] if "::" in body else []
    return found + unguarded_divisions(parsed)


def unguarded_divisions(parsed: exp.Expression) -> list[str]:
    """Divisions whose denominator is not a count, a literal, or tested in the CASE around."""
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
])
def test_the_checks_catch_what_they_name(sql, problem):
    assert problem in portability_problems(sql)


def test_a_guarded_division_passes():
    assert portability_problems(
        "select case when b = 0 then null else cast(a as double) / b end from t") == []
