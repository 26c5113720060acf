"""To-do lists and manager books on literal rows, against output rows computed by hand.

Queries: todo_maturities, todo_birthdays, todo_new_clients, todo_vip_changes, manager_books,
unassigned_clients. Months 2025-09 ... 2025-12; the week of the to-do lists is Monday
2025-12-29 to Sunday 2026-01-04 (it wraps into the new year); the quarter 2025-10-01 to
2025-12-31. Book limit 2 (a setting) so that a book of three VIP clients is over it.

    client  branch  manager  birth       opened      2025-09   2025-10   2025-11   2025-12
    K1      B1      M1       1990-12-30  2015-03-01  60,000    60,000    60,000    60,000
    K2      B1      M1       1985-01-02  2016-05-05  700,000   700,000   700,000   700,000
    K3      B2      M3       1992-02-29  2025-12-29  -         -         -         20,000
    K4      B1      M1       1980-07-15  2026-01-05  40,000    60,000    70,000    80,000
    K5      B1      M2       (none)      2025-12-28  600,000   600,000   30,000    30,000
    K6      B1      M2       1970-01-03  2010-01-01  3,000,000 3,000,000 3,000,000 3,000,000
    K7      B2      M2       1975-12-31  2012-01-01  60,000    60,000    closed    -
    K8      B2      M1       1988-06-01  2014-01-01  40,000    60,000    600,000   600,000
    U1      B1      (none)   1991-03-03  2019-01-01  60,000    60,000    60,000    60,000
    U2      B2      (none)   1991-03-04  2019-01-01  10,000    10,000    10,000    50,000
    U3      B2      (none)   1991-03-05  2019-01-01  -         -         -         closed

    K4 crosses into gold in 2025-10 (VIP upgrade), U2 in 2025-12 at exactly 50,000; K5 falls from platinum to mass in 2025-11
    (VIP downgrade); K8 mass → gold in 2025-10 (upgrade), then gold → platinum (within VIP);
    K7 closes (churn, not a downgrade); K3 is new in 2025-12 (not an upgrade).
    Snapshot branches and managers follow the clients file, but for K8 in 2025-10 (B1, M2);
    U1..U3 have none.
"""

import datetime as dt

import pytest

from conftest import client, rows, snap
from tierflow.access import Scope
from tierflow.settings import Settings

