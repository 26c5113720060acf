"""The dashboard's headline queries on the literal fixture of test_queries.py.

    client  branch  2024-01            2024-02             2024-03
    C01     B1      50,000.00 gold     49,999.99 mass      50,000.00 gold
    C02     B1      49,999.99 mass     50,000.00 gold      50,000.00 gold
    C03     B1      2,000,000 diamond  closed (0)          -
    C04     B1      -                  600,000 platinum    600,000 platinum
    C05     B2      6,000,000 private  7,000,000 private   7,000,000 private
    C06     B1      1,000 mass         -                   1,500 mass
    C07     B2      100 mass           100 mass            100 mass

Cases (all on client C01): K1 B1 retained 2024-02-10, K2 B1 lost 2024-02-20, K3 B1 pending,
K4 B2 retained 2024-03-05 (no amounts), K5 B1 retained 2024-03-15.
"""

import polars as pl
import pytest

from conftest import rows
from test_queries import CASES, CLIENTS, SNAPSHOTS


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    from conftest import BRANCHES, write_delivery
    from tierflow.ingest import ingest
    from tierflow.access import EVERYTHING
    from tierflow.queries import QueryRunner
    from tierflow.settings import Settings

    tmp = tmp_path_factory.mktemp("dashboard")
    delivery = write_delivery(tmp / "delivery", {"branches": BRANCHES, "clients": CLIENTS,
                                                 "snapshots": SNAPSHOTS,
                                                 "retention_cases": CASES})
    ingest(delivery, tmp / "data", Settings())
    return QueryRunner(tmp / "data").for_scope(EVERYTHING)


def test_monthly_totals(runner):
    out = runner.run("monthly_totals")
    assert list(out.columns) == ["month", "clients", "total_aum", "vip_clients", "upgrades",
                                 "downgrades", "net_upgrades"]
    assert rows(out) == [
        # 50,000 + 49,999.99 + 2,000,000 + 6,000,000 + 1,000 + 100; VIP C01 C03 C05
        ("2024-01", 6, 8_101_099.99, 3, 0, 0, 0),
        # C03 closed, C06 gone, C04 new; C02 up, C01 down
        ("2024-02", 5, 7_700_099.99, 3, 1, 1, 0),
        # C06 back (not a move: absent in Feb); C01 up
        ("2024-03", 6, 7_701_600.00, 4, 1, 0, 1),
    ]


def test_monthly_totals_one_branch(runner):
    assert rows(runner.run("monthly_totals", {"branch_id": ["B2"]})) == [
        ("2024-01", 2, 6_000_100.0, 1, 0, 0, 0),
        ("2024-02", 2, 7_000_100.0, 1, 0, 0, 0),
        ("2024-03", 2, 7_000_100.0, 1, 0, 0, 0),
    ]


def test_branch_league(runner):
    out = runner.run("branch_league", {"month": "2024-02"})
    assert list(out.columns)[:4] == ["branch_id", "branch_name", "clients", "aum"]
    b1, b2 = out.to_dict("records")
    assert rows(out[["branch_id", "branch_name", "clients", "aum", "aum_prev_month"]]) == [
        ("B1", "静安支行", 3, 699_999.99, 2_100_999.99),
        ("B2", "徐汇支行", 2, 7_000_100.0, 6_000_100.0),
    ]
    assert b1["growth_mom"] == pytest.approx(699_999.99 / 2_100_999.99 - 1, abs=1e-12)
    assert b2["growth_mom"] == pytest.approx(7_000_100 / 6_000_100 - 1, abs=1e-12)
    assert b1["aum_year_ago"] != b1["aum_year_ago"] and b1["growth_yoy"] != b1["growth_yoy"]  # NaN
    mix = ["vip_clients", "vip_share", "mass_clients", "gold_clients", "platinum_clients",
           "diamond_clients", "private_clients"]
    assert rows(out[mix]) == [(2, round(2 / 3, 9), 1, 1, 1, 0, 0), (1, 0.5, 1, 0, 0, 0, 1)]
    # B1's January VIPs C01 (now mass) and C03 (closed) both churned; B2's C05 stayed.
    # Cases closed from 2023-03 to 2024-02: B1 K1 retained, K2 lost; none for B2.
    churn = ["vip_at_risk", "vip_churned", "vip_churn_rate", "closed_cases_12m",
             "success_rate_12m"]
    assert rows(out[churn]) == [(2, 2, 1.0, 2, 0.5), (1, 0, 0.0, 0, None)]


def test_branch_league_month_without_data_is_empty(runner):
    assert runner.run("branch_league", {"month": "2023-01"}).empty


