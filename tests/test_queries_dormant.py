"""Dormancy and reactivation queries on literal rows, against output rows computed by hand.

Queries: dormancy_trend, dormant_clients, reactivated_clients, reactivation_depth,
reactivation_survival, over the tables the load works out (tierflow/dormancy.py). Default
settings: dormant = status dormant, or txn_count = 0 in the month and the 5 months before it
(dormancy_months 6).

Months m1 = 2024-01 ... m15 = 2025-03. Per client: branch, constant AUM, and per month the
transactions ("0" = a row with txn_count 0, "-" = no row, "x" = a closed row, "n" = a row
without txn_count, "d" = txn_count 0 and status dormant):

    client branch  AUM      m1 m2 m3 m4 m5 m6 m7 m8 m9 m10 m11 m12 m13 m14 m15
    D      B1      100,000  3  0  0  0  0  0  0  2  1  1   x   -   -   -   -
    E      B2       20,000  0  0  0  0  0  0  0  0  0  3   2   1   -   0   0
    G      B1       60,000  0  0  0  -  0  0  0  0  0  0   0   0   0   0   0
    S      B2      500,000  2  1  d  4  2  3  1  1  1  1   1   1   1   1   1
    N      B1       30,000  n  n  n  n  n  n  n  n  -  -   -   -   -   -   -
    H      B1       80,000  4  2  3  0  0  0  0  0  0  5   1   0   0   0   0

    D: quiet m2..m7: dormant in m7 exactly (not in m6, five quiet months); reactivated in m8;
       closed in m11.
    E: quiet from the data's first month: dormant m6..m9; reactivated m10; missing in m13.
    G: a missing month (m4) breaks the count: dormant only from m10 (m5..m10).
    S: dormant by status alone in m3; reactivated m4; active to the end.
    N: no txn_count at all: never dormant.
    H: the hand-made depth client: active m1..m3, quiet m4..m9 (dormant m9), reactivated m10.

Dormant per month: m3 S; m6 E; m7 D, E; m8 E; m9 E, H; m10..m15 G.
Reactivated: m4 S; m8 D; m10 E, H.
"""

from decimal import Decimal

import pytest

from conftest import BRANCHES, client, rows, snap, write_delivery
from tierflow.settings import Settings

MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07",
          "2024-08", "2024-09", "2024-10", "2024-11", "2024-12", "2025-01", "2025-02",
          "2025-03"]
BRANCH = {"D": "B1", "E": "B2", "G": "B1", "S": "B2", "N": "B1", "H": "B1"}
AUM = {"D": "100000", "E": "20000", "G": "60000", "S": "500000", "N": "30000", "H": "80000"}
TXN = {
    "D": "3 0 0 0 0 0 0 2 1 1 x - - - -",
    "E": "0 0 0 0 0 0 0 0 0 3 2 1 - 0 0",
    "G": "0 0 0 - 0 0 0 0 0 0 0 0 0 0 0",
    "S": "2 1 d 4 2 3 1 1 1 1 1 1 1 1 1",
    "N": "n n n n n n n n - - - - - - -",
    "H": "4 2 3 0 0 0 0 0 0 5 1 0 0 0 0",
}
# Turnover, products held and fee income where the depth tests read them (else 0, 1, 0).
ACTIVITY = {
    ("D", 1): ("9000", "2", "60"), ("D", 8): ("12000", "2", "70"),
    ("D", 9): ("3000", "2", "30"), ("D", 10): ("3000", "2", "20"),
    ("S", 1): ("4000", "1", "10"), ("S", 2): ("2000", "1", "10"), ("S", 3): ("0", "1", "5"),
    ("S", 4): ("8000", "2", "30"), ("S", 5): ("2000", "2", "8"), ("S", 6): ("5000", "2", "12"),
    ("H", 1): ("10000", "2", "100"), ("H", 2): ("20000", "2", "50"),
    ("H", 3): ("30000", "3", "150"),
    ("H", 10): ("60000", "3", "200"), ("H", 11): ("6000", "3", "40"),
    ("H", 12): ("0", "4", "30"),
}


