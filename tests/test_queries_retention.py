"""Retention queries on literal rows, against output rows computed by hand.

Queries: retention_by_dimension, retention_funnel, contact_delay, post_case_aum,
retention_ledger.

Clients and month-end AUM ("-" = no row; Q closes in May):

    client  branch  2024-01  2024-02  2024-03  2024-04  2024-05         2024-06
    P       B1      300,000  100,000  280,000  290,000  310,000         320,000
    Q       B1      150,000  120,000   60,000   20,000  closed (5,000)  -
    R       B2       50,000   45,000   40,000   60,000   30,000          55,000
    S       B2       80,000   90,000   70,000   20,000   10,000         -

Q's closed row still carries 5,000: a client not present counts as 0 all the same.

Retention cases ("" = missing; days = first contact - opened):

    case client branch opened      contact     days  outcome   closed      stake    kept
    K1   P      B1     2024-02-05  2024-02-05   0    retained  2024-02-29  300,000  250,000
    K2   Q      B1     2024-02-29  2024-03-01   1    lost      2024-03-01  100,000        0
    K3   R      B2     2024-03-10  2024-03-13   3    retained  2024-03-31       ""       ""
    K4   S      B2     2024-03-31  2024-04-07   7    lost      2024-04-20   50,000       ""
    K5   P      B1     2024-04-01  ""          none  pending   ""           80,000       ""
    K6   R      B2     2024-04-15  2024-04-23   8    retained  2024-05-02   20,000   20,000
    K7   Q      B2     2024-01-10  2024-01-30  20    lost      2024-02-01   40,000       ""
    K8   P      B1     2024-05-06  ""          none  retained  2024-05-20       ""       ""

    case handler role    case type          channel    reason      measure          warning
    K1   H1 wealth_manager aum_outflow      phone      rate        rate_concession  W1
    K2   H2 lobby_manager  account_transfer in_branch  commission  fee_cut          W2
    K3   H3 client_manager aum_outflow      phone      competitor  product_offer    W3
    K4   H4 central_desk   loan_prepayment  ""         market      none             ""
    K5   H1 wealth_manager aum_outflow      phone      rate        service          ""
    K6   H5 wealth_manager card_cancellation advisor   rate        gift             ""
    K7   H4 central_desk   aum_outflow      sms        service     none             ""
    K8   H6 client_manager aum_outflow      visit      relocation  service          ""

K7 is a B1 client handled by B2's central desk (the case's branch counts for cases, the
client's branch for warnings). Cases open and close on month boundaries (K1, K2, K3, K4, K7).
K8 is retained with no first contact recorded: the funnel's retained stage counts only
contacted cases.

Warnings: W0 R 2024-01-31, W1 P 2024-02-03, W2 Q 2024-02-28, W3 R 2024-03-09,
W4 S 2024-04-30 (no case answers W0 or W4).
"""

import datetime as dt

import pytest

from conftest import BRANCHES, client, rows, snap, write_delivery
from tierflow.access import EVERYTHING
from tierflow.ingest import ingest
from tierflow.queries import QueryRunner
from tierflow.settings import Settings

CLIENTS = [client("P", "B1"), client("Q", "B1"), client("R", "B2"), client("S", "B2")]
MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
AUM = {  # None: no row; "closed": a closed row
    "P": ["300000", "100000", "280000", "290000", "310000", "320000"],
    "Q": ["150000", "120000", "60000", "20000", "closed", None],  # closed with 5,000 left
    "R": ["50000", "45000", "40000", "60000", "30000", "55000"],
    "S": ["80000", "90000", "70000", "20000", "10000", None],
}
SNAPSHOTS = [
    snap(month, cid, "5000", status="closed") if aum == "closed" else snap(month, cid, aum)
    for cid, amounts in AUM.items() for month, aum in zip(MONTHS, amounts) if aum is not None
]
CASE_COLUMNS = ["case_id", "client_id", "branch_id", "opened_on", "first_contact_on", "outcome",
                "closed_on", "handler_id", "handler_role", "case_type", "channel", "reason",
                "measure", "aum_at_stake", "aum_kept", "warning_id"]