MANAGERS = [
    {"manager_id": "M1", "manager_name": "王经理", "branch_id": "B1", "role": "理财经理"},
    {"manager_id": "M2", "manager_name": "李经理", "branch_id": "B1", "role": "客户经理"},
    {"manager_id": "M3", "manager_name": "张经理", "branch_id": "B2", "role": "客户经理"},
]
PEOPLE = {  # client: (branch, manager, birth_date, open_date)
    "K1": ("B1", "M1", "1990-12-30", "2015-03-01"),
    "K2": ("B1", "M1", "1985-01-02", "2016-05-05"),
    "K3": ("B2", "M3", "1992-02-29", "2025-12-29"),
    "K4": ("B1", "M1", "1980-07-15", "2026-01-05"),
    "K5": ("B1", "M2", "", "2025-12-28"),
    "K6": ("B1", "M2", "1970-01-03", "2010-01-01"),
    "K7": ("B2", "M2", "1975-12-31", "2012-01-01"),
    "K8": ("B2", "M1", "1988-06-01", "2014-01-01"),
    "U1": ("B1", "", "1991-03-03", "2019-01-01"),
    "U2": ("B2", "", "1991-03-04", "2019-01-01"),
    "U3": ("B2", "", "1991-03-05", "2019-01-01"),
}
MONTHS = ["2025-09", "2025-10", "2025-11", "2025-12"]
AUM = {  # per month; None: no row; "closed": a closed row
    "K1": ["60000"] * 4,
    "K2": ["700000"] * 4,
    "K3": [None, None, None, "20000"],
    "K4": ["40000", "60000", "70000", "80000"],
    "K5": ["600000", "600000", "30000", "30000"],
    "K6": ["3000000"] * 4,
    "K7": ["60000", "60000", "closed", None],
    "K8": ["40000", "60000", "600000", "600000"],
    "U1": ["60000"] * 4,
    "U2": ["10000", "10000", "10000", "50000"],
    "U3": [None, None, None, "closed"],
}
MATURITIES = [
    {"client_id": "K1", "product_type": "time_deposit", "amount": "50000",
     "maturity_date": "2025-12-29"},
    {"client_id": "K2", "product_type": "wealth", "amount": "300000",
     "maturity_date": "2026-01-02"},
    {"client_id": "K2", "product_type": "fund", "amount": "20000",
     "maturity_date": "2026-01-02"},
    {"client_id": "K8", "product_type": "bond", "amount": "90000",
     "maturity_date": "2026-01-04"},
    {"client_id": "K6", "product_type": "wealth", "amount": "1000000",
     "maturity_date": "2026-01-05"},  # the Monday after: not this week
    {"client_id": "K1", "product_type": "wealth", "amount": "10000",
     "maturity_date": "2025-12-28"},  # the Sunday before
]
# K8 was at B1 with M2 in October, when it rose to gold: the to-do lists name its branch and
# manager now (B2, M1), the people who act on it
EARLIER_HOME = {("K8", "2025-10"): ("B1", "M2")}
WARNINGS = [
    {"warning_id": "W1", "client_id": "K1", "raised_on": "2025-11-05", "rule": "large_outflow"},
    {"warning_id": "W2", "client_id": "K2", "raised_on": "2025-11-10", "rule": "large_outflow"},
    {"warning_id": "W3", "client_id": "K2", "raised_on": "2025-12-01", "rule": "downgrade"},
    {"warning_id": "W4", "client_id": "K1", "raised_on": "2026-01-03", "rule": "other"},
    {"warning_id": "W5", "client_id": "K6", "raised_on": "2025-12-20", "rule": "other"},
    {"warning_id": "W6", "client_id": "U1", "raised_on": "2025-12-02", "rule": "other"},
]
CASES = [  # C1 answers W2 (November); C2, pending, answers W3; C3 answers W5
    {"case_id": "C1", "client_id": "K2", "branch_id": "B1", "opened_on": "2025-11-11",
     "outcome": "retained", "closed_on": "2025-11-20", "warning_id": "W2"},
    {"case_id": "C2", "client_id": "K2", "branch_id": "B1", "opened_on": "2025-12-02",
     "outcome": "pending", "closed_on": "", "warning_id": "W3"},
    {"case_id": "C3", "client_id": "K6", "branch_id": "B1", "opened_on": "2025-12-21",
     "outcome": "lost", "closed_on": "2026-01-10", "warning_id": "W5"},
]


def _snapshots() -> list[dict]:
    out = []
    for cid, amounts in AUM.items():
        for month, aum in zip(MONTHS, amounts):
            if aum is None:
                continue
            branch, manager = EARLIER_HOME.get((cid, month), PEOPLE[cid][:2])
            closed = aum == "closed"
            out.append(snap(month, cid, "0" if closed else aum,
                            status="closed" if closed else "normal", branch_id=branch,
                            manager_id=manager, txn_count="1"))
    return out


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    from test_queries_churn import _lake
    return _lake(tmp_path_factory, "service", {
        "managers": MANAGERS,
        "clients": [client(cid, branch, manager_id=manager, birth_date=birth, open_date=opened,
                           phone=f"1380000{i:04d}", segment="salaried")
                    for i, (cid, (branch, manager, birth, opened)) in enumerate(PEOPLE.items())],
        "snapshots": _snapshots(), "maturities": MATURITIES, "warnings": WARNINGS,
        "retention_cases": CASES})


WEEK = {"from_date": dt.date(2025, 12, 29), "to_date": dt.date(2026, 1, 4), "month": "2025-12"}
QUARTER = {"from_date": dt.date(2025, 10, 1), "to_date": dt.date(2025, 12, 31)}


# -- to-do lists ------------------------------------------------------------------------------