def _snapshots() -> list[dict]:
    out = []
    for cid, spec in TXN.items():
        for m, code in enumerate(spec.split(), start=1):
            month = MONTHS[m - 1]
            if code == "-":
                continue
            if code == "x":
                out.append(snap(month, cid, "0", status="closed", txn_count="1"))
                continue
            turnover, products, fee = ACTIVITY.get((cid, m), ("0", "1", "0"))
            out.append(snap(
                month, cid, AUM[cid], status="dormant" if code == "d" else "normal",
                txn_count="" if code == "n" else ("0" if code == "d" else code),
                turnover=turnover, products_held=products, fee_income=fee))
    return out


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    from test_queries_churn import _lake
    return _lake(tmp_path_factory, "dormant", {
        "clients": [client(cid, branch) for cid, branch in BRANCH.items()],
        "snapshots": _snapshots()})


# -- dormancy_trend ---------------------------------------------------------------------------

def _all(month, present, dormant, aum, before, reactivated):
    share = None if present == 0 else round(dormant / present, 9)
    rate = None if before == 0 else round(reactivated / before, 9)
    return (month, None, None, present, dormant, share, Decimal(aum) if aum else Decimal(0),
            before, reactivated, rate)


def test_dormancy_trend_all_branches(runner):
    out = runner.run("dormancy_trend")
    assert list(out.columns) == ["month", "branch_id", "branch_name", "present_clients",
                                 "dormant", "dormant_share", "dormant_aum", "dormant_before",
                                 "reactivated", "reactivation_rate"]
    everyone = runner.run_arrow("dormancy_trend").to_pandas()
    got = [r for r in rows(everyone) if r[1] is None]
    assert got == [
        _all("2024-01", 6, 0, 0, 0, 0),
        _all("2024-02", 6, 0, 0, 0, 0),
        _all("2024-03", 6, 1, 500000, 0, 0),       # S by its status alone
        _all("2024-04", 5, 0, 0, 1, 1),            # G missing; S reactivated
        _all("2024-05", 6, 0, 0, 0, 0),
        _all("2024-06", 6, 1, 20000, 0, 0),        # E: six quiet months from the data's start
        _all("2024-07", 6, 2, 120000, 1, 0),       # D: exactly six quiet months
        _all("2024-08", 6, 1, 20000, 2, 1),        # D reactivated, E still quiet
        _all("2024-09", 5, 2, 100000, 1, 0),       # N gone; H dormant
        _all("2024-10", 5, 1, 60000, 2, 2),        # E and H reactivated; G dormant at last
        _all("2024-11", 4, 1, 60000, 1, 0),        # D closed
        _all("2024-12", 4, 1, 60000, 1, 0),
        _all("2025-01", 3, 1, 60000, 1, 0),        # E missing
        _all("2025-02", 4, 1, 60000, 1, 0),
        _all("2025-03", 4, 1, 60000, 1, 0),
    ]


def test_dormancy_trend_by_branch(runner):
    out = runner.run_arrow("dormancy_trend").to_pandas()
    by_branch = {(r[0], r[1]): r[3:] for r in rows(out) if r[1] is not None}
    # m10: B1 has D, G, H present; G dormant; H (dormant in B1 in m9) reactivated
    assert by_branch[("2024-10", "B1")] == (3, 1, round(1 / 3, 9), Decimal(60000), 1, 1, 1.0)
    assert by_branch[("2024-10", "B2")] == (2, 0, 0.0, Decimal(0), 1, 1, 1.0)
    assert by_branch[("2024-08", "B1")] == (4, 0, 0.0, Decimal(0), 1, 1, 1.0)
    assert by_branch[("2024-08", "B2")] == (2, 1, 0.5, Decimal(20000), 1, 0, 0.0)
    # rows come month by month, all branches first, then by branch
    assert [(r[0], r[1]) for r in rows(out)][:3] == [("2024-01", None), ("2024-01", "B1"),
                                                     ("2024-01", "B2")]
    assert list(out["branch_name"][:3].fillna("")) == ["", "静安支行", "徐汇支行"]


