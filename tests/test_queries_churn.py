"""Churn and cohort queries on literal rows, against output rows computed by hand.

Queries: cohort_retention (per churn definition), cohort_breakdown, churn_monthly, lifecycle,
cohort_clients. Default settings: gold from 50,000, VIP = gold or above (rank >= 1), churn
definition vip_to_mass, AUM floor 1,000.

The main fixture (branches B1, B2; segment from the clients table; "-" = no row):

    client  branch    segment   2024-01          2024-02          2024-03         2024-04
    A       B1        retiree   60,000 gold      40,000 mass      70,000 gold     80,000 gold
    B       B1        salaried  800,000 plat     400,000 gold     closed (0)      -
    C       B2        (empty)   20,000 mass      100,000 gold     100,000 gold    500 mass
    D       B1 → B2   retiree   3,000,000 diam   3,000,000 diam   30,000 mass     -
    E       B2        salaried  800 mass         5,000 mass       -               2,000 mass
    F       B1        salaried  -                -                200,000 gold    200,000 gold

    D's snapshot branch is B1 in 2024-01 and B2 from 2024-02 (its clients row says B2).
    A falls to mass and comes back; E leaves and comes back; B slips to gold (VIP, not mass),
    then closes; D falls, then leaves.

    VIP cohorts (first VIP month, branch and tier that month):
      2024-01: A (B1 gold, 60,000), B (B1 platinum, 800,000), D (B1 diamond, 3,000,000)
      2024-02: C (B2 gold, 100,000)
      2024-03: F (B1 gold, 200,000)

The gap fixture (months 2024-01, 2024-04, 2024-07, 2025-01: the data has holes, so cohort
month + 3, + 6 and + 12 exist but no month has its previous month):

    client  branch  2024-01          2024-04       2024-07        2025-01
    X       B1      50,000 gold      60,000 gold   10,000 mass    55,000 gold
    Y       B2      600,000 plat     -             600,000 plat   -
"""

import pytest

from conftest import BRANCHES, client, rows, snap, write_delivery
from tierflow.access import EVERYTHING
from tierflow.ingest import ingest
from tierflow.queries import QueryRunner
from tierflow.settings import load_settings

MANAGERS = [
    {"manager_id": "M1", "manager_name": "王经理", "branch_id": "B1"},
    {"manager_id": "M2", "manager_name": "李经理", "branch_id": "B2"},
]
CLIENTS = [
    client("A", "B1", segment="retiree", phone="13800000001", manager_id="M1"),
    client("B", "B1", segment="salaried", phone="13800000002", manager_id="M1"),
    client("C", "B2", segment="", phone="13800000003", manager_id="M2"),
    client("D", "B2", segment="retiree", phone="13800000004", manager_id="M2"),
    client("E", "B2", segment="salaried", phone="", manager_id=""),
    client("F", "B1", segment="salaried", phone="13800000006", manager_id="M1"),
]
SNAPSHOTS = [
    snap("2024-01", "A", "60000"), snap("2024-01", "B", "800000"),
    snap("2024-01", "C", "20000"), snap("2024-01", "D", "3000000", branch_id="B1"),
    snap("2024-01", "E", "800"),
    snap("2024-02", "A", "40000"), snap("2024-02", "B", "400000"),
    snap("2024-02", "C", "100000"), snap("2024-02", "D", "3000000", branch_id="B2"),
    snap("2024-02", "E", "5000"),
    snap("2024-03", "A", "70000"), snap("2024-03", "B", "0", status="closed"),
    snap("2024-03", "C", "100000"), snap("2024-03", "D", "30000", branch_id="B2"),
    snap("2024-03", "F", "200000"),
    snap("2024-04", "A", "80000"), snap("2024-04", "C", "500"),
    snap("2024-04", "E", "2000"), snap("2024-04", "F", "200000"),
]
GAP_CLIENTS = [client("X", "B1"), client("Y", "B2")]
GAP_SNAPSHOTS = [
    snap("2024-01", "X", "50000"), snap("2024-01", "Y", "600000"),
    snap("2024-04", "X", "60000"),
    snap("2024-07", "X", "10000"), snap("2024-07", "Y", "600000"),
    snap("2025-01", "X", "55000"),
]
MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]
DEFINITIONS = ["vip_to_mass", "closure", "aum_floor"]


