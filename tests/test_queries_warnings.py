"""The warning engine (tierflow/warning_rules.py, computed at load time) and the `warnings` and
`warning_coverage` queries, on literal rows against output computed by hand. Default
settings unless said: outflow ≥ 30% and ≥ 100,000; downgrade after 1 month; activity below
0.5 × the 3 months before, when they averaged ≥ 10; maturity warned 7 days ahead; dormant
after 6 months without a transaction; severity high ≥ 500,000, medium ≥ 100,000.

Month-end AUM, 2024 ("-" no row; "x" a closed row with AUM 0). Branches: O4, E*, Z*, MC in
B2, the rest in B1. Transactions are given only where a rule reads them.

    client  Jan        Feb         Mar     Apr     May    story
    O1      1,000,000  700,000     -                      down 30.0% and 300,000: warns
    O2      1,000,000  700,000.01                         29.999999%: just under, no warning
    O3      300,000    200,000.01                         99,999.99: just under, no warning
    O4      333,333.33 233,333.33                         exactly 100,000 (30.0000003%): warns
    O5      600,000    x                                  closes: the 600,000 left, warns
    O6      1,000,000  -           100,000                no row in Feb: no warning in Mar
    D1      60,000     49,999.99                          gold → mass: downgrade
    D2      60,000     50,000                             50,000 is gold: no downgrade
    E1      520,000    480,000     490,000 495,000        platinum, then gold for 3 months
    E2      520,000    480,000     520,000 480,000 480,000
    E3      520,000    480,000     -       480,000
    E4      2,500,000  1,000,000   40,000  40,000         diamond → platinum → mass (and two
                                                          large outflows on the way)

    downgrade warnings  N = 1 (default)                  N = 2 (downgrade_months = 2)
    E1                  Feb plat→gold 40,000             Mar plat→gold 30,000
    E2                  Feb, Apr plat→gold 40,000 each   May plat→gold 40,000 (from Mar)
    E3                  Feb plat→gold 40,000             none (Mar missing)
    E4                  Feb dia→plat 1,500,000,          Mar dia→mass 2,460,000,
                        Mar plat→mass 960,000            Apr plat→mass 960,000

    transactions (AUM 100,000 each month, gold)   Jan  Feb  Mar  Apr  May
    A1  average 12, then 5 < 6: warns in Apr      12   12   12   5
    A2  6 is not below 6: no warning              12   12   12   6
    A3  warns in Apr, not again in May            30   30   30   10   10
    A4  average exactly the floor 10: warns       10   10   10   4
    A5  average 9, under the floor: no warning    9    9    9    0
    A6  Mar missing: no 3-month average in May    12   12   -    12   2

    dormancy (AUM 20,000, mass)          Jan ... Aug
    Z1  txn 3, then 0 from Feb to Aug: dormant in Jul (6 months without), warned once
    Z2  txn 3, 0 from Feb to Jun, 1 in Jul: never dormant
    Z3  txn 2 every month, status dormant from Mar (Jan-Apr): warned in Mar
    Z4  status dormant from the first month (Jan, Feb): never becomes dormant in the data

Maturities of MC (B2, a row every month Jan-Aug, AUM 200,000): warned 7 days before.

    product       amount      matures     warned      severity  id
    wealth        500,000     2024-02-05  2024-01-29  high      MAT-20240205-MC-1
    time_deposit  600,000     2024-02-08  2024-02-01  high      MAT-20240208-MC-1
    fund          499,999.99  2024-03-10  2024-03-03  medium    MAT-20240310-MC-1
    time_deposit  100,000     2024-03-10  2024-03-03  medium    MAT-20240310-MC-2
    wealth        99,999.99   2024-03-10  2024-03-03  low       MAT-20240310-MC-3
    bond          5,000       2024-09-07  2024-08-31  low       MAT-20240907-MC-1
    bond          5,000       2024-09-08  (2024-09-01: after the last month, not raised yet)
    O1 wealth     1,000       2024-05-20  (O1 has no row in May: no warning)

Delivered warnings: W1 O1 2024-02-10 large_outflow high 300,000; W2 MV 2024-03-15 (MV's home
branch is B1, its March row says B2); W3 O5 2024-06-01 other (no row in June: home branch).

Retention cases (the first case answering a warning counts):

    case  client  opened      answers
    K1    O1      2024-02-10  OUT-202402-O1 (raised 02-29; opened before it, in its month: 0
                              days) and W1 (raised 02-10: 0 days)
    K8    O1      2024-02-20  nothing new (K1 came first)
    K2    O4      2024-03-02  OUT-202402-O4: 2 days
    K3    D1      2024-03-05  DWN-202402-D1: 5 days
    K4    O5      2024-03-20  OUT-202402-O5: 20 days (not W3 of June: opened before its month)
    K5    A1      2024-03-20  nothing: ACT-202404-A1's month starts on 04-01
    K6    A3      2024-06-05  nothing: 36 days after ACT-202404-A3, more than 30
    K7    A4      2024-06-05  ACT-202404-A4: it names the warning, so 36 days still count
"""