CASES = [dict(zip(CASE_COLUMNS, values)) for values in [
    ("K1", "P", "B1", "2024-02-05", "2024-02-05", "retained", "2024-02-29", "H1",
     "wealth_manager", "aum_outflow", "phone", "rate", "rate_concession", "300000", "250000",
     "W1"),
    ("K2", "Q", "B1", "2024-02-29", "2024-03-01", "lost", "2024-03-01", "H2", "lobby_manager",
     "account_transfer", "in_branch", "commission", "fee_cut", "100000", "0", "W2"),
    ("K3", "R", "B2", "2024-03-10", "2024-03-13", "retained", "2024-03-31", "H3",
     "client_manager", "aum_outflow", "phone", "competitor", "product_offer", "", "", "W3"),
    ("K4", "S", "B2", "2024-03-31", "2024-04-07", "lost", "2024-04-20", "H4", "central_desk",
     "loan_prepayment", "", "market", "none", "50000", "", ""),
    ("K5", "P", "B1", "2024-04-01", "", "pending", "", "H1", "wealth_manager", "aum_outflow",
     "phone", "rate", "service", "80000", "", ""),
    ("K6", "R", "B2", "2024-04-15", "2024-04-23", "retained", "2024-05-02", "H5",
     "wealth_manager", "card_cancellation", "advisor", "rate", "gift", "20000", "20000", ""),
    ("K7", "Q", "B2", "2024-01-10", "2024-01-30", "lost", "2024-02-01", "H4", "central_desk",
     "aum_outflow", "sms", "service", "none", "40000", "", ""),
    ("K8", "P", "B1", "2024-05-06", "", "retained", "2024-05-20", "H6", "client_manager",
     "aum_outflow", "visit", "relocation", "service", "", "", ""),
]]
WARNINGS = [
    {"warning_id": w, "client_id": c, "raised_on": d, "rule": r}
    for w, c, d, r in [("W0", "R", "2024-01-31", "activity_drop"),
                       ("W1", "P", "2024-02-03", "large_outflow"),
                       ("W2", "Q", "2024-02-28", "downgrade"),
                       ("W3", "R", "2024-03-09", "large_outflow"),
                       ("W4", "S", "2024-04-30", "maturity")]
]
EMPTY = {"from_date": "2023-01-01", "to_date": "2023-12-31"}  # before any case or warning
FEB_MAR = {"from_date": "2024-02-01", "to_date": "2024-03-31"}


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    # Module-scoped: the queries only read, so one load keeps the module fast.
    tmp = tmp_path_factory.mktemp("retention")
    delivery = write_delivery(tmp / "delivery", {
        "branches": BRANCHES, "clients": CLIENTS, "snapshots": SNAPSHOTS,
        "retention_cases": CASES, "warnings": WARNINGS})
    report = ingest(delivery, tmp / "data", Settings())
    assert not report.rejected, report.summary()
    assert report.set_aside.height == 0, report.summary()
    return QueryRunner(tmp / "data").for_scope(EVERYTHING)


# -- retention_by_dimension -----------------------------------------------------------------------
# Closed cases (K5 pending is left out everywhere): K1 ret 300,000/250,000; K2 lost 100,000/0;
# K3 ret -/-; K4 lost 50,000/-; K6 ret 20,000/20,000; K7 lost 40,000/-; K8 ret -/-.