def _lake(tmp_path_factory, name, tables, churn_aum_floor: int | None = None) -> QueryRunner:
    """The tables loaded into a new data folder; with `churn_aum_floor`, its settings.toml sets
    that floor (baked into the lake's aggregates at load, as a bank's setting would be)."""
    tmp = tmp_path_factory.mktemp(name)
    delivery = write_delivery(tmp / "delivery", {"branches": BRANCHES, **tables})
    (tmp / "data").mkdir()
    if churn_aum_floor is not None:
        (tmp / "data" / "settings.toml").write_text(
            f"[churn]\nchurn_aum_floor = {churn_aum_floor}\n")
    report = ingest(delivery, tmp / "data", load_settings(tmp / "data"))
    assert not report.rejected, report.summary()
    assert report.set_aside.height == 0, report.summary()
    return QueryRunner(tmp / "data").for_scope(EVERYTHING)


# Module-scoped: the queries only read, so one load per fixture keeps the module fast.
@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    return _lake(tmp_path_factory, "churn", {"managers": MANAGERS, "clients": CLIENTS,
                                             "snapshots": SNAPSHOTS})


@pytest.fixture(scope="module")
def floor_runner(tmp_path_factory):
    """The runner's lake loaded with another churn floor (one load per floor)."""
    made = {}

    def at(floor: int) -> QueryRunner:
        if floor not in made:
            made[floor] = _lake(tmp_path_factory, f"floor{floor}",
                                {"managers": MANAGERS, "clients": CLIENTS,
                                 "snapshots": SNAPSHOTS}, churn_aum_floor=floor)
        return made[floor]
    return at


@pytest.fixture(scope="module")
def gap(tmp_path_factory):
    return _lake(tmp_path_factory, "gap", {"clients": GAP_CLIENTS, "snapshots": GAP_SNAPSHOTS})


# -- cohort_retention, per churn definition ---------------------------------------------------

JAN_AUM = 60_000 + 800_000 + 3_000_000  # the 2024-01 cohort's AUM at k = 0: 3,860,000


def test_cohort_retention_default_is_vip_to_mass(runner):
    out = runner.run("cohort_retention")
    assert list(out.columns) == ["cohort_month", "months_since", "cohort_size", "retained",
                                 "retention_rate", "aum_retention_rate"]
    expected = [
        ("2024-01", 0, 3, 3, 1.0, 1.0),
        # Feb: A is mass; B (gold, 400,000) and D (3,000,000) still VIP
        ("2024-01", 1, 3, 2, round(2 / 3, 9), round(3_400_000 / JAN_AUM, 9)),
        # Mar: A gold again (70,000; recurring), B closed, D mass
        ("2024-01", 2, 3, 1, round(1 / 3, 9), round(70_000 / JAN_AUM, 9)),
        # Apr: A 80,000; B and D gone
        ("2024-01", 3, 3, 1, round(1 / 3, 9), round(80_000 / JAN_AUM, 9)),
        ("2024-02", 0, 1, 1, 1.0, 1.0),
        ("2024-02", 1, 1, 1, 1.0, 1.0),   # C gold in Mar
        ("2024-02", 2, 1, 0, 0.0, 0.0),   # C mass (500) in Apr
        ("2024-03", 0, 1, 1, 1.0, 1.0),
        ("2024-03", 1, 1, 1, 1.0, 1.0),   # F gold in Apr
    ]
    assert rows(out) == expected
    assert rows(runner.run("cohort_retention", {"churn_definition": "vip_to_mass"})) == expected


def test_cohort_retention_closure_counts_every_present_month(runner):
    out = runner.run("cohort_retention", {"churn_definition": "closure"})
    assert rows(out) == [
        ("2024-01", 0, 3, 3, 1.0, 1.0),
        # Feb: all three present, A as mass: 40,000 + 400,000 + 3,000,000
        ("2024-01", 1, 3, 3, 1.0, round(3_440_000 / JAN_AUM, 9)),
        # Mar: A 70,000 and D 30,000 (mass, still present); B closed
        ("2024-01", 2, 3, 2, round(2 / 3, 9), round(100_000 / JAN_AUM, 9)),
        ("2024-01", 3, 3, 1, round(1 / 3, 9), round(80_000 / JAN_AUM, 9)),
        ("2024-02", 0, 1, 1, 1.0, 1.0),
        ("2024-02", 1, 1, 1, 1.0, 1.0),
        ("2024-02", 2, 1, 1, 1.0, 0.005),  # C present with 500: 500 / 100,000
        ("2024-03", 0, 1, 1, 1.0, 1.0),
        ("2024-03", 1, 1, 1, 1.0, 1.0),
    ]