def test_branch_aum_trend_and_branches(runner):
    assert rows(runner.run("branch_aum_trend", {"branch_id": "B1"})) == [
        ("B1", "2024-01", 4, 2_100_999.99),
        ("B1", "2024-02", 3, 699_999.99),
        ("B1", "2024-03", 4, 700_000.00 + 1_500),
    ]
    assert rows(runner.run("branches")) == [("B1", "静安支行", None, None),
                                            ("B2", "徐汇支行", None, None)]


def test_client_list_whole_month(runner):
    out = runner.run("client_list", {"month": "2024-02"})
    cols = ["client_id", "branch_id", "tier", "aum", "aum_prev", "aum_change", "status",
            "open_cases"]
    assert rows(out[cols]) == [
        ("C05", "B2", "private", 7_000_000.0, 6_000_000.0, 1_000_000.0, "normal", 0),
        ("C04", "B1", "platinum", 600_000.0, 0.0, 600_000.0, "normal", 0),   # new
        ("C02", "B1", "gold", 50_000.0, 49_999.99, 0.01, "normal", 0),
        ("C01", "B1", "mass", 49_999.99, 50_000.0, -0.01, "normal", 1),      # K3 pending
        ("C07", "B2", "mass", 100.0, 100.0, 0.0, "normal", 0),
        ("C03", "B1", None, 0.0, 2_000_000.0, -2_000_000.0, "closed", 0),
    ]
    assert out["name"].tolist()[0] == "客户C05" and out["branch_name"].tolist()[0] == "徐汇支行"


def test_client_list_month_before_of_every_kind_of_row(build_lake):
    """aum_prev for each way a client can stand in two months: the neighbour column of a
    client present in both, the month before's present row of a client closed now, the
    month before's closed row (with what was left in it) of a client back now, nothing for a
    new client, and the present row of a client closed in both months."""
    from conftest import client, snap

    runner = build_lake({
        "clients": [client(c) for c in ("S1", "S2", "S3", "S4", "S5")],
        "snapshots": [
            snap("2024-01", "S1", "1000"), snap("2024-01", "S2", "2000"),
            snap("2024-01", "S3", "3000"), snap("2024-01", "S5", "5000"),
            snap("2024-02", "S1", "1100"), snap("2024-02", "S2", "20", status="closed"),
            snap("2024-02", "S3", "120.50", status="closed"), snap("2024-02", "S5", "5500"),
            snap("2024-03", "S1", "1200"), snap("2024-03", "S2", "0", status="closed"),
            snap("2024-03", "S3", "800"), snap("2024-03", "S4", "400"),
            snap("2024-03", "S5", "30", status="closed"),
        ]})
    out = runner.run("client_list", {"month": "2024-03"})
    assert rows(out[["client_id", "status", "aum", "aum_prev", "aum_change"]]) == [
        ("S1", "normal", 1_200.0, 1_100.0, 100.0),    # present in both: prev_aum
        ("S3", "normal", 800.0, 120.5, 679.5),        # back: February's closed row
        ("S4", "normal", 400.0, 0.0, 400.0),          # new
        ("S5", "closed", 30.0, 5_500.0, -5_470.0),    # closed now: February's present row
        ("S2", "closed", 0.0, 20.0, -20.0),           # closed in both: February's closed row
    ]
    assert rows(out[["list_clients", "list_aum", "list_aum_change"]].drop_duplicates()) == [
        (5, 2_430.0, -4_310.5)]


def test_client_list_page_with_the_totals_of_every_row(runner):
    whole = runner.run("client_list", {"month": "2024-02"})
    # every row carries the list's totals: 6 clients, their AUM and change summed
    assert rows(whole[["list_clients", "list_aum", "list_aum_change"]].drop_duplicates()) == [
        (6, 7_700_099.99, -400_000.0)]
    page = runner.run("client_list", {"month": "2024-02", "page_rows": 2})
    assert page["client_id"].tolist() == ["C05", "C04"]
    assert rows(page[["list_clients", "list_aum", "list_aum_change"]]) == [
        (6, 7_700_099.99, -400_000.0)] * 2
    filtered = runner.run("client_list", {"month": "2024-02", "branch_id": "B2", "page_rows": 1})
    assert rows(filtered[["client_id", "list_clients", "list_aum", "list_aum_change"]]) == [
        ("C05", 2, 7_000_100.0, 1_000_000.0)]


def test_client_details_of_given_clients_or_of_every_client(runner):
    out = runner.run("client_details", {"client_id": ["C05", "C01", "C99"]})
    assert rows(out[["client_id", "name", "phone", "segment"]]) == [
        ("C01", "客户C01", None, None), ("C05", "客户C05", None, None)]  # C99: no such client
    assert runner.run("client_details")["client_id"].tolist() == [
        "C01", "C02", "C03", "C04", "C05", "C06", "C07"]
    # more ids than the index answers (a download's list): matched by a semi-join, the same
    unknown = [f"X{n:05d}" for n in range(3_000)]
    many = runner.run("client_details", {"client_id": [*unknown, "C05", "C01", "C99"]})
    assert many.equals(out)