import datetime as dt

import pytest

from conftest import BRANCHES, client, rows, write_delivery
from tierflow.access import EVERYTHING
from tierflow.ingest import ingest
from tierflow.queries import QueryError, QueryRunner
from tierflow.settings import load_settings

MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07",
          "2024-08"]
B2_CLIENTS = {"O4", "E1", "E2", "E3", "E4", "Z1", "Z2", "Z3", "Z4", "MC"}


def series(cid: str, aum: list, txn: list | None = None, status: list | None = None,
           branch: list | None = None) -> list[dict]:
    """One client's snapshot rows from January on: None = no row, "x" = a closed row."""
    out = []
    for i, amount in enumerate(aum):
        if amount is None:
            continue
        row = {"snapshot_month": MONTHS[i], "client_id": cid,
               "aum": "0" if amount == "x" else amount,
               "status": "closed" if amount == "x" else (status[i] if status else "normal")}
        if txn is not None:
            row["txn_count"] = txn[i]
        if branch is not None:
            row["branch_id"] = branch[i]
        out.append(row)
    return out


SNAPSHOTS = [
    *series("O1", ["1000000", "700000"]),
    *series("O2", ["1000000", "700000.01"]),
    *series("O3", ["300000", "200000.01"]),
    *series("O4", ["333333.33", "233333.33"]),
    *series("O5", ["600000", "x"]),
    *series("O6", ["1000000", None, "100000"]),
    *series("D1", ["60000", "49999.99"]),
    *series("D2", ["60000", "50000"]),
    *series("E1", ["520000", "480000", "490000", "495000"]),
    *series("E2", ["520000", "480000", "520000", "480000", "480000"]),
    *series("E3", ["520000", "480000", None, "480000"]),
    *series("E4", ["2500000", "1000000", "40000", "40000"]),
    *series("A1", ["100000"] * 4, txn=["12", "12", "12", "5"]),
    *series("A2", ["100000"] * 4, txn=["12", "12", "12", "6"]),
    *series("A3", ["100000"] * 5, txn=["30", "30", "30", "10", "10"]),
    *series("A4", ["100000"] * 4, txn=["10", "10", "10", "4"]),
    *series("A5", ["100000"] * 4, txn=["9", "9", "9", "0"]),
    *series("A6", ["100000", "100000", None, "100000", "100000"],
            txn=["12", "12", None, "12", "2"]),
    *series("Z1", ["20000"] * 8, txn=["3"] + ["0"] * 7),
    *series("Z2", ["20000"] * 7, txn=["3", "0", "0", "0", "0", "0", "1"]),
    *series("Z3", ["20000"] * 4, txn=["2"] * 4,
            status=["normal", "normal", "dormant", "dormant"]),
    *series("Z4", ["20000"] * 2, txn=["0", "0"], status=["dormant", "dormant"]),
    *series("MC", ["200000"] * 8),
    *series("MV", ["20000"] * 3, branch=["B1", "B1", "B2"]),
]
CLIENTS = [client(cid, "B2" if cid in B2_CLIENTS else "B1")
           for cid in dict.fromkeys(r["client_id"] for r in SNAPSHOTS)]