def test_maturities_this_week(runner):
    out = runner.run("todo_maturities", WEEK)
    assert list(out.columns) == ["maturity_date", "client_id", "name", "phone", "branch_id",
                                 "branch_name", "manager_id", "manager_name", "product_type",
                                 "maturing_amount", "tier", "aum", "list_rows"]
    assert [(str(r[0]), r[1], r[4], r[6], r[8], r[9], r[10], r[11]) for r in rows(out)] == [
        ("2025-12-29", "K1", "B1", "M1", "time_deposit", 50000.0, "gold", 60000.0),
        ("2026-01-02", "K2", "B1", "M1", "wealth", 300000.0, "platinum", 700000.0),
        ("2026-01-02", "K2", "B1", "M1", "fund", 20000.0, "platinum", 700000.0),
        ("2026-01-04", "K8", "B2", "M1", "bond", 90000.0, "platinum", 600000.0),
    ]
    assert runner.run("todo_maturities", {**WEEK, "branch_id": ["B2"]})["client_id"].tolist() \
        == ["K8"]
    assert runner.run("todo_maturities", {**WEEK, "manager_id": ["M2"]}).empty
    # a page of two rows, each counting the whole list
    page = runner.run("todo_maturities", {**WEEK, "page_rows": 2})
    assert rows(page[["client_id", "product_type", "list_rows"]]) == [
        ("K1", "time_deposit", 4), ("K2", "wealth", 4)]


def test_birthdays_this_week_wrap_into_the_new_year(runner):
    out = runner.run("todo_birthdays", WEEK)
    assert list(out.columns) == ["birthday", "age", "client_id", "name", "phone", "branch_id",
                                 "branch_name", "manager_id", "manager_name", "tier", "aum",
                                 "list_rows"]
    # K7 (31 Dec) closed in November: not on the list; K6's 3 January is in the week
    assert [(str(r[0]), r[1], r[2], r[9]) for r in rows(out)] == [
        ("2025-12-30", 35, "K1", "gold"),
        ("2026-01-02", 41, "K2", "platinum"),
        ("2026-01-03", 56, "K6", "diamond"),
    ]
    assert runner.run("todo_birthdays", {**WEEK, "manager_id": ["M2"]})["client_id"].tolist() \
        == ["K6"]
    page = runner.run("todo_birthdays", {**WEEK, "page_rows": 1})
    assert rows(page[["client_id", "name", "list_rows"]]) == [("K1", "客户K1", 3)]


def test_birthday_on_29_february(runner):
    # 2027 is no leap year: K3's birthday is kept on Sunday 28 February (week of the 22nd)
    week_2027 = {"from_date": dt.date(2027, 2, 22), "to_date": dt.date(2027, 2, 28),
                 "month": "2025-12"}
    assert [(str(r[0]), r[1], r[2]) for r in rows(runner.run("todo_birthdays", week_2027))] \
        == [("2027-02-28", 35, "K3")]
    # 2028 is: on the 29th, a Tuesday, which the week of Monday 28 February holds (with U1's
    # and U2's birthdays on 3 and 4 March)
    week_2028 = {"from_date": dt.date(2028, 2, 28), "to_date": dt.date(2028, 3, 5),
                 "month": "2025-12"}
    got = [(str(r[0]), r[1], r[2]) for r in rows(runner.run("todo_birthdays", week_2028))]
    assert got == [("2028-02-29", 36, "K3"), ("2028-03-03", 37, "U1"), ("2028-03-04", 37, "U2")]
    # and never twice: the week before has none
    week_before = {"from_date": dt.date(2028, 2, 21), "to_date": dt.date(2028, 2, 27),
                   "month": "2025-12"}
    assert runner.run("todo_birthdays", week_before).empty


def test_new_clients_this_week(runner):
    out = runner.run("todo_new_clients", WEEK)
    assert list(out.columns) == ["open_date", "client_id", "name", "phone", "branch_id",
                                 "branch_name", "manager_id", "manager_name", "segment", "tier",
                                 "aum", "list_rows"]
    # K5 opened the Sunday before, K4 the Monday after
    assert [(str(r[0]), r[1], r[4], r[6], r[9], r[10]) for r in rows(out)] == [
        ("2025-12-29", "K3", "B2", "M3", "mass", 20000.0)]
    no_row_yet = runner.run("todo_new_clients", {**WEEK, "month": "2025-11"})
    assert rows(no_row_yet[["client_id", "tier", "aum"]]) == [("K3", None, None)]
    assert rows(runner.run("todo_new_clients", {**WEEK, "page_rows": 1})[
        ["client_id", "list_rows"]]) == [("K3", 1)]