def test_retention_by_channel_with_unknown(runner):
    out = runner.run("retention_by_dimension", {"dimension": "channel"})
    assert list(out.columns) == ["dimension_value", "closed_cases", "retained", "lost",
                                 "success_rate", "aum_at_stake", "aum_kept", "aum_success_rate"]
    assert rows(out) == [
        # K1 + K3 (no amounts: count as 0)
        ("phone", 2, 2, 0, 1.0, 300_000.0, 250_000.0, round(250_000 / 300_000, 9)),
        ("advisor", 1, 1, 0, 1.0, 20_000.0, 20_000.0, 1.0),          # K6
        ("in_branch", 1, 0, 1, 0.0, 100_000.0, 0.0, 0.0),            # K2
        ("sms", 1, 0, 1, 0.0, 40_000.0, 0.0, 0.0),                   # K7 (kept missing: 0)
        ("unknown", 1, 0, 1, 0.0, 50_000.0, 0.0, 0.0),               # K4 has no channel
        ("visit", 1, 1, 0, 1.0, 0.0, 0.0, None),                     # K8
    ]


def test_retention_by_reason_leaves_out_pending(runner):
    assert rows(runner.run("retention_by_dimension", {"dimension": "reason"})) == [
        # K1 + K6 (K5, also rate, is pending)
        ("rate", 2, 2, 0, 1.0, 320_000.0, 270_000.0, round(270_000 / 320_000, 9)),
        ("commission", 1, 0, 1, 0.0, 100_000.0, 0.0, 0.0),
        ("competitor", 1, 1, 0, 1.0, 0.0, 0.0, None),   # K3: nothing at stake, rate empty
        ("market", 1, 0, 1, 0.0, 50_000.0, 0.0, 0.0),
        ("relocation", 1, 1, 0, 1.0, 0.0, 0.0, None),   # K8
        ("service", 1, 0, 1, 0.0, 40_000.0, 0.0, 0.0),
    ]


def test_retention_by_measure(runner):
    assert rows(runner.run("retention_by_dimension", {"dimension": "measure"})) == [
        ("none", 2, 0, 2, 0.0, 90_000.0, 0.0, 0.0),                  # K4 + K7
        ("fee_cut", 1, 0, 1, 0.0, 100_000.0, 0.0, 0.0),
        ("gift", 1, 1, 0, 1.0, 20_000.0, 20_000.0, 1.0),
        ("product_offer", 1, 1, 0, 1.0, 0.0, 0.0, None),
        ("rate_concession", 1, 1, 0, 1.0, 300_000.0, 250_000.0, round(250_000 / 300_000, 9)),
        ("service", 1, 1, 0, 1.0, 0.0, 0.0, None),                   # K8 (K5 is pending)
    ]


def test_retention_by_handler_role_in_one_branch(runner):
    out = runner.run("retention_by_dimension", {"dimension": "handler_role", "branch_id": "B2"})
    assert rows(out) == [  # the case's branch: K3 K4 K6 K7 (K7's client is a B1 client)
        ("central_desk", 2, 0, 2, 0.0, 90_000.0, 0.0, 0.0),          # K4 + K7
        ("client_manager", 1, 1, 0, 1.0, 0.0, 0.0, None),
        ("wealth_manager", 1, 1, 0, 1.0, 20_000.0, 20_000.0, 1.0),
    ]


def test_retention_by_case_type_in_a_period(runner):
    out = runner.run("retention_by_dimension", {"dimension": "case_type",
                                                "from_date": "2024-02-01",
                                                "to_date": "2024-02-29"})
    # closed in Feb, both ends inclusive: K7 (Feb 1) and K1 (Feb 29); K2 closed Mar 1
    assert rows(out) == [
        ("aum_outflow", 2, 1, 1, 0.5, 340_000.0, 250_000.0, round(250_000 / 340_000, 9))]


def test_retention_by_closed_month(runner):
    assert rows(runner.run("retention_by_dimension", {"dimension": "closed_month"})) == [
        ("2024-02", 2, 1, 1, 0.5, 340_000.0, 250_000.0, round(250_000 / 340_000, 9)),  # K1 K7
        ("2024-03", 2, 1, 1, 0.5, 100_000.0, 0.0, 0.0),             # K2 (Mar 1), K3 (Mar 31)
        ("2024-05", 2, 2, 0, 1.0, 20_000.0, 20_000.0, 1.0),         # K6, K8
        ("2024-04", 1, 0, 1, 0.0, 50_000.0, 0.0, 0.0),              # K4: fewer cases, last
    ]