def test_cohort_retention_aum_floor(runner, floor_runner):
    out = runner.run("cohort_retention", {"churn_definition": "aum_floor"})
    # Floor 1,000: as closure except C in Apr (500 < 1,000 is not retained).
    assert rows(out) == [
        ("2024-01", 0, 3, 3, 1.0, 1.0),
        ("2024-01", 1, 3, 3, 1.0, round(3_440_000 / JAN_AUM, 9)),
        ("2024-01", 2, 3, 2, round(2 / 3, 9), round(100_000 / JAN_AUM, 9)),
        ("2024-01", 3, 3, 1, round(1 / 3, 9), round(80_000 / JAN_AUM, 9)),
        ("2024-02", 0, 1, 1, 1.0, 1.0),
        ("2024-02", 1, 1, 1, 1.0, 1.0),
        ("2024-02", 2, 1, 0, 0.0, 0.0),
        ("2024-03", 0, 1, 1, 1.0, 1.0),
        ("2024-03", 1, 1, 1, 1.0, 1.0),
    ]
    # Floor 35,000: D's 30,000 in Mar no longer counts; A's 40,000 in Feb still does.
    high = floor_runner(35_000).run("cohort_retention", {"churn_definition": "aum_floor"})
    assert rows(high)[:4] == [
        ("2024-01", 0, 3, 3, 1.0, 1.0),
        ("2024-01", 1, 3, 3, 1.0, round(3_440_000 / JAN_AUM, 9)),
        ("2024-01", 2, 3, 1, round(1 / 3, 9), round(70_000 / JAN_AUM, 9)),
        ("2024-01", 3, 3, 1, round(1 / 3, 9), round(80_000 / JAN_AUM, 9)),
    ]
    # Floor 500: C's 500 in Apr is exactly on the floor, which counts as retained.
    at_500 = floor_runner(500).run("cohort_retention", {"churn_definition": "aum_floor"})
    assert rows(at_500)[6] == ("2024-02", 2, 1, 1, 1.0, 0.005)


# -- cohort_breakdown ---------------------------------------------------------------------------

NO_6_12 = (0, 0, None, 0, 0, None)  # 4 months of data: no cohort month + 6 or + 12 exists


def test_cohort_breakdown_by_branch_default(runner):
    out = runner.run("cohort_breakdown")
    assert list(out.columns) == ["group_key", "cohort_clients", "eligible_3", "retained_3",
                                 "rate_3", "eligible_6", "retained_6", "rate_6", "eligible_12",
                                 "retained_12", "rate_12"]
    assert rows(out) == [
        # A, B, D (2024-01, in B1 then, D too) and F (2024-03). Eligible at 3: the 2024-01
        # cohort (2024-04 is in the data), F not (2024-06 is not). Retained in Apr: A only.
        ("B1", 4, 3, 1, round(1 / 3, 9)) + NO_6_12,
        # C (2024-02): 2024-05 is not in the data, nobody eligible: rate empty
        ("B2", 1, 0, 0, None) + NO_6_12,
    ]
    assert rows(runner.run("cohort_breakdown", {"dimension": "branch"})) == rows(out)


def test_cohort_breakdown_by_tier_in_rank_order(runner):
    out = runner.run("cohort_breakdown", {"dimension": "tier"})
    assert rows(out) == [
        ("gold", 3, 1, 1, 1.0) + NO_6_12,      # A, C, F; only A eligible, gold in Apr
        ("platinum", 1, 1, 0, 0.0) + NO_6_12,  # B, gone in Apr
        ("diamond", 1, 1, 0, 0.0) + NO_6_12,   # D, gone in Apr
    ]


def test_cohort_breakdown_by_segment_with_unknown(runner):
    out = runner.run("cohort_breakdown", {"dimension": "segment"})
    assert rows(out) == [
        ("retiree", 2, 2, 1, 0.5) + NO_6_12,   # A (retained), D
        ("salaried", 2, 1, 0, 0.0) + NO_6_12,  # B eligible, not retained; F not eligible
        ("unknown", 1, 0, 0, None) + NO_6_12,  # C has no segment
    ]