def test_dormancy_trend_branch_filter_keeps_that_branch(runner):
    out = runner.run("dormancy_trend", {"branch_id": ["B2"]})
    assert set(out["branch_id"].dropna()) == {"B2"}
    totals = out[out["branch_id"].isna()].set_index("month")
    assert totals.loc["2024-10", "reactivated"] == 1 and totals.loc["2024-04",
                                                                    "reactivated"] == 1
    assert totals.loc["2024-07", "dormant"] == 1  # E; D is in B1


def _lake_with(tmp_path, tables, settings: Settings):
    """A lake loaded with `settings`, and a runner that reads the data folder's settings.toml
    saying the same (dormancy is worked out at load, with the settings in force then)."""
    from tierflow.access import EVERYTHING
    from tierflow.ingest import ingest
    from tierflow.queries import QueryRunner

    delivery = write_delivery(tmp_path / "delivery", {"branches": BRANCHES, **tables})
    report = ingest(delivery, tmp_path / "data", settings)
    assert not report.rejected and report.set_aside.height == 0, report.summary()
    (tmp_path / "data" / "settings.toml").write_text(
        f"[warnings]\ndormancy_months = {settings.dormancy_months}\n", encoding="utf-8")
    return QueryRunner(tmp_path / "data").for_scope(EVERYTHING)


def test_dormancy_months_is_a_setting(tmp_path):
    five = _lake_with(tmp_path, {"clients": [client(cid, branch) for cid, branch in
                                             BRANCH.items()],
                                 "snapshots": _snapshots()}, Settings(dormancy_months=5))
    out = five.run("dormancy_trend")
    totals = out[out["branch_id"].isna()].set_index("month")
    # with five months D is dormant from m6 and G from m9 (m5..m9)
    assert totals.loc["2024-06", "dormant"] == 2  # D and E
    assert totals.loc["2024-09", "dormant"] == 3  # E, G, H


# -- dormant_clients --------------------------------------------------------------------------

def test_dormant_clients_at_exactly_six_months(runner):
    out = runner.run("dormant_clients", {"month": "2024-07"})
    assert list(out.columns) == ["client_id", "name", "phone", "branch_id", "branch_name",
                                 "manager_id", "manager_name", "tier", "aum", "status",
                                 "quiet_months", "last_txn_date", "list_rows", "list_aum"]
    # quiet_months: months in a row without a transaction (E's since the data began)
    assert [r[:4] + r[7:11] for r in rows(out)] == [
        ("D", "客户D", None, "B1", "gold", 100000.0, "normal", 6),
        ("E", "客户E", None, "B2", "mass", 20000.0, "normal", 7),
    ]
    # one month earlier D has five quiet months: not dormant; E has six from the data's start
    assert runner.run("dormant_clients", {"month": "2024-06"})["client_id"].tolist() == ["E"]


def test_dormant_clients_status_alone_and_gaps(runner):
    status_only = runner.run("dormant_clients", {"month": "2024-03"})
    assert rows(status_only[["client_id", "status", "quiet_months"]]) == [("S", "dormant", 1)]
    # G's missing month breaks its count until m10
    assert runner.run("dormant_clients", {"month": "2024-09"})["client_id"].tolist() == \
        ["H", "E"]
    assert runner.run("dormant_clients", {"month": "2024-10"})["client_id"].tolist() == ["G"]


def test_dormant_clients_filters(runner):
    assert runner.run("dormant_clients", {"month": "2024-07", "branch_id": ["B2"]})[
        "client_id"].tolist() == ["E"]
    assert runner.run("dormant_clients", {"month": "2024-07", "tier": ["gold"]})[
        "client_id"].tolist() == ["D"]
    assert runner.run("dormant_clients", {"month": "2024-02"}).empty