MATURITIES = [
    {"client_id": c, "product_type": p, "amount": a, "maturity_date": d}
    for c, p, a, d in [("MC", "wealth", "500000", "2024-02-05"),
                       ("MC", "time_deposit", "600000", "2024-02-08"),
                       ("MC", "fund", "499999.99", "2024-03-10"),
                       ("MC", "time_deposit", "100000", "2024-03-10"),
                       ("MC", "wealth", "99999.99", "2024-03-10"),
                       ("MC", "bond", "5000", "2024-09-07"),
                       ("MC", "bond", "5000", "2024-09-08"),
                       ("O1", "wealth", "1000", "2024-05-20")]
]
WARNINGS = [
    {"warning_id": "W1", "client_id": "O1", "raised_on": "2024-02-10", "rule": "large_outflow",
     "severity": "high", "amount": "300000", "note": "大额转出"},
    {"warning_id": "W2", "client_id": "MV", "raised_on": "2024-03-15", "rule": "activity_drop"},
    {"warning_id": "W3", "client_id": "O5", "raised_on": "2024-06-01", "rule": "other",
     "severity": "low"},
]
CASES = [
    {"case_id": k, "client_id": c, "branch_id": "B2" if c in B2_CLIENTS else "B1",
     "opened_on": d, "outcome": "pending", "warning_id": w}
    for k, c, d, w in [("K1", "O1", "2024-02-10", ""), ("K8", "O1", "2024-02-20", ""),
                       ("K2", "O4", "2024-03-02", ""), ("K3", "D1", "2024-03-05", ""),
                       ("K4", "O5", "2024-03-20", ""), ("K5", "A1", "2024-03-20", ""),
                       ("K6", "A3", "2024-06-05", ""),
                       ("K7", "A4", "2024-06-05", "ACT-202404-A4")]
]
TABLES = {"branches": BRANCHES, "clients": CLIENTS, "snapshots": SNAPSHOTS,
          "maturities": MATURITIES, "warnings": WARNINGS, "retention_cases": CASES}


def load(tmp_path_factory, name: str, **warning_settings):
    """The tables loaded into a new data folder whose settings.toml sets `warning_settings`
    (the runner reads the same file, so it answers from warnings computed with them)."""
    tmp = tmp_path_factory.mktemp(name)
    (tmp / "data").mkdir()
    (tmp / "data" / "settings.toml").write_text(
        "[warnings]\n" + "".join(f"{k} = {v}\n" for k, v in warning_settings.items()))
    report = ingest(write_delivery(tmp / "delivery", TABLES), tmp / "data",
                    load_settings(tmp / "data"))
    assert not report.rejected and report.set_aside.height == 0, report.summary()
    return QueryRunner(tmp / "data").for_scope(EVERYTHING)


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    # Module-scoped: the queries only read, so one load keeps the module fast.
    return load(tmp_path_factory, "warnings")


@pytest.fixture(scope="module")
def two_months(tmp_path_factory):
    return load(tmp_path_factory, "warnings-n2", downgrade_months=2)


def warned(runner, rule: str, columns: list[str], **params) -> list[tuple]:
    """The warnings of one rule, oldest first, as tuples of the columns asked for."""
    df = runner.run("warnings", {"rule": [rule], **params})
    return sorted(rows(df[columns]))


# --- large outflow ---------------------------------------------------------------------------