def test_vip_upgrades_and_downgrades_this_quarter(runner):
    out = runner.run("todo_vip_changes", QUARTER)
    assert list(out.columns) == ["month", "change", "client_id", "name", "phone", "branch_id",
                                 "branch_name", "manager_id", "manager_name", "from_tier",
                                 "to_tier", "aum_prev", "aum", "list_rows"]
    assert [(r[0], r[1], r[2], r[5], r[7], r[9], r[10], r[11], r[12]) for r in rows(out)] == [
        ("2025-10", "upgrade", "K4", "B1", "M1", "mass", "gold", 40000.0, 60000.0),
        ("2025-10", "upgrade", "K8", "B2", "M1", "mass", "gold", 40000.0, 60000.0),
        ("2025-11", "downgrade", "K5", "B1", "M2", "platinum", "mass", 600000.0, 30000.0),
        ("2025-12", "upgrade", "U2", "B2", None, "mass", "gold", 10000.0, 50000.0),
    ]
    assert runner.run("todo_vip_changes", {**QUARTER, "change": "downgrade"})[
        "client_id"].tolist() == ["K5"]
    page = runner.run("todo_vip_changes", {**QUARTER, "page_rows": 3})
    assert rows(page[["client_id", "list_rows"]]) == [("K4", 4), ("K8", 4), ("K5", 4)]
    assert runner.run("todo_vip_changes", {**QUARTER, "manager_id": ["M1"],
                                           "change": "upgrade"})["client_id"].tolist() == \
        ["K4", "K8"]
    # the quarter before (July to September) holds 2025-09, whose month before is not in the
    # data: no move can be seen there
    assert runner.run("todo_vip_changes", {"from_date": dt.date(2025, 7, 1),
                                           "to_date": dt.date(2025, 9, 30)}).empty


def test_vip_rank_setting_moves_the_line(runner):
    # with platinum as the lowest VIP tier, K8's rise to platinum in November is an upgrade
    # and K5's fall from platinum a downgrade; K4 and K8 reaching gold are not
    out = runner.run("todo_vip_changes", {**QUARTER, "vip_rank": 2})
    assert [(r[0], r[1], r[2]) for r in rows(out)] == [
        ("2025-11", "upgrade", "K8"), ("2025-11", "downgrade", "K5")]


# -- manager books ----------------------------------------------------------------------------

def test_books_against_the_limit(runner):
    out = runner.run("manager_books", {"month": "2025-12", "book_limit": 2})
    assert list(out.columns) == ["manager_id", "manager_name", "branch_id", "branch_name",
                                 "role", "clients", "vip_clients", "book_limit", "over_limit",
                                 "load_rate", "aum", "vip_aum", "warnings", "warnings_open"]
    # M1: K1 gold, K2 platinum, K4 gold, K8 platinum (4 VIP); M2: K5 mass, K6 diamond;
    # M3: K3 mass. December's warnings (as the warnings query lists them): the maturity
    # warnings computed seven days before each product of the week (K1 twice, K2 twice, K8,
    # K6) and the delivered W3 (K2), W5 (K6), W6 (U1, no manager). K2's case C2 (opened
    # 2 December, naming W3) answers W3 and K2's maturities (same month, within 30 days); K6's
    # case C3 answers W5 and K6's maturity; K1's and K8's have no case.
    assert rows(out) == [
        ("M1", "王经理", "B1", "静安支行", "理财经理", 4, 4, 2, 2, 2.0,
         1_440_000.0, 1_440_000.0, 6, 3),
        ("M2", "李经理", "B1", "静安支行", "客户经理", 2, 1, 2, 0, 0.5,
         3_030_000.0, 3_000_000.0, 2, 0),
        ("M3", "张经理", "B2", "徐汇支行", "客户经理", 1, 0, 2, 0, 0.0, 20000.0, 0.0, 0, 0),
    ]
    # the same count as the warnings query's list without a case, manager by manager
    listed = runner.run("warnings", {"month": "2025-12"})
    unanswered = listed[listed["case_id"].isna()].groupby("manager_id").size().to_dict()
    assert unanswered == {"M1": 3}