def test_retention_by_dimension_empty_period_and_totals(runner):
    out = runner.run("retention_by_dimension", {"dimension": "reason", **EMPTY})
    assert rows(out) == []
    # Any dimension splits the same closed cases as retention_success.
    total = runner.run("retention_success")
    for dimension in ("channel", "closed_month"):
        split = runner.run("retention_by_dimension", {"dimension": dimension})
        for col in ("closed_cases", "retained", "lost", "aum_at_stake", "aum_kept"):
            assert split[col].sum() == total[col].sum(), (dimension, col)


# -- retention_funnel ---------------------------------------------------------------------------

def test_retention_funnel_all_time(runner):
    out = runner.run("retention_funnel")
    assert list(out.columns) == ["stage", "stage_order", "cases"]
    assert rows(out) == [
        ("warnings", 1, 5),       # W0..W4, with or without a case
        ("cases_opened", 2, 8),   # K1..K8
        ("contacted", 3, 6),      # all but K5 and K8
        ("retained", 4, 3),       # K1 K3 K6 (K8 is retained but was never contacted)
    ]


def test_retention_funnel_in_a_period(runner):
    assert rows(runner.run("retention_funnel", FEB_MAR)) == [
        ("warnings", 1, 3),       # W1 W2 W3 (W0 is Jan 31, W4 Apr 30)
        ("cases_opened", 2, 4),   # K1 K2 K3 K4 (K4 opened Mar 31; K7 Jan 10, K5 Apr 1 out)
        ("contacted", 3, 4),      # K4's first contact (Apr 7) is after the period: still counts
        ("retained", 4, 2),       # K1 K3
    ]
    # Both ends inclusive: W1 is raised on Feb 3, W3 on Mar 9; K1 and K2 opened between.
    assert rows(runner.run("retention_funnel", {"from_date": "2024-02-03",
                                                "to_date": "2024-03-09"})) == [
        ("warnings", 1, 3), ("cases_opened", 2, 2), ("contacted", 3, 2), ("retained", 4, 1)]


def test_retention_funnel_by_branch(runner):
    assert rows(runner.run("retention_funnel", {"branch_id": "B2"})) == [
        ("warnings", 1, 3),       # clients R and S: W0 W3 W4
        ("cases_opened", 2, 4),   # cases handled by B2: K3 K4 K6 K7
        ("contacted", 3, 4),
        ("retained", 4, 2),       # K3 K6
    ]
    assert rows(runner.run("retention_funnel", {"branch_id": "B1"})) == [
        ("warnings", 1, 2),       # W1 W2
        ("cases_opened", 2, 4),   # K1 K2 K5 K8
        ("contacted", 3, 2),      # K5 and K8 never contacted
        ("retained", 4, 1),       # K1
    ]


def test_retention_funnel_empty_period(runner):
    assert rows(runner.run("retention_funnel", EMPTY)) == [
        ("warnings", 1, 0), ("cases_opened", 2, 0), ("contacted", 3, 0), ("retained", 4, 0)]


# -- contact_delay ------------------------------------------------------------------------------

BUCKETS = ["0", "1", "2", "3", "4-7", "8-14", "15+", "none"]


def delay(counts: dict[str, int]) -> list[tuple]:
    return [(b, i + 1, counts.get(b, 0)) for i, b in enumerate(BUCKETS)]