def test_cohort_breakdown_branch_filter_and_empty(runner):
    out = runner.run("cohort_breakdown", {"dimension": "tier", "branch_id": "B2"})
    assert rows(out) == [("gold", 1, 0, 0, None) + NO_6_12]  # C only
    # Nobody is ever private: no cohort, no rows.
    assert rows(runner.run("cohort_breakdown", {"vip_rank": 4})) == []


def test_cohort_breakdown_at_3_6_and_12_months(gap):
    # X (B1): Apr gold, Jul mass, 2025-01 gold. Y (B2): Apr missing, Jul platinum, 2025-01 missing.
    assert rows(gap.run("cohort_breakdown")) == [
        ("B1", 1, 1, 1, 1.0, 1, 0, 0.0, 1, 1, 1.0),
        ("B2", 1, 1, 0, 0.0, 1, 1, 1.0, 1, 0, 0.0),
    ]
    # closure: X's mass month (present with 10,000) counts as retained at 6
    assert rows(gap.run("cohort_breakdown", {"churn_definition": "closure"})) == [
        ("B1", 1, 1, 1, 1.0, 1, 1, 1.0, 1, 1, 1.0),
        ("B2", 1, 1, 0, 0.0, 1, 1, 1.0, 1, 0, 0.0),
    ]


# -- churn_monthly ------------------------------------------------------------------------------

def test_churn_monthly_vip_to_mass_default(runner):
    out = runner.run("churn_monthly")
    assert list(out.columns) == ["month", "at_risk", "churned", "churn_rate"]
    assert rows(out) == [
        # no row for 2024-01: no previous month
        ("2024-02", 3, 1, round(1 / 3, 9)),  # VIP in Jan: A B D; A falls to mass
        ("2024-03", 3, 2, round(2 / 3, 9)),  # VIP in Feb: B C D; B closed, D mass
        ("2024-04", 3, 1, round(1 / 3, 9)),  # VIP in Mar: A (back) C F; C falls to 500
    ]


def test_churn_monthly_closure(runner):
    assert rows(runner.run("churn_monthly", {"churn_definition": "closure"})) == [
        ("2024-02", 5, 0, 0.0),   # present in Jan: A B C D E; all present in Feb
        ("2024-03", 5, 2, 0.4),   # present in Feb: A B C D E; B closed, E missing
        ("2024-04", 4, 1, 0.25),  # present in Mar: A C D F; D missing (E's return is no offset)
    ]


def test_churn_monthly_aum_floor(runner, floor_runner):
    assert rows(runner.run("churn_monthly", {"churn_definition": "aum_floor"})) == [
        ("2024-02", 4, 0, 0.0),   # >= 1,000 in Jan: A B C D (E has 800)
        ("2024-03", 5, 2, 0.4),   # >= 1,000 in Feb: A B C D E (5,000); B closed, E missing
        ("2024-04", 4, 2, 0.5),   # >= 1,000 in Mar: A C D F; C at 500, D missing
    ]
    high = floor_runner(35_000).run("churn_monthly", {"churn_definition": "aum_floor"})
    assert rows(high) == [
        ("2024-02", 3, 0, 0.0),   # >= 35,000 in Jan: A B D; A's 40,000 in Feb stays above
        ("2024-03", 4, 2, 0.5),   # in Feb: A B C D; B closed, D at 30,000
        ("2024-04", 3, 1, round(1 / 3, 9)),  # in Mar: A C F; C at 500
    ]


def test_churn_monthly_higher_vip_rank(runner):
    # VIP = platinum or above; churned = mass or gone, not merely below VIP
    assert rows(runner.run("churn_monthly", {"vip_rank": 2})) == [
        ("2024-02", 2, 0, 0.0),   # B and D; B slips to gold: not churned
        ("2024-03", 1, 1, 1.0),   # D only (B is gold in Feb); D falls to mass
        ("2024-04", 0, 0, None),  # nobody platinum in Mar: rate empty, not 0
    ]