def test_large_outflow_warns_at_the_thresholds_and_not_just_under(runner):
    got = warned(runner, "large_outflow", ["warning_id", "source", "client_id", "branch_id",
                                           "month", "raised_on", "severity", "amount", "tier",
                                           "aum", "aum_earlier", "status"])
    got = [r for r in got if r[2].startswith("O")]  # E4's falls: test_downgrade_after_one_month
    end_feb = dt.date(2024, 2, 29)
    assert got == [
        ("OUT-202402-O1", "computed", "O1", "B1", "2024-02", end_feb, "medium", 300000.0,
         "platinum", 700000.0, 1000000.0, "normal"),
        ("OUT-202402-O4", "computed", "O4", "B2", "2024-02", end_feb, "medium", 100000.0,
         "gold", 233333.33, 333333.33, "normal"),
        # the closing row: its 600,000 left; a closed row has no tier
        ("OUT-202402-O5", "computed", "O5", "B1", "2024-02", end_feb, "high", 600000.0, None,
         0.0, 600000.0, "closed"),
        # the bank's own warning, beside the computed ones
        ("W1", "delivered", "O1", "B1", "2024-02", dt.date(2024, 2, 10), "high", 300000.0,
         "platinum", 700000.0, None, "normal"),
    ]


# --- downgrade -------------------------------------------------------------------------------

def test_downgrade_warns_below_the_band_and_not_at_its_floor(runner):
    got = warned(runner, "downgrade", ["warning_id", "severity", "amount", "tier_before", "tier",
                                       "aum_earlier"])
    plain = [r for r in got if r[0].endswith(("-D1", "-D2"))]
    assert plain == [("DWN-202402-D1", "low", 10000.01, "gold", "mass", 60000.0)]


def test_downgrade_after_one_month(runner):
    got = warned(runner, "downgrade", ["warning_id", "amount", "tier_before", "tier"])
    assert [r for r in got if r[0].split("-")[2].startswith("E")] == [
        ("DWN-202402-E1", 40000.0, "platinum", "gold"),
        ("DWN-202402-E2", 40000.0, "platinum", "gold"),
        ("DWN-202402-E3", 40000.0, "platinum", "gold"),
        ("DWN-202402-E4", 1500000.0, "diamond", "platinum"),
        ("DWN-202403-E4", 960000.0, "platinum", "mass"),
        ("DWN-202404-E2", 40000.0, "platinum", "gold"),
    ]
    # E4 falls 60% and 96%: large outflows in the same months, as a separate rule
    outflows = warned(runner, "large_outflow", ["warning_id", "severity", "amount"])
    assert [r for r in outflows if r[0].endswith("-E4")] == [
        ("OUT-202402-E4", "high", 1500000.0), ("OUT-202403-E4", "high", 960000.0)]


def test_downgrade_after_n_months_below_the_band(two_months):
    """downgrade_months = 2: raised once, in the second month in a row below the tier held
    before; a month back in the band, or a month missing, starts the count again."""
    got = warned(two_months, "downgrade", ["warning_id", "severity", "amount", "tier_before",
                                           "tier", "aum_earlier"])
    assert [r for r in got if r[0].split("-")[2].startswith("E")] == [
        ("DWN-202403-E1", "low", 30000.0, "platinum", "gold", 520000.0),
        ("DWN-202403-E4", "high", 2460000.0, "diamond", "mass", 2500000.0),
        ("DWN-202404-E4", "high", 960000.0, "platinum", "mass", 1000000.0),
        ("DWN-202405-E2", "low", 40000.0, "platinum", "gold", 520000.0),
    ]
    # D1 fell in February, its last month: a second month below never came
    assert not [r for r in got if r[0].endswith("-D1")]


# --- activity drop ---------------------------------------------------------------------------

def test_activity_drop_warns_below_half_the_average_above_the_floor(runner):
    got = warned(runner, "activity_drop", ["warning_id", "severity", "amount", "txn_count",
                                           "txn_average"])
    assert got == [
        ("ACT-202404-A1", "medium", 100000.0, 5, 12.0),
        ("ACT-202404-A3", "medium", 100000.0, 10, 30.0),  # not again in May (10 < 11.7)
        ("ACT-202404-A4", "medium", 100000.0, 4, 10.0),
        ("W2", None, None, None, None),  # the bank's, beside them
    ]