def test_contact_delay_all_time(runner):
    out = runner.run("contact_delay")
    assert list(out.columns) == ["bucket", "bucket_order", "cases"]
    # K1 0 days; K2 1 (Feb 29 -> Mar 1); K3 3; K4 7 (Mar 31 -> Apr 7, top of 4-7);
    # K6 8 (bottom of 8-14); K7 20; K5 and K8 no contact. Nobody at 2 days: zero row kept.
    assert rows(out) == [("0", 1, 1), ("1", 2, 1), ("2", 3, 0), ("3", 4, 1), ("4-7", 5, 1),
                         ("8-14", 6, 1), ("15+", 7, 1), ("none", 8, 2)]


def test_contact_delay_period_branch_and_empty(runner):
    # opened Feb 1 .. Mar 31: K1 K2 K3 K4
    assert rows(runner.run("contact_delay", FEB_MAR)) == delay({"0": 1, "1": 1, "3": 1,
                                                                "4-7": 1})
    # B1 cases: K1 K2 K5 K8
    assert rows(runner.run("contact_delay", {"branch_id": "B1"})) == delay({"0": 1, "1": 1,
                                                                          "none": 2})
    assert rows(runner.run("contact_delay", EMPTY)) == delay({})


# -- post_case_aum ------------------------------------------------------------------------------
# Month before opened_on's month, and 1 and 3 months after closed_on's month (0 when no row,
# a closed row, or beyond the data):
#   K1 P  before Jan 300,000   +1 Mar 280,000   +3 May 310,000
#   K3 R  before Feb  45,000   +1 Apr  60,000   +3 Jun  55,000
#   K6 R  before Mar  40,000   +1 Jun  55,000   +3 Aug       0
#   K8 P  before Apr 290,000   +1 Jun 320,000   +3 Aug       0
#   K2 Q  before Jan 150,000   +1 Apr  20,000   +3 Jun       0 (no row)
#   K4 S  before Feb  90,000   +1 May  10,000   +3 Jul       0
#   K7 Q  before 2023-12    0  +1 Mar  60,000   +3 May       0 (closed, though 5,000 left)

def test_post_case_aum_all_time(runner):
    out = runner.run("post_case_aum")
    assert list(out.columns) == ["outcome", "cases", "aum_before", "aum_after_1m",
                                 "aum_after_3m", "ratio_1m", "ratio_3m"]
    assert rows(out) == [
        # 300,000 + 45,000 + 40,000 + 290,000; 280,000 + 60,000 + 55,000 + 320,000;
        # 310,000 + 55,000 + 0 + 0
        ("retained", 4, 675_000.0, 715_000.0, 365_000.0,
         round(715_000 / 675_000, 9), round(365_000 / 675_000, 9)),
        # 150,000 + 90,000 + 0; 20,000 + 10,000 + 60,000; 0
        ("lost", 3, 240_000.0, 90_000.0, 0.0, 0.375, 0.0),
    ]


def test_post_case_aum_period_and_branch(runner):
    # closed Mar 1 .. Mar 31: K2 (Mar 1) and K3 (Mar 31)
    march = runner.run("post_case_aum", {"from_date": "2024-03-01", "to_date": "2024-03-31"})
    assert rows(march) == [
        ("retained", 1, 45_000.0, 60_000.0, 55_000.0,
         round(60_000 / 45_000, 9), round(55_000 / 45_000, 9)),
        ("lost", 1, 150_000.0, 20_000.0, 0.0, round(20_000 / 150_000, 9), 0.0),
    ]
    # B2 cases: K3 K6 retained, K4 K7 lost
    assert rows(runner.run("post_case_aum", {"branch_id": "B2"})) == [
        ("retained", 2, 85_000.0, 115_000.0, 55_000.0,
         round(115_000 / 85_000, 9), round(55_000 / 85_000, 9)),
        ("lost", 2, 90_000.0, 70_000.0, 0.0, round(70_000 / 90_000, 9), 0.0),
    ]