def test_churn_monthly_by_branch_in_the_previous_month(runner):
    b1 = rows(runner.run("churn_monthly", {"branch_id": "B1"}))
    b2 = rows(runner.run("churn_monthly", {"branch_id": "B2"}))
    assert b1 == [
        ("2024-02", 3, 1, round(1 / 3, 9)),  # D was in B1 in Jan
        ("2024-03", 1, 1, 1.0),              # B; D is in B2 from Feb, A is mass in Feb
        ("2024-04", 2, 0, 0.0),              # A and F stay gold
    ]
    assert b2 == [
        ("2024-02", 0, 0, None),   # nobody VIP in B2 in Jan
        ("2024-03", 2, 1, 0.5),    # C and D (B2 in Feb); D falls to mass
        ("2024-04", 1, 1, 1.0),    # C falls to 500
    ]
    every = rows(runner.run("churn_monthly"))
    assert [(m, r1 + r2, c1 + c2) for (m, r1, c1, _), (_, r2, c2, _) in zip(b1, b2)] == \
        [(m, r, c) for m, r, c, _ in every]


def test_churn_monthly_needs_the_previous_month(gap):
    # 2024-04's previous month (2024-03) is not in the data, nor is any other's.
    out = gap.run("churn_monthly")
    assert list(out.columns) == ["month", "at_risk", "churned", "churn_rate"]
    assert rows(out) == []


# -- lifecycle ----------------------------------------------------------------------------------

def test_lifecycle_all_branches(runner):
    out = runner.run("lifecycle")
    assert list(out.columns) == ["month", "new", "retained", "resurrected", "churned"]
    assert rows(out) == [
        ("2024-01", 5, 0, 0, 0),  # A B C D E; first month: nothing churned
        ("2024-02", 0, 5, 0, 0),
        ("2024-03", 1, 3, 0, 2),  # F new; A C D stay; B closed and E missing churn
        ("2024-04", 0, 3, 1, 1),  # A C F stay; E comes back; D gone
    ]


def test_lifecycle_by_branch_follows_moves(runner):
    assert rows(runner.run("lifecycle", {"branch_id": "B1"})) == [
        ("2024-01", 3, 0, 0, 0),  # A B D
        ("2024-02", 0, 2, 0, 0),  # A B; D moved to B2: not churned from B1
        ("2024-03", 1, 1, 0, 1),  # F new, A; B churned
        ("2024-04", 0, 2, 0, 0),  # A F
    ]
    assert rows(runner.run("lifecycle", {"branch_id": ["B2"]})) == [
        ("2024-01", 2, 0, 0, 0),  # C E
        ("2024-02", 0, 3, 0, 0),  # C E, and D: present in Jan (in B1), so retained
        ("2024-03", 0, 2, 0, 1),  # C D; E (B2 in Feb) missing
        ("2024-04", 0, 1, 1, 1),  # C; E resurrected; D (B2 in Mar) gone
    ]


def test_lifecycle_with_gaps_in_the_data(gap):
    # M-1 is the calendar month before: after a hole, a returning client is resurrected.
    assert rows(gap.run("lifecycle")) == [
        ("2024-01", 2, 0, 0, 0),
        ("2024-04", 0, 0, 1, 0),  # X; nobody was present in 2024-03 to churn
        ("2024-07", 0, 0, 2, 0),  # X and Y
        ("2025-01", 0, 0, 1, 0),
    ]


@pytest.mark.parametrize("branch", [None, "B1", "B2"])
def test_lifecycle_adds_up_to_the_present_clients(runner, branch):
    params = {"branch_id": branch} if branch else {}
    for month, new, retained, resurrected, _ in rows(runner.run("lifecycle", params)):
        present = runner.run("tier_distribution", {"month": month, **params})["clients"].sum()
        assert new + retained + resurrected == present, (month, branch)


# -- cohort_clients -----------------------------------------------------------------------------

CLIENT_COLUMNS = ["client_id", "name", "phone", "branch_id", "manager_id", "cohort_aum",
                  "is_retained", "aum_at_k", "tier_at_k"]
A_ = ("A", "客户A", "13800000001", "B1", "M1", 60_000.0)
B_ = ("B", "客户B", "13800000002", "B1", "M1", 800_000.0)
C_ = ("C", "客户C", "13800000003", "B2", "M2", 100_000.0)
D_ = ("D", "客户D", "13800000004", "B1", "M2", 3_000_000.0)  # B1: its branch in 2024-01


def members(out):
    """A cohort cell's rows, without the list's totals (the same on every row)."""
    return rows(out[CLIENT_COLUMNS])