def test_activity_drop_floor_is_a_setting(tmp_path_factory):
    """With the floor at 9, A5 (9, 9, 9, then 0) warns too."""
    runner = load(tmp_path_factory, "warnings-floor", activity_min_average=9)
    got = warned(runner, "activity_drop", ["warning_id"])
    assert ("ACT-202404-A5",) in got and ("ACT-202404-A2",) not in got


# --- dormancy --------------------------------------------------------------------------------

def test_dormancy_warns_in_the_month_a_client_becomes_dormant(runner):
    got = warned(runner, "dormancy", ["warning_id", "branch_id", "severity", "amount", "status",
                                      "txn_count"])
    assert got == [
        ("DRM-202403-Z3", "B2", "low", 20000.0, "dormant", 2),
        ("DRM-202407-Z1", "B2", "low", 20000.0, "normal", 0),
    ]


# --- maturity --------------------------------------------------------------------------------

def test_maturity_warns_the_window_before_each_product(runner):
    got = warned(runner, "maturity", ["warning_id", "month", "raised_on", "due_on",
                                      "product_type", "severity", "amount", "branch_id", "tier"])
    assert got == [
        ("MAT-20240205-MC-1", "2024-01", dt.date(2024, 1, 29), dt.date(2024, 2, 5), "wealth",
         "high", 500000.0, "B2", "gold"),
        ("MAT-20240208-MC-1", "2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 8),
         "time_deposit", "high", 600000.0, "B2", "gold"),
        ("MAT-20240310-MC-1", "2024-03", dt.date(2024, 3, 3), dt.date(2024, 3, 10), "fund",
         "medium", 499999.99, "B2", "gold"),
        ("MAT-20240310-MC-2", "2024-03", dt.date(2024, 3, 3), dt.date(2024, 3, 10),
         "time_deposit", "medium", 100000.0, "B2", "gold"),
        ("MAT-20240310-MC-3", "2024-03", dt.date(2024, 3, 3), dt.date(2024, 3, 10), "wealth",
         "low", 99999.99, "B2", "gold"),
        # warned on the last day of the last month; the one a day later is not raised yet
        ("MAT-20240907-MC-1", "2024-08", dt.date(2024, 8, 31), dt.date(2024, 9, 7), "bond",
         "low", 5000.0, "B2", "gold"),
    ]


def test_today_is_one_day(runner):
    df = runner.run("warnings", {"raised_on": dt.date(2024, 2, 1)})
    assert rows(df[["warning_id"]]) == [("MAT-20240208-MC-1",)]


# --- delivered warnings and filters ----------------------------------------------------------

def test_delivered_warnings_take_the_month_row_or_the_home_branch(runner):
    df = runner.run("warnings", {"rule": ["activity_drop", "other"]})
    got = sorted(rows(df[df["source"] == "delivered"][
        ["warning_id", "month", "branch_id", "tier", "aum", "severity", "note"]]))
    assert got == [("W2", "2024-03", "B2", "mass", 20000.0, None, None),  # its March row's branch
                   ("W3", "2024-06", "B1", None, None, "low", None)]  # no row: home branch


def test_filters_branch_tier_severity_and_month(runner):
    df = runner.run("warnings", {"month": "2024-02", "branch_id": ["B1"],
                                 "severity": ["high", "medium"], "tier": ["platinum"]})
    assert rows(df[["warning_id"]]) == [("OUT-202402-O1",), ("W1",)]  # latest first


