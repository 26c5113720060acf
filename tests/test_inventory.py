"""Inventory: every named query, setting and contract column is declared, tested and documented."""

import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from tierflow import contract
from tierflow.cubes import params as cube_params
from tierflow.lake import SNAPSHOTS, TABLE_FILES
from tierflow.queries import catalog
from tierflow.settings import Settings, documented_settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
TESTS = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
LOGICAL_TABLES = {*TABLE_FILES, SNAPSHOTS}
QUERIES = sorted(catalog())


def test_there_are_named_queries():
    assert {"tier_distribution", "tier_transition", "cohort_retention",
            "retention_success"} <= set(QUERIES)


@pytest.mark.parametrize("name", QUERIES)
def test_query_binds_exactly_its_declared_parameters(name):
    query = catalog()[name]
    used = set(re.findall(r"\$(\w+)", query.sql))
    # besides its own, a query may read what the cubes were built with (cubes.params), which
    # the runner binds: a caller cannot change those
    assert used - set(cube_params(Settings())) == {p.name for p in query.parameters}


@pytest.mark.parametrize("name", QUERIES)
def test_query_reads_only_logical_tables_and_declares_its_columns(name):
    query = catalog()[name]
    tree = sqlglot.parse_one(query.sql, read="duckdb")
    ctes = {c.alias for c in tree.find_all(exp.CTE)}
    tables = {t.name for t in tree.find_all(exp.Table)} - ctes
    assert tables <= LOGICAL_TABLES, f"{name} reads {tables - LOGICAL_TABLES}"
    assert "read_" not in query.sql.lower() and "'/" not in query.sql
    assert [s.alias_or_name for s in tree.selects] == ["*"]  # ends in `select * from final`
    assert query.purpose and query.grain and query.columns


@pytest.mark.parametrize("name", QUERIES)
def test_query_is_tested_and_documented(name):
    assert f'"{name}"' in TESTS, f"no test runs {name}"
    assert f"`{name}`" in README, f"README does not list {name}"


@pytest.mark.parametrize("section,name,default,doc", documented_settings())
def test_every_setting_is_in_the_readme(section, name, default, doc):
    assert f"`{name}`" in README, f"README does not document setting {section}.{name}"


@pytest.mark.parametrize("table", list(contract.TABLES.values()), ids=lambda t: t.name)
def test_contract_tables_are_in_the_readme(table):
    assert f"`{table.name}`" in README


def test_every_label_has_both_languages():
    from tierflow.i18n import LANGS, labels

    for key, text in labels().items():
        assert set(text) == set(LANGS), f"label {key} needs exactly {sorted(LANGS)}"
        assert all(text.values()), f"label {key} has an empty translation"


@pytest.mark.parametrize("name", QUERIES)
def test_every_column_a_query_returns_has_a_header_in_both_languages(name):
    from tierflow.i18n import labels

    missing = [c for c in catalog()[name].columns if f"col_{c}" not in labels()]
    assert not missing, f"{name}: no col_ label for {missing} in tierflow/labels/"
