"""Every named query on small literal rows, against output rows computed by hand.

The fixture months (B1 and B2 are branches):

    client  branch  2024-01            2024-02             2024-03
    C01     B1      50,000.00 gold     49,999.99 mass      50,000.00 gold (back: recurring)
    C02     B1      49,999.99 mass     50,000.00 gold      50,000.00 gold
    C03     B1      2,000,000 diamond  closed              -
    C04     B1      -                  600,000 platinum    600,000 platinum  (new in Feb)
    C05     B2      6,000,000 private  7,000,000 private   7,000,000 private
    C06     B1      1,000 mass         -                   1,500 mass (leaves and returns)
    C07     B2      100 mass           100 mass            100 mass
"""

import pytest

from conftest import client, rows, snap
from tierflow.queries import QueryError

CLIENTS = [client("C01"), client("C02"), client("C03"), client("C04"), client("C05", "B2"),
           client("C06"), client("C07", "B2")]
SNAPSHOTS = [
    snap("2024-01", "C01", "50000.00"), snap("2024-01", "C02", "49999.99"),
    snap("2024-01", "C03", "2000000"), snap("2024-01", "C05", "6000000"),
    snap("2024-01", "C06", "1000"), snap("2024-01", "C07", "100"),
    snap("2024-02", "C01", "49999.99"), snap("2024-02", "C02", "50000.00"),
    snap("2024-02", "C03", "0", status="closed"), snap("2024-02", "C04", "600000"),
    snap("2024-02", "C05", "7000000"), snap("2024-02", "C07", "100"),
    snap("2024-03", "C01", "50000.00"), snap("2024-03", "C02", "50000"),
    snap("2024-03", "C04", "600000"), snap("2024-03", "C05", "7000000"),
    snap("2024-03", "C06", "1500"), snap("2024-03", "C07", "100"),
]


def case(case_id, branch, outcome, closed_on="", stake="", kept=""):
    return {"case_id": case_id, "client_id": "C01", "branch_id": branch,
            "opened_on": "2024-01-20", "outcome": outcome, "closed_on": closed_on,
            "aum_at_stake": stake, "aum_kept": kept}


CASES = [
    case("K1", "B1", "retained", "2024-02-10", "100000", "80000"),
    case("K2", "B1", "lost", "2024-02-20", "50000", "0"),
    case("K3", "B1", "pending", "", "70000", ""),       # pending: left out
    case("K4", "B2", "retained", "2024-03-05", "", ""),  # missing amounts count as 0
    case("K5", "B1", "retained", "2024-03-15", "30000", "30000"),
]


@pytest.fixture
def runner(build_lake):
    return build_lake({"clients": CLIENTS, "snapshots": SNAPSHOTS, "retention_cases": CASES})


def test_tier_distribution_all_branches(runner):
    out = runner.run("tier_distribution", {"month": "2024-01"})
    assert list(out.columns) == ["tier", "clients", "aum"]
    assert rows(out) == [
        ("mass", 3, 51_099.99),  # C02 49,999.99 (one cent under gold) + C06 + C07
        ("gold", 1, 50_000.00),  # C01 exactly on the gold floor
        ("platinum", 0, 0.0),
        ("diamond", 1, 2_000_000.0),
        ("private", 1, 6_000_000.0),
    ]


def test_tier_distribution_one_branch_leaves_out_closed_and_absent(runner):
    out = runner.run("tier_distribution", {"month": "2024-02", "branch_id": "B1"})
    # C03 is closed in Feb and C06 absent: neither is present.
    assert rows(out) == [("mass", 1, 49_999.99), ("gold", 1, 50_000.0),
                         ("platinum", 1, 600_000.0), ("diamond", 0, 0.0), ("private", 0, 0.0)]


def test_tier_distribution_empty_month_gives_zero_rows_per_tier(runner):
    out = runner.run("tier_distribution", {"month": "2023-12"})
    assert rows(out) == [(t, 0, 0.0) for t in ("mass", "gold", "platinum", "diamond", "private")]


def test_tier_transition_with_new_and_exited(runner):
    out = runner.run("tier_transition", {"from_month": "2024-01", "to_month": "2024-02"})
    assert list(out.columns) == ["from_tier", "to_tier", "clients", "aum_from", "aum_to"]
    assert rows(out) == [
        ("new", "platinum", 1, 0.0, 600_000.0),           # C04 opened in Feb
        ("mass", "mass", 1, 100.0, 100.0),                # C07
        ("mass", "gold", 1, 49_999.99, 50_000.0),         # C02 crosses the floor
        ("mass", "exited", 1, 1_000.0, 0.0),              # C06 missing in Feb
        ("gold", "mass", 1, 50_000.0, 49_999.99),         # C01 one cent under
        ("diamond", "exited", 1, 2_000_000.0, 0.0),       # C03 closed
        ("private", "private", 1, 6_000_000.0, 7_000_000.0),
    ]