def test_clients_are_read_through_their_index_by_client_id(runner):
    """The load writes clients.duckdb (the clients, indexed by client_id, with the columns a
    lookup fetches uncompressed: it fetches rows one by one) and the runner's clients view
    reads it: a lookup of a few clients is an index scan, not a scan of all."""
    import duckdb

    from tierflow.lake import INDEXED_TABLES
    from tierflow.queries import LOOKUP, catalog, view_name

    fetched = INDEXED_TABLES["clients"][1]
    assert fetched == tuple(catalog()[LOOKUP].columns)

    version = runner.lake.require_version()
    index = runner.lake.index_file(version, "clients")
    with duckdb.connect(str(index), read_only=True) as con:
        assert con.execute("select index_name from duckdb_indexes()").fetchall() == [
            ("clients_by_client_id",)]
        indexed = con.execute("select * from clients").fetchall()
        stored = dict(con.execute(
            "select column_name, string_agg(distinct compression, ',' order by compression) "
            "from pragma_storage_info('clients') where segment_type <> 'VALIDITY' "
            "group by column_name").fetchall())
        # a column holding one value throughout (the fixture's empty phones) is 'Constant',
        # which needs no decoding either; branch_id, not fetched, is compressed for scans
        assert {column: stored[column] in ("Uncompressed", "Constant") for column in fetched
                } == dict.fromkeys(fetched, True)
        assert stored["branch_id"] not in ("Uncompressed", "Constant")
    parquet = duckdb.sql("select * from read_parquet($path) order by client_id",
                         params={"path": str(index.with_suffix(".parquet"))}).fetchall()
    assert indexed == parquet and len(parquet) == 7
    runner.run("client_details", {"client_id": ["C01"]})  # the version's views are made
    plan = runner.runner.engine._con.execute(
        f"explain analyze select * from {view_name(version, 'clients')} "
        "where list_contains($ids, client_id)", {"ids": ["C01", "C05"]}).fetchall()[0][1]
    assert "Index Scan" in plan


def test_client_list_names_are_looked_up_in_the_order_of_its_columns(runner):
    from tierflow import queries

    by_id = runner.run("client_list", {"month": "2024-02"})
    assert list(by_id.columns) == list(queries.catalog()["client_list"].columns)
    assert list(by_id.columns[:4]) == ["client_id", "name", "phone", "id_number"]
    assert by_id["name"].tolist() == ["客户C05", "客户C04", "客户C02", "客户C01", "客户C07",
                                      "客户C03"]
    # an empty list still has every column
    empty = runner.run("client_list", {"month": "2024-02", "branch_id": "B9"})
    assert empty.empty and list(empty.columns) == list(by_id.columns)