def test_dormant_clients_page_with_the_count_of_every_row(runner):
    """Dormant in m9: H (80,000) and E (20,000); in m7: D (100,000, B1) and E (B2)."""
    whole = runner.run("dormant_clients", {"month": "2024-09"})
    assert rows(whole[["client_id", "list_rows"]]) == [("H", 2), ("E", 2)]
    page = runner.run("dormant_clients", {"month": "2024-09", "page_rows": 1})
    # the page's one row carries the whole list's AUM: 80,000 + 20,000
    assert rows(page[["client_id", "aum", "list_rows", "list_aum"]]) == [
        ("H", 80000.0, 2, 100000.0)]
    assert rows(runner.run("dormant_clients", {"month": "2024-07", "page_rows": 5})[
        ["client_id", "list_rows"]]) == [("D", 2), ("E", 2)]  # a page longer than the list
    b2 = runner.run("dormant_clients", {"month": "2024-07", "branch_id": ["B2"],
                                        "page_rows": 1})
    assert rows(b2[["client_id", "list_rows"]]) == [("E", 1)]


# -- reactivated_clients and reactivation_depth -----------------------------------------------

def test_reactivation_depth_on_a_hand_made_client(runner):
    """H: before = m1..m3 (txn 4, 2, 3; turnover 10k, 20k, 30k; products 2, 2, 3; fees 100,
    50, 150); quiet m4..m9; after = m10..m12 (txn 5, 1, 0; turnover 60k, 6k, 0; products
    3, 3, 4; fees 200, 40, 30). Averages before: 3, 20,000, 7/3, 100; after: 2, 22,000,
    10/3, 90: volume and products up, frequency and fees down: depth 3."""
    out = runner.run("reactivated_clients", {"from_month": "2024-10", "to_month": "2024-10"})
    h = out[out["client_id"] == "H"]
    assert rows(h) == [(
        "H", "客户H", "B1", "静安支行", "2024-10", "2024-04", 80000.0, 3, 3,
        3.0, 2.0, 20000.0, 22000.0, round(7 / 3, 9), round(10 / 3, 9), 100.0, 90.0,
        True, True, True, False, False, 3, 2)]  # 2: H and E reactivated in m10


def test_reactivated_clients_in_a_period(runner):
    out = runner.run("reactivated_clients", {"from_month": "2024-01", "to_month": "2025-03"})
    # by month, then depth descending
    assert rows(out[["client_id", "reactivated_month", "quiet_since", "months_before",
                     "months_after", "depth"]]) == [
        ("S", "2024-04", "2024-03", 2, 3, 5),   # before m1..m2 (no m0): all five up
        ("D", "2024-08", "2024-02", 1, 3, 1),   # before m1 only; nothing up
        ("H", "2024-10", "2024-04", 3, 3, 3),
        ("E", "2024-10", "2024-01", 0, 3, 1),   # quiet since the data began: no comparison
    ]
    s = out[out["client_id"] == "S"].iloc[0]
    assert (s["txn_before"], s["txn_after"], s["turnover_before"], s["turnover_after"]) == \
        (1.5, 3.0, 3000.0, 5000.0)
    assert runner.run("reactivated_clients", {"from_month": "2024-05", "to_month": "2024-09",
                                              "branch_id": ["B2"]}).empty
    assert runner.run("reactivated_clients", {"from_month": "2024-10", "to_month": "2024-10",
                                              "branch_id": ["B2"]})["client_id"].tolist() == \
        ["E"]


def test_reactivated_clients_page_with_the_count_of_every_row(runner):
    """The four reactivations in order: S (m4), D (m8), H (m10, depth 3), E (m10, depth 1);
    a page of three cuts within m10 by depth. In B1: D and H."""
    period = {"from_month": "2024-01", "to_month": "2025-03"}
    whole = runner.run("reactivated_clients", period)
    assert rows(whole[["client_id", "list_rows"]]) == [("S", 4), ("D", 4), ("H", 4), ("E", 4)]
    page = runner.run("reactivated_clients", {**period, "page_rows": 3})
    assert rows(page[["client_id", "reactivated_month", "depth", "list_rows"]]) == [
        ("S", "2024-04", 5, 4), ("D", "2024-08", 1, 4), ("H", "2024-10", 3, 4)]
    b1 = runner.run("reactivated_clients", {**period, "branch_id": ["B1"], "page_rows": 1})
    assert rows(b1[["client_id", "name", "list_rows"]]) == [("D", "客户D", 2)]