def test_a_page_of_the_list_with_the_count_of_every_warning(runner):
    """February's 11 warnings in the list's order: the month-end ones (02-29) high first
    (DWN-E4 and OUT-E4 1,500,000 each, by id; OUT-O5 600,000), then medium (OUT-O1 300,000,
    OUT-O4 100,000), then low (DWN-E1, E2, E3 40,000 each, by id; DWN-D1 10,000.01); then W1
    (02-10) and the maturity warned on 02-01."""
    order = ["DWN-202402-E4", "OUT-202402-E4", "OUT-202402-O5", "OUT-202402-O1",
             "OUT-202402-O4", "DWN-202402-E1", "DWN-202402-E2", "DWN-202402-E3",
             "DWN-202402-D1", "W1", "MAT-20240208-MC-1"]
    whole = runner.run("warnings", {"month": "2024-02"})
    assert whole["warning_id"].tolist() == order and set(whole["list_rows"]) == {11}
    # cut inside the three equal low downgrades: the id decides
    page = runner.run("warnings", {"month": "2024-02", "page_rows": 7})
    assert rows(page[["warning_id", "list_rows"]]) == [(w, 11) for w in order[:7]]
    # a page still finds each warning's case (K1 answers OUT-O1; OUT-O5 waits 20 days for K4)
    b1 = runner.run("warnings", {"month": "2024-02", "branch_id": ["B1"], "page_rows": 2})
    assert rows(b1[["warning_id", "case_id", "days_to_case", "list_rows"]]) == [
        ("OUT-202402-O5", "K4", 20, 4), ("OUT-202402-O1", "K1", 0, 4)]
    assert rows(runner.run("warnings", {"month": "2024-02", "page_rows": 50})[
        ["warning_id"]]) == [(w,) for w in order]


# --- coverage --------------------------------------------------------------------------------

def test_each_warning_has_the_case_that_answers_it(runner):
    df = runner.run("warnings", {})
    answered = {r[0]: r[1:] for r in rows(df[["warning_id", "case_id", "case_opened_on",
                                               "days_to_case"]])}
    assert answered["OUT-202402-O1"] == ("K1", dt.date(2024, 2, 10), 0)  # opened before it
    assert answered["W1"] == ("K1", dt.date(2024, 2, 10), 0)
    assert answered["OUT-202402-O4"] == ("K2", dt.date(2024, 3, 2), 2)
    assert answered["DWN-202402-D1"] == ("K3", dt.date(2024, 3, 5), 5)
    assert answered["OUT-202402-O5"] == ("K4", dt.date(2024, 3, 20), 20)
    assert answered["ACT-202404-A4"] == ("K7", dt.date(2024, 6, 5), 36)  # named by the case
    for unanswered in ("ACT-202404-A1", "ACT-202404-A3", "W3", "DWN-202402-E1"):
        assert answered[unanswered] == (None, None, None), unanswered


def test_coverage_per_branch_with_cases_before_and_after_the_warning(runner):
    """February. B1: OUT-O1 (K1, opened before it: 0 days), W1 (K1: 0), DWN-D1 (K3: 5 days),
    OUT-O5 (K4: 20 days). B2: OUT-O4 (K2: 2 days); DWN-E1..E4, OUT-E4 and MAT-20240208 have
    no case. Amounts: B2 100,000 + 3 × 40,000 + 1,500,000 + 1,500,000 + 600,000."""
    df = runner.run("warning_coverage", {"dimension": "branch", "month": "2024-02"})
    assert rows(df) == [
        ("B2", "徐汇支行", 7, 3, 3820000.0, 1, 1, 1, round(1 / 7, 9), round(1 / 7, 9),
         round(1 / 7, 9), 2.0),
        ("B1", "静安支行", 4, 2, 1210000.01, 4, 2, 3, 1.0, 0.5, 0.75, 6.25),
    ]


def test_coverage_total_and_by_rule(runner):
    total = runner.run("warning_coverage", {"dimension": "total", "month": "2024-02"})
    assert rows(total[["dimension_value", "warnings", "with_case", "within_3d", "within_7d"]]) \
        == [("total", 11, 5, 3, 4)]
    by_rule = runner.run("warning_coverage", {"dimension": "rule", "month": "2024-02",
                                              "branch_id": ["B1"]})
    assert rows(by_rule[["dimension_value", "warnings", "with_case", "within_3d"]]) == [
        ("large_outflow", 3, 3, 2), ("downgrade", 1, 1, 0)]
    empty = runner.run("warning_coverage", {"dimension": "total", "month": "2023-01"})
    assert empty.empty