def test_cohort_clients_one_cell(runner):
    out = runner.run("cohort_clients", {"cohort_month": "2024-01", "months_since": 1})
    assert list(out.columns) == CLIENT_COLUMNS + ["list_rows", "list_aum"]
    assert members(out) == [  # by cohort AUM, largest first
        D_ + (True, 3_000_000.0, "diamond"),
        B_ + (True, 400_000.0, "gold"),
        A_ + (False, 40_000.0, "mass"),
    ]


def test_cohort_clients_retained_filter(runner):
    cell = {"cohort_month": "2024-01", "months_since": 1}
    assert members(runner.run("cohort_clients", {**cell, "retained": "no"})) == [
        A_ + (False, 40_000.0, "mass")]
    assert [r[0] for r in members(runner.run("cohort_clients", {**cell, "retained": "yes"}))] == \
        ["D", "B"]


def test_cohort_clients_not_present_has_no_aum_or_tier(runner):
    k2 = runner.run("cohort_clients", {"cohort_month": "2024-01", "months_since": 2,
                                       "churn_definition": "closure"})
    assert members(k2) == [
        D_ + (True, 30_000.0, "mass"),   # present as mass: retained under closure
        B_ + (False, None, None),        # closed row: not present
        A_ + (True, 70_000.0, "gold"),
    ]
    k3 = runner.run("cohort_clients", {"cohort_month": "2024-01", "months_since": 3})
    assert members(k3) == [D_ + (False, None, None), B_ + (False, None, None),  # no rows in Apr
                        A_ + (True, 80_000.0, "gold")]


def test_cohort_clients_aum_floor(runner):
    cell = {"cohort_month": "2024-02", "months_since": 2}
    assert members(runner.run("cohort_clients", {**cell, "churn_definition": "aum_floor"})) == [
        C_ + (False, 500.0, "mass")]   # 500 under the 1,000 floor
    assert members(runner.run("cohort_clients", {**cell, "churn_definition": "closure"})) == [
        C_ + (True, 500.0, "mass")]
    assert members(runner.run("cohort_clients", {**cell, "churn_definition": "aum_floor",
                                              "churn_aum_floor": 500})) == [
        C_ + (True, 500.0, "mass")]    # the floor itself counts as kept


def test_cohort_clients_empty_cells(runner):
    jan = {"cohort_month": "2024-01"}
    out = runner.run("cohort_clients", {**jan, "months_since": 0, "branch_id": "B2"})
    assert list(out.columns) == CLIENT_COLUMNS + ["list_rows", "list_aum"]
    assert members(out) == []                                                   # D was in B1
    assert members(runner.run("cohort_clients", {**jan, "months_since": 4})) == []   # 2024-05
    assert members(runner.run("cohort_clients", {"cohort_month": "2024-04",
                                              "months_since": 0})) == []      # no cohort


def test_cohort_clients_come_a_page_at_a_time_with_the_totals_of_the_cell(runner):
    cell = {"cohort_month": "2024-01", "months_since": 1}
    page = runner.run("cohort_clients", {**cell, "page_rows": 2})
    # D and B of the three members; their AUM at k: 3,000,000 + 400,000 + 40,000 (A's)
    assert rows(page[["client_id", "list_rows", "list_aum"]]) == [
        ("D", 3, 3_440_000.0), ("B", 3, 3_440_000.0)]
    # k = 3: D and B have no row in April, counted as 0 in the AUM; A has 80,000
    page = runner.run("cohort_clients", {**cell, "months_since": 3, "page_rows": 1})
    assert rows(page[["client_id", "list_rows", "list_aum"]]) == [("D", 3, 80_000.0)]


@pytest.mark.parametrize("definition", DEFINITIONS)
@pytest.mark.parametrize("branch", [None, "B1"])
def test_cohort_clients_add_up_to_cohort_retention(runner, definition, branch):
    params = {"churn_definition": definition, **({"branch_id": branch} if branch else {})}
    cells = rows(runner.run("cohort_retention", params))
    assert cells
    for month, k, size, retained, _, _ in cells:
        cell = {**params, "cohort_month": month, "months_since": k}
        members = runner.run("cohort_clients", cell)
        assert len(members) == size, (month, k)
        assert int(members["is_retained"].sum()) == retained, (month, k)