def test_reactivation_depth_per_signal(runner):
    out = runner.run("reactivation_depth", {"from_month": "2024-01", "to_month": "2025-03"})
    assert list(out.columns) == ["signal", "reactivated", "compared", "signal_on",
                                 "signal_share", "before_avg", "after_avg"]
    # compared: D, S and H have months before their spell; E has none
    assert rows(out) == [
        ("trading", 4, 4, 4, 1.0, None, None),
        ("volume", 4, 3, 2, round(2 / 3, 9), round(32000 / 3, 9), 11000.0),
        ("products", 4, 3, 2, round(2 / 3, 9), round((2 + 1 + 7 / 3) / 3, 9),
         round((2 + 2 + 10 / 3) / 3, 9)),
        ("frequency", 4, 3, 1, round(1 / 3, 9), round((3 + 1.5 + 3) / 3, 9),
         round((4 / 3 + 3 + 2) / 3, 9)),
        ("fees", 4, 3, 1, round(1 / 3, 9), round((60 + 10 + 100) / 3, 9),
         round((40 + 50 / 3 + 90) / 3, 9)),
    ]


def test_reactivation_depth_without_reactivations(runner):
    out = runner.run("reactivation_depth", {"from_month": "2024-05", "to_month": "2024-07"})
    assert rows(out) == [(s, 0, 0, 0, None, None, None)
                         for s in ("trading", "volume", "products", "frequency", "fees")]


# -- reactivation_survival --------------------------------------------------------------------

def test_reactivation_survival(runner):
    """S (R m4) stays active to m15; D (m8) closes in m11; H (m10) stays active, four quiet
    months are not dormant; E (m10) is missing in m13. Counted at k while R+k <= m15."""
    out = runner.run("reactivation_survival")
    assert list(out.columns) == ["months_since", "reactivated", "still_active", "survival_rate"]
    assert rows(out) == [
        (0, 4, 4, 1.0), (1, 4, 4, 1.0), (2, 4, 4, 1.0),
        (3, 4, 2, 0.5), (4, 4, 2, 0.5), (5, 4, 2, 0.5),
        (6, 2, 1, 0.5), (7, 2, 1, 0.5),
        (8, 1, 1, 1.0), (9, 1, 1, 1.0), (10, 1, 1, 1.0), (11, 1, 1, 1.0),
    ]


def test_reactivation_survival_filters(runner):
    b2 = runner.run("reactivation_survival", {"branch_id": ["B2"]})  # S and E
    assert rows(b2)[:4] == [(0, 2, 2, 1.0), (1, 2, 2, 1.0), (2, 2, 2, 1.0), (3, 2, 1, 0.5)]
    late = runner.run("reactivation_survival", {"from_month": "2024-10"})  # H and E
    assert rows(late) == [(0, 2, 2, 1.0), (1, 2, 2, 1.0), (2, 2, 2, 1.0), (3, 2, 1, 0.5),
                          (4, 2, 1, 0.5), (5, 2, 1, 0.5)]
    assert runner.run("reactivation_survival", {"to_month": "2024-03"}).empty


def test_dormancy_months_twelve(tmp_path):
    """A bank's twelve-month rule (the dormancy_months setting): eleven quiet months are not
    enough, twelve are."""
    runner = _lake_with(tmp_path, {
        "clients": [client("Q")],
        "snapshots": [snap(f"2024-{m:02d}", "Q", "1000", txn_count="0") for m in range(1, 13)]},
        Settings(dormancy_months=12))
    assert runner.run("dormant_clients", {"month": "2024-11"}).empty
    assert rows(runner.run("dormant_clients", {"month": "2024-12"})[
        ["client_id", "quiet_months"]]) == [("Q", 12)]
    trend = runner.run("dormancy_trend")
    assert trend[trend["branch_id"].isna()]["dormant"].tolist() == [0] * 11 + [1]