def test_coverage_at_another_case_days_matches_the_cases_again(runner):
    """At the default 30 days the counts come from warning_cube, kept at load; at 3 days the
    query matches the cases itself: in February DWN-D1 (K3, 5 days) and OUT-O5 (K4, 20 days)
    are no longer answered, OUT-O1 and W1 (K1, 0 days) and OUT-O4 (K2, 2 days) still are."""
    def total(**given):
        df = runner.run("warning_coverage", {"dimension": "total", "month": "2024-02", **given})
        return rows(df[["warnings", "with_case", "within_3d", "within_7d", "avg_days_to_case"]])
    assert total() == [(11, 5, 3, 4, 27 / 5)]
    assert total(case_days=3) == [(11, 3, 3, 3, round(2 / 3, 9))]


def test_coverage_by_manager_names_the_manager_and_unknown(runner):
    df = runner.run("warning_coverage", {"dimension": "manager", "month": "2024-02"})
    assert rows(df[["dimension_value", "value_name", "warnings"]]) == [("unknown", None, 11)]


# --- the engine across loads -----------------------------------------------------------------

def test_a_replaced_month_recomputes_its_warnings_and_the_next_month(tmp_path_factory):
    """February delivered again with O1 at 900,000 and E4 still at 2,500,000: O1's outflow is
    gone; E4 now falls in March only, straight from diamond to mass."""
    runner = load(tmp_path_factory, "warnings-replaced")
    february = [dict(r, aum={"O1": "900000", "E4": "2500000"}.get(r["client_id"], r["aum"]))
                for r in SNAPSHOTS if r["snapshot_month"] == "2024-02"]
    folder = write_delivery(tmp_path_factory.mktemp("february"), {"snapshots": february})
    report = ingest(folder, runner.lake.data_dir, load_settings(runner.lake.data_dir))
    assert report.months == ["2024-02"] and not report.rejected
    ids = {w for w in runner.run("warnings", {})["warning_id"]}
    assert "OUT-202402-O1" not in ids and "W1" in ids
    e4 = sorted(rows(runner.run("warnings", {"rule": ["downgrade", "large_outflow"]})
                     .query("client_id == 'E4'")[["warning_id", "amount", "tier_before"]]))
    assert e4 == [("DWN-202403-E4", 2460000.0, "diamond"), ("OUT-202403-E4", 2460000.0, None)]


def test_a_changed_warning_setting_asks_for_a_rebuild(tmp_path_factory):
    """O2 lost 29.999999%: with outflow_min_share = 0.29 it warns, once the lake is rebuilt;
    until then the runner refuses rather than answer from warnings of the old settings."""
    runner = load(tmp_path_factory, "warnings-rebuild")
    data_dir = runner.lake.data_dir
    (data_dir / "settings.toml").write_text("[warnings]\noutflow_min_share = 0.29\n")
    with pytest.raises(QueryError, match="rebuild"):
        QueryRunner(data_dir).for_scope(EVERYTHING).run("warnings", {})
    ingest(None, data_dir, load_settings(data_dir))
    again = QueryRunner(data_dir).for_scope(EVERYTHING)
    assert "OUT-202402-O2" in set(again.run("warnings", {"rule": ["large_outflow"]})["warning_id"])


def test_a_lake_without_months_has_no_computed_warnings(tmp_path):
    ingest(write_delivery(tmp_path / "delivery", {"branches": BRANCHES}), tmp_path / "data",
           load_settings(tmp_path / "data"))
    runner = QueryRunner(tmp_path / "data").for_scope(EVERYTHING)
    assert runner.run("warnings", {}).empty
    assert runner.run("warning_coverage", {"dimension": "total"}).empty