def test_books_default_limit_and_branch_filter(runner):
    out = runner.run("manager_books", {"month": "2025-12", "branch_id": ["B2"]})
    assert rows(out[["manager_id", "clients", "book_limit", "over_limit"]]) == [
        ("M3", 1, 250, 0)]
    earlier = runner.run("manager_books", {"month": "2025-10"}).set_index("manager_id")
    # in October K4 and K8 had just reached gold, K8 in M2's book then (the month's manager);
    # K7 was M2's, K5 platinum
    assert earlier.loc["M1", "vip_clients"] == 3 and earlier.loc["M2", "vip_clients"] == 4
    assert earlier.loc["M1", "warnings"] == 0  # nothing raised in October


def test_a_branch_heads_list_names_a_client_who_has_moved_away_since(runner):
    # K8 was B1's client in October and is B2's now: the head of B1 sees its October row, and
    # the names looked up for the rows name it too (personal data shown to branch heads)
    head = runner.runner.for_scope(Scope(branches=("B1",), manager_id=None, personal_data=True))
    out = head.run("client_list", {"month": "2025-10"}).set_index("client_id")
    assert out.loc["K8", "branch_id"] == "B1"
    assert (out.loc["K8", "name"], out.loc["K8", "phone"]) == ("客户K8", "13800000007")
    masked = runner.runner.for_scope(Scope(branches=("B1",), manager_id=None,
                                           personal_data=False))
    assert masked.run("client_list", {"month": "2025-10"}).set_index("client_id").loc[
        "K8", "phone"] != "13800000007"
    # a manager's lookups stay within their own clients: M3 (B2) has K3 only
    own = runner.runner.for_scope(Scope(branches=("B2",), manager_id="M3", personal_data=True))
    assert own.run("client_list", {"month": "2025-12"})[["client_id", "name"]].values.tolist() \
        == [["K3", "客户K3"]]


def test_unassigned_gold_clients(runner):
    out = runner.run("unassigned_clients", {"month": "2025-12"})
    assert list(out.columns) == ["client_id", "name", "phone", "branch_id", "branch_name",
                                 "tier", "aum", "open_date", "segment", "list_rows",
                                 "list_aum"]
    # U1 at 60,000, U2 at exactly 50,000 (the floor is inclusive); U3's row is closed
    assert [(r[0], r[3], r[5], r[6], r[9], r[10]) for r in rows(out)] == [
        ("U1", "B1", "gold", 60000.0, 2, 110000.0), ("U2", "B2", "gold", 50000.0, 2, 110000.0)]
    # a page of one row still counts and sums the whole list
    page = runner.run("unassigned_clients", {"month": "2025-12", "page_rows": 1})
    assert rows(page[["client_id", "list_rows", "list_aum"]]) == [("U1", 2, 110000.0)]
    # in November U2 had 10,000: below the floor
    assert runner.run("unassigned_clients", {"month": "2025-11"})["client_id"].tolist() == \
        ["U1"]
    assert runner.run("unassigned_clients", {"month": "2025-12", "branch_id": ["B2"],
                                             "assign_floor": 60000}).empty


def test_manager_scope_sees_its_own_book(runner):
    from tierflow.access import Scope

    mine = runner.runner.for_scope(Scope(branches=("B1",), manager_id="M2",
                                         personal_data=True))
    out = mine.run("manager_books", {"month": "2025-12", "book_limit": 2})
    assert rows(out[["manager_id", "clients", "vip_clients", "warnings", "warnings_open"]]) \
        == [("M2", 2, 1, 2, 0)]
    assert mine.run("todo_birthdays", WEEK)["client_id"].tolist() == ["K6"]
    assert mine.run("unassigned_clients", {"month": "2025-12"}).empty