# -- the same figures computed directly, on a generated delivery -------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from tierflow.access import EVERYTHING
    from tierflow.demo import generate_delivery
    from tierflow.ingest import ingest
    from tierflow.queries import QueryRunner

    root = tmp_path_factory.mktemp("dormant-demo")
    generate_delivery(root / "demo", clients=1_500, months=20, branches=3, seed=11)
    ingest(root / "demo", root / "data", Settings())
    return QueryRunner(root / "data").for_scope(EVERYTHING)


def _direct(runner, n=6):
    """Per client and month, straight from the definitions: dormant, reactivated, quiet
    spell start (a plain loop over each client's months)."""
    import polars as pl

    files = runner.lake.table_files(runner.lake.require_version())["snapshots"]
    snaps = pl.read_parquet(files, columns=["client_id", "month", "month_index", "present",
                                            "txn_count", "status", "branch_id"])
    by_key = {(r["client_id"], r["month_index"]): r for r in snaps.iter_rows(named=True)}
    months = dict(snaps.select("month_index", "month").unique().iter_rows())

    def quiet(c, i):
        r = by_key.get((c, i))
        return r is not None and r["present"] and r["txn_count"] == 0

    def dormant(c, i):
        r = by_key.get((c, i))
        return r is not None and r["present"] and (
            r["status"] == "dormant" or all(quiet(c, i - k) for k in range(n)))

    def still_quiet(c, i):  # part of a quiet spell: present without a positive txn_count
        r = by_key.get((c, i))
        return r is not None and r["present"] and (
            not (r["txn_count"] or 0) > 0 or r["status"] == "dormant")

    dormant_rows, events = {}, []
    for (c, i), r in by_key.items():
        if dormant(c, i):
            dormant_rows[(c, i)] = r["branch_id"]
        nxt = by_key.get((c, i + 1))
        if dormant(c, i) and nxt is not None and nxt["present"] and (nxt["txn_count"] or 0) > 0:
            start = i
            while still_quiet(c, start - 1):
                start -= 1
            events.append((c, months[i + 1], months[start]))
    return months, dormant_rows, sorted(events)


def test_queries_agree_with_the_definitions_on_generated_data(demo):
    months, dormant_rows, events = _direct(demo)
    trend = demo.run("dormancy_trend")
    totals = trend[trend["branch_id"].isna()].set_index("month")["dormant"]
    expected = {m: 0 for m in months.values()}
    for (c, i) in dormant_rows:
        expected[months[i]] += 1
    assert totals.to_dict() == expected
    assert sum(expected.values()) > 50 and len(events) > 10  # the demo has both
    last = max(months.values())
    listed = demo.run("dormant_clients", {"month": last})["client_id"].tolist()
    assert sorted(listed) == sorted(c for (c, i) in dormant_rows if months[i] == last)
    found = demo.run("reactivated_clients", {"from_month": min(months.values()),
                                             "to_month": last})
    assert sorted(zip(found["client_id"], found["reactivated_month"], found["quiet_since"])) \
        == events
    reactivated = trend[trend["branch_id"].isna()]["reactivated"].sum()
    assert reactivated == len(events)


def test_a_lake_without_the_dormancy_tables_asks_for_a_rebuild(tmp_path):
    """A lake version loaded before dormancy was worked out at load: a clear message, not a
    missing-file error."""
    from tierflow.queries import QueryError, QueryRunner

    runner = _lake_with(tmp_path, {"clients": [client("Q")],
                                   "snapshots": [snap("2024-01", "Q", "1000", txn_count="0")]},
                        Settings())
    version = runner.lake.require_version()
    (runner.lake.path(version) / "dormant_months.parquet").unlink()
    with pytest.raises(QueryError, match="no dormant_months table.*tierflow rebuild"):
        QueryRunner(tmp_path / "data").for_scope(runner.scope).run("dormancy_trend")