def test_client_list_first_page_of_every_present_client_comes_from_the_heads(tmp_path,
                                                                           monkeypatch):
    """client_list_head keeps LIST_HEAD_ROWS clients per month, branch and tier (1 here, so
    that groups are cut); a first page of every present client is the top of the chosen
    groups' heads, with their totals, and equals the same rows of the whole list."""
    import duckdb

    from conftest import BRANCHES, write_delivery
    from tierflow import cubes
    from tierflow.access import EVERYTHING
    from tierflow.ingest import ingest
    from tierflow.queries import QueryRunner
    from tierflow.settings import Settings

    monkeypatch.setattr(cubes, "LIST_HEAD_ROWS", 1)
    delivery = write_delivery(tmp_path / "delivery", {
        "branches": BRANCHES, "clients": CLIENTS, "snapshots": SNAPSHOTS,
        "retention_cases": CASES})
    ingest(delivery, tmp_path / "data", Settings())
    version = QueryRunner(tmp_path / "data").lake.require_version()
    heads_file = tmp_path / "data" / "lake" / "versions" / version / "client_list_head.parquet"
    # 2024-03: B1 gold holds C01 and C02 at 50,000 each (C02 cut: the later id; C01's change
    # 0.01), B1 platinum C04, B1 mass C06 (back after February: 1,500 up from 0), B2 C05, C07
    assert [(b, t, c, float(a), n, float(s), float(d)) for b, t, c, a, n, s, d in
            duckdb.sql("select branch_id, tier, client_id, aum, group_clients, group_aum, "
                       "group_aum_change from read_parquet($f) where month_index = $march "
                       "order by all",
                       params={"f": str(heads_file), "march": 2024 * 12 + 2}).fetchall()] == [
        ("B1", "gold", "C01", 50_000.0, 2, 100_000.0, 0.01),
        ("B1", "mass", "C06", 1_500.0, 1, 1_500.0, 1_500.0),
        ("B1", "platinum", "C04", 600_000.0, 1, 600_000.0, 0.0),
        ("B2", "mass", "C07", 100.0, 1, 100.0, 0.0),
        ("B2", "private", "C05", 7_000_000.0, 1, 7_000_000.0, 0.0),
    ]
    runner = QueryRunner(tmp_path / "data").for_scope(EVERYTHING)
    present = {"month": "2024-03", "status": ["normal", "dormant"]}
    cols = ["client_id", "aum", "list_clients", "list_aum", "list_aum_change"]
    for narrowing, expected in [
            ({}, ("C05", 7_000_000.0, 6, 7_701_600.0, 1_500.01)),
            ({"branch_id": ["B1"]}, ("C04", 600_000.0, 4, 701_500.0, 1_500.01)),
            ({"tier": ["gold"]}, ("C01", 50_000.0, 2, 100_000.0, 0.01)),
            ({"branch_id": ["B2"], "tier": ["mass", "gold"]}, ("C07", 100.0, 1, 100.0, 0.0))]:
        page = runner.run("client_list", {**present, **narrowing, "page_rows": 1})
        assert rows(page[cols]) == [expected], narrowing
        whole = runner.run("client_list", {**present, **narrowing})  # every row: the scan
        assert page.equals(whole.head(1)), narrowing

    # The page is read from the heads: with their AUM doubled on disk, a page within a head
    # shows it; a longer page (or any other filter) scans the month.
    doubled = pl.read_parquet(heads_file).with_columns(pl.col("aum") * 2)
    doubled.write_parquet(heads_file)
    runner = QueryRunner(tmp_path / "data").for_scope(EVERYTHING)
    assert runner.run("client_list", {**present, "page_rows": 1})["aum"].tolist() == [
        14_000_000.0]
    assert runner.run("client_list", {**present, "page_rows": 2})["aum"].tolist() == [
        7_000_000.0, 600_000.0]
    assert runner.run("client_list", {**present, "page_rows": 1, "aum_min": 1})[
        "aum"].tolist() == [7_000_000.0]


@pytest.mark.parametrize("params,expected", [
    ({"tier": ["gold", "mass"], "has_open_case": "yes"}, ["C01"]),
    ({"has_open_case": "no", "branch_id": "B2"}, ["C05", "C07"]),
    ({"change_max": 0}, ["C01", "C07", "C03"]),
    ({"change_min": 0, "aum_max": 50_000}, ["C02", "C07"]),
    ({"aum_min": 50_000}, ["C05", "C04", "C02"]),
    ({"status": "closed"}, ["C03"]),
    ({"search": "C0"}, ["C05", "C04", "C02", "C01", "C07", "C03"]),
    ({"search": "%"}, []),               # a wildcard is a character here
    ({"search": "' OR 1=1 --"}, []),
])
def test_client_list_filters(runner, params, expected):
    out = runner.run("client_list", {"month": "2024-02", **params})
    assert out["client_id"].tolist() == expected


def test_client_history_and_cases(runner):
    assert rows(runner.run("client_history", {"client_id": "C01"})[
        ["month", "tier", "aum", "status"]]) == [
        ("2024-01", "gold", 50_000.0, "normal"),
        ("2024-02", "mass", 49_999.99, "normal"),
        ("2024-03", "gold", 50_000.0, "normal"),
    ]
    cases = runner.run("client_cases", {"client_id": "C01"})
    assert cases["case_id"].tolist() == ["K1", "K2", "K3", "K4", "K5"]  # same opened_on: by id
    assert rows(cases[["outcome", "aum_at_stake"]])[2:4] == [("pending", 70_000.0), ("retained", None)]


@pytest.mark.parametrize("month", ["2024-02", "2024-03"])
def test_branch_league_churn_and_success_agree_with_their_own_queries(runner, month):
    league = runner.run("branch_league", {"month": month}).set_index("branch_id")
    for branch in league.index:
        churn = runner.run("churn_monthly", {"branch_id": [branch],
                                             "churn_definition": "vip_to_mass"})
        churn = churn.set_index("month").loc[month]
        assert league.loc[branch, "vip_at_risk"] == churn["at_risk"]
        assert league.loc[branch, "vip_churned"] == churn["churned"]
        success = runner.run("retention_success", {"branch_id": [branch],
                                                   "from_date": "2023-04-01",
                                                   "to_date": f"{month}-28"})
        assert league.loc[branch, "closed_cases_12m"] == success["closed_cases"].sum()