def test_tier_transition_returning_client_is_new_again(runner):
    out = runner.run("tier_transition", {"from_month": "2024-02", "to_month": "2024-03",
                                         "branch_id": "B1"})
    assert rows(out) == [
        ("new", "mass", 1, 0.0, 1_500.0),        # C06 back after a gap
        ("mass", "gold", 1, 49_999.99, 50_000.0),
        ("gold", "gold", 1, 50_000.0, 50_000.0),
        ("platinum", "platinum", 1, 600_000.0, 600_000.0),
    ]


def test_cohort_retention_counts_recurring_returns(runner):
    out = runner.run("cohort_retention")
    assert list(out.columns) == ["cohort_month", "months_since", "cohort_size", "retained",
                                 "retention_rate", "aum_retention_rate"]
    jan_aum = 50_000 + 2_000_000 + 6_000_000
    assert rows(out) == [
        ("2024-01", 0, 3, 3, 1.0, 1.0),
        ("2024-01", 1, 3, 1, round(1 / 3, 9), round(7_000_000 / jan_aum, 9)),
        # C01 is gold again in March: it counts again
        ("2024-01", 2, 3, 2, round(2 / 3, 9), round(7_050_000 / jan_aum, 9)),
        ("2024-02", 0, 2, 2, 1.0, 1.0),
        ("2024-02", 1, 2, 2, 1.0, 1.0),
    ]


def test_cohort_retention_one_branch(runner):
    out = runner.run("cohort_retention", {"branch_id": "B1"})
    assert rows(out) == [
        ("2024-01", 0, 2, 2, 1.0, 1.0),
        ("2024-01", 1, 2, 0, 0.0, 0.0),
        ("2024-01", 2, 2, 1, 0.5, round(50_000 / 2_050_000, 9)),
        ("2024-02", 0, 2, 2, 1.0, 1.0),
        ("2024-02", 1, 2, 2, 1.0, 1.0),
    ]


def test_retention_success_all_time(runner):
    out = runner.run("retention_success")
    assert list(out.columns) == ["branch_id", "closed_cases", "retained", "lost",
                                 "success_rate", "aum_at_stake", "aum_kept", "aum_success_rate"]
    assert rows(out) == [
        ("B1", 3, 2, 1, round(2 / 3, 9), 180_000.0, 110_000.0, round(110_000 / 180_000, 9)),
        ("B2", 1, 1, 0, 1.0, 0.0, 0.0, None),  # no amounts: rate left empty, not 0
    ]


def test_retention_success_by_closing_period(runner):
    out = runner.run("retention_success", {"from_date": "2024-02-01", "to_date": "2024-02-29"})
    assert rows(out) == [("B1", 2, 1, 1, 0.5, 150_000.0, 80_000.0, round(80_000 / 150_000, 9))]


def test_unknown_parameter_and_bad_month_are_refused(runner):
    with pytest.raises(QueryError, match="has no parameter colour"):
        runner.run("tier_distribution", {"month": "2024-01", "colour": "red"})
    with pytest.raises(QueryError, match="needs parameter month"):
        runner.run("tier_distribution")
    with pytest.raises(QueryError, match="not a month"):
        runner.run("tier_distribution", {"month": "2024-13"})


def test_the_connection_reads_nothing_outside_the_lake_and_is_locked(runner, tmp_path):
    import duckdb

    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n")
    cursor = runner.runner.engine._con.cursor()
    with pytest.raises(duckdb.PermissionException):
        cursor.execute("select * from read_csv($path)", {"path": str(outside)}).fetchall()
    with pytest.raises(duckdb.PermissionException):
        cursor.execute("copy (select 1 as a) to $path", {"path": str(tmp_path / "leak.csv")})
    with pytest.raises(duckdb.InvalidInputException, match="configuration"):
        cursor.execute("SET enable_external_access = true")
    assert not (tmp_path / "leak.csv").exists()


def test_branch_filter_takes_several_branches(runner):
    both = runner.run("tier_distribution", {"month": "2024-01", "branch_id": ["B1", "B2"]})
    every = runner.run("tier_distribution", {"month": "2024-01"})
    assert rows(both) == rows(every)
    from_cli = runner.run("tier_distribution", {"month": "2024-01", "branch_id": "B2"})
    assert rows(from_cli) == [("mass", 1, 100.0), ("gold", 0, 0.0), ("platinum", 0, 0.0),
                              ("diamond", 0, 0.0), ("private", 1, 6_000_000.0)]