def test_post_case_aum_zero_before_and_empty_period(runner):
    # K7 alone (closed Feb 1): no AUM before the case, so no ratio; no retained case: zeros.
    k7 = runner.run("post_case_aum", {"from_date": "2024-02-01", "to_date": "2024-02-01"})
    assert rows(k7) == [("retained", 0, 0.0, 0.0, 0.0, None, None),
                        ("lost", 1, 0.0, 60_000.0, 0.0, None, None)]
    assert rows(runner.run("post_case_aum", EMPTY)) == [
        ("retained", 0, 0.0, 0.0, 0.0, None, None), ("lost", 0, 0.0, 0.0, 0.0, None, None)]


# -- retention_ledger ---------------------------------------------------------------------------

LEDGER_COLUMNS = ["case_id", "client_id", "name", "branch_id", "opened_on", "outcome",
                  "closed_on", "first_contact_on", "handler_id", "handler_role", "case_type",
                  "channel", "reason", "measure", "aum_at_stake", "aum_kept", "warning_id",
                  "list_rows"]
D = dt.date
K4 = ("K4", "S", "客户S", "B2", D(2024, 3, 31), "lost", D(2024, 4, 20), D(2024, 4, 7), "H4",
      "central_desk", "loan_prepayment", None, "market", "none", 50_000.0, None, None)
K5 = ("K5", "P", "客户P", "B1", D(2024, 4, 1), "pending", None, None, "H1", "wealth_manager",
      "aum_outflow", "phone", "rate", "service", 80_000.0, None, None)
K6 = ("K6", "R", "客户R", "B2", D(2024, 4, 15), "retained", D(2024, 5, 2), D(2024, 4, 23),
      "H5", "wealth_manager", "card_cancellation", "advisor", "rate", "gift", 20_000.0,
      20_000.0, None)


def test_retention_ledger_all_newest_first(runner):
    out = runner.run("retention_ledger")
    assert list(out.columns) == LEDGER_COLUMNS
    assert list(out["case_id"]) == ["K8", "K6", "K5", "K4", "K3", "K2", "K1", "K7"]


def test_retention_ledger_period_rows(runner):
    # opened Mar 31 .. Apr 15, both ends inclusive
    out = runner.run("retention_ledger", {"from_date": "2024-03-31", "to_date": "2024-04-15"})
    assert rows(out) == [K6 + (3,), K5 + (3,), K4 + (3,)]  # list_rows: 3 cases


def test_retention_ledger_filters_and_empty(runner):
    assert rows(runner.run("retention_ledger", {"outcome": "pending"})) == [K5 + (1,)]
    b1_lost = runner.run("retention_ledger", {"branch_id": "B1", "outcome": "lost"})
    assert rows(b1_lost) == [
        ("K2", "Q", "客户Q", "B1", D(2024, 2, 29), "lost", D(2024, 3, 1), D(2024, 3, 1), "H2",
         "lobby_manager", "account_transfer", "in_branch", "commission", "fee_cut", 100_000.0,
         0.0, "W2", 1)]
    empty = runner.run("retention_ledger", EMPTY)
    assert list(empty.columns) == LEDGER_COLUMNS
    assert rows(empty) == []


def test_retention_ledger_page_with_the_count_of_every_row(runner):
    """All eight cases newest first; February-March: K4 (03-31), K3 (03-10), K2 (02-29),
    K1 (02-05)."""
    page = runner.run("retention_ledger", {"page_rows": 3})
    assert rows(page[["case_id", "list_rows"]]) == [("K8", 8), ("K6", 8), ("K5", 8)]
    assert rows(runner.run("retention_ledger", {**FEB_MAR, "page_rows": 2})[
        ["case_id", "name", "list_rows"]]) == [("K4", "客户S", 4), ("K3", "客户R", 4)]
    b2 = runner.run("retention_ledger", {"branch_id": "B2", "page_rows": 10})
    assert rows(b2[["case_id", "list_rows"]]) == [("K6", 4), ("K4", 4), ("K3", 4), ("K7", 4)]
    assert runner.run("retention_ledger", {**EMPTY, "page_rows": 3}).empty
