"""The tier-trend, concentration, key-figure and migration queries on small literal rows,
against output rows computed by hand.

Branches B1 静安支行, B2 徐汇支行 and B3 浦东支行 (B3 has no clients); managers M1 (B1),
M2 (B1), M3 (B2). The snapshot row's branch and manager default to the client's own
(`home`, `mgr`); `@B2 M3` marks a row that says otherwise.

    client home mgr  2024-01               2024-02                     2024-03
    C01    B1   M1   50,000.00 gold        49,999.99 mass (down)       500,000.00 platinum
    C02    B1   M2   49,999.99 mass        50,000.00 gold (up)         50,000.00 gold
    C03    B1   M2   2,000,000.00 diamond  closed (0)                  -
    C04    B2   M3   -                     600,000.00 platinum (new)   1,999,999.99 platinum
    C05    B2   M3   6,000,000.00 private  5,999,999.99 diamond        7,000,000.00 private
    C06    B1   -    1,000.00 mass         -  (leaves ...)             1,500.00 mass (... returns)
    C07    B2   M3   100.00 mass           50,000.00 gold              100.00 mass
    C08    B1   M2   300,000.00 gold       600,000.00 platinum @B2 M2  600,000.00 platinum @B2 M3

C01 and C02 sit exactly on the gold floor or one cent under it; C06 has no manager; C08 moves
to branch B2 in February keeping manager M2, and is handed to M3 in March.

January products_held / txn_count (empty = not delivered; other months deliver neither):
C01 3/5, C02 1/0, C03 4/2, C05 5/-, C06 -/1, C07 1/0, C08 2/3.
"""

from collections import defaultdict
from decimal import Decimal

import pytest

from conftest import client, rows, snap, write_delivery
from tierflow.access import EVERYTHING, Scope
from tierflow.ingest import ingest
from tierflow.queries import QueryRunner
from tierflow.settings import Settings

TIERS = ("mass", "gold", "platinum", "diamond", "private")
BRANCHES = [
    {"branch_id": "B1", "branch_name": "静安支行"},
    {"branch_id": "B2", "branch_name": "徐汇支行"},
    {"branch_id": "B3", "branch_name": "浦东支行"},
]
MANAGERS = [
    {"manager_id": "M1", "manager_name": "王经理", "branch_id": "B1"},
    {"manager_id": "M2", "manager_name": "李经理", "branch_id": "B1"},
    {"manager_id": "M3", "manager_name": "张经理", "branch_id": "B2"},
]


def person(client_id, branch_id, manager_id):
    return client(client_id, branch_id, manager_id=manager_id,
                  phone=f"1380000{client_id[1:]:0>4}")


CLIENTS = [person("C01", "B1", "M1"), person("C02", "B1", "M2"), person("C03", "B1", "M2"),
           person("C04", "B2", "M3"), person("C05", "B2", "M3"), person("C06", "B1", ""),
           person("C07", "B2", "M3"), person("C08", "B1", "M2")]


def jan(client_id, aum, products, txns):
    return snap("2024-01", client_id, aum, products_held=products, txn_count=txns)


SNAPSHOTS = [
    jan("C01", "50000.00", "3", "5"), jan("C02", "49999.99", "1", "0"),
    jan("C03", "2000000.00", "4", "2"), jan("C05", "6000000.00", "5", ""),
    jan("C06", "1000.00", "", "1"), jan("C07", "100.00", "1", "0"),
    jan("C08", "300000.00", "2", "3"),
    snap("2024-02", "C01", "49999.99"), snap("2024-02", "C02", "50000.00"),
    snap("2024-02", "C03", "0", status="closed"), snap("2024-02", "C04", "600000.00"),
    snap("2024-02", "C05", "5999999.99"), snap("2024-02", "C07", "50000.00"),
    snap("2024-02", "C08", "600000.00", branch_id="B2"),
    snap("2024-03", "C01", "500000.00"), snap("2024-03", "C02", "50000.00"),
    snap("2024-03", "C04", "1999999.99"), snap("2024-03", "C05", "7000000.00"),
    snap("2024-03", "C06", "1500.00"), snap("2024-03", "C07", "100.00"),
    snap("2024-03", "C08", "600000.00", branch_id="B2", manager_id="M3"),
]


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    # One lake for the module (the tests only read it), built as conftest's build_lake does.
    tmp = tmp_path_factory.mktemp("migration")
    delivery = write_delivery(tmp / "delivery", {
        "branches": BRANCHES, "managers": MANAGERS, "clients": CLIENTS,
        "snapshots": SNAPSHOTS})
    report = ingest(delivery, tmp / "data", Settings())
    assert not report.rejected, report.summary()
    assert report.set_aside.height == 0, report.summary()
    return QueryRunner(tmp / "data").for_scope(EVERYTHING)


def zeros(month=None):
    return [((month,) if month else ()) + (t, 0, 0.0) for t in TIERS]


# --- tier_trend ---------------------------------------------------------------------------

def test_tier_trend_every_month_all_tiers(runner):
    out = runner.run("tier_trend")
    assert list(out.columns) == ["month", "tier", "clients", "aum"]
    assert rows(out) == [
        # Jan: mass C02 49,999.99 + C06 1,000 + C07 100; gold C01 50,000 (on the floor)
        #      + C08 300,000; diamond C03; private C05
        ("2024-01", "mass", 3, 51_099.99), ("2024-01", "gold", 2, 350_000.0),
        ("2024-01", "platinum", 0, 0.0), ("2024-01", "diamond", 1, 2_000_000.0),
        ("2024-01", "private", 1, 6_000_000.0),
        # Feb: C03 closed, C06 absent; mass C01 (one cent under); gold C02 + C07;
        #      platinum C04 + C08; diamond C05 one cent under private
        ("2024-02", "mass", 1, 49_999.99), ("2024-02", "gold", 2, 100_000.0),
        ("2024-02", "platinum", 2, 1_200_000.0), ("2024-02", "diamond", 1, 5_999_999.99),
        ("2024-02", "private", 0, 0.0),
        # Mar: mass C06 1,500 + C07 100; gold C02; platinum C01 500,000 + C04 1,999,999.99
        #      + C08 600,000; private C05
        ("2024-03", "mass", 2, 1_600.0), ("2024-03", "gold", 1, 50_000.0),
        ("2024-03", "platinum", 3, 3_099_999.99), ("2024-03", "diamond", 0, 0.0),
        ("2024-03", "private", 1, 7_000_000.0),
    ]


def test_tier_trend_by_the_branch_of_each_month(runner):
    out = runner.run("tier_trend", {"branch_id": "B1"})
    assert rows(out) == [
        # Jan B1: C01, C02, C03, C06, C08 (C08 still in B1)
        ("2024-01", "mass", 2, 50_999.99), ("2024-01", "gold", 2, 350_000.0),
        ("2024-01", "platinum", 0, 0.0), ("2024-01", "diamond", 1, 2_000_000.0),
        ("2024-01", "private", 0, 0.0),
        # Feb B1: C01 mass, C02 gold (C08's row is in B2 now)
        ("2024-02", "mass", 1, 49_999.99), ("2024-02", "gold", 1, 50_000.0),
        ("2024-02", "platinum", 0, 0.0), ("2024-02", "diamond", 0, 0.0),
        ("2024-02", "private", 0, 0.0),
        # Mar B1: C06 mass, C02 gold, C01 platinum
        ("2024-03", "mass", 1, 1_500.0), ("2024-03", "gold", 1, 50_000.0),
        ("2024-03", "platinum", 1, 500_000.0), ("2024-03", "diamond", 0, 0.0),
        ("2024-03", "private", 0, 0.0),
    ]


def test_tier_trend_branch_without_clients_still_gets_every_month(runner):
    out = runner.run("tier_trend", {"branch_id": "B3"})
    assert rows(out) == zeros("2024-01") + zeros("2024-02") + zeros("2024-03")


# --- branch_tiers -------------------------------------------------------------------------

def test_branch_tiers_one_row_per_active_branch_and_tier(runner):
    out = runner.run("branch_tiers", {"month": "2024-02"})
    assert list(out.columns) == ["branch_id", "branch_name", "tier", "clients", "aum"]
    assert rows(out) == [
        # B1: C01 mass 49,999.99, C02 gold 50,000
        ("B1", "静安支行", "mass", 1, 49_999.99), ("B1", "静安支行", "gold", 1, 50_000.0),
        ("B1", "静安支行", "platinum", 0, 0.0), ("B1", "静安支行", "diamond", 0, 0.0),
        ("B1", "静安支行", "private", 0, 0.0),
        # B2: C07 gold, C04 + C08 platinum, C05 diamond; B3 (no clients) has no rows
        ("B2", "徐汇支行", "mass", 0, 0.0), ("B2", "徐汇支行", "gold", 1, 50_000.0),
        ("B2", "徐汇支行", "platinum", 2, 1_200_000.0),
        ("B2", "徐汇支行", "diamond", 1, 5_999_999.99), ("B2", "徐汇支行", "private", 0, 0.0),
    ]


def test_branch_tiers_branch_filter(runner):
    out = runner.run("branch_tiers", {"month": "2024-03", "branch_id": ["B2", "B3"]})
    # Mar B2: C07 mass 100; C04 1,999,999.99 + C08 600,000 platinum; C05 private
    assert rows(out) == [
        ("B2", "徐汇支行", "mass", 1, 100.0), ("B2", "徐汇支行", "gold", 0, 0.0),
        ("B2", "徐汇支行", "platinum", 2, 2_599_999.99), ("B2", "徐汇支行", "diamond", 0, 0.0),
        ("B2", "徐汇支行", "private", 1, 7_000_000.0),
    ]
    assert rows(runner.run("branch_tiers", {"month": "2024-03", "branch_id": "B3"})) == []


# --- wealth_concentration -----------------------------------------------------------------

def test_wealth_concentration_cumulative_shares(runner):
    out = runner.run("wealth_concentration", {"month": "2024-02"})
    assert list(out.columns) == ["top_percent", "clients", "client_share", "aum", "aum_share"]
    # Six present clients, so six buckets of one: C05 5,999,999.99; C04 600,000 and C08
    # 600,000 (tie, by client_id); C02 50,000 and C07 50,000; C01 49,999.99.
    total = 7_349_999.98
    cumulative = [5_999_999.99, 6_599_999.99, 7_199_999.99, 7_249_999.99, 7_299_999.99, total]
    assert rows(out) == [(k, k, round(k / 6, 9), aum, round(aum / total, 9))
                         for k, aum in enumerate(cumulative, start=1)]
    assert rows(out)[-1][1:] == (6, 1.0, total, 1.0)


def test_wealth_concentration_one_branch(runner):
    out = runner.run("wealth_concentration", {"month": "2024-01", "branch_id": "B1"})
    # Jan B1: C03 2,000,000; C08 300,000; C01 50,000; C02 49,999.99; C06 1,000
    total = 2_400_999.99
    assert rows(out) == [
        (1, 1, 0.2, 2_000_000.0, round(2_000_000 / total, 9)),
        (2, 2, 0.4, 2_300_000.0, round(2_300_000 / total, 9)),
        (3, 3, 0.6, 2_350_000.0, round(2_350_000 / total, 9)),
        (4, 4, 0.8, 2_399_999.99, round(2_399_999.99 / total, 9)),
        (5, 5, 1.0, total, 1.0),
    ]
    assert rows(runner.run("wealth_concentration", {"month": "2023-12"})) == []


def test_wealth_concentration_hundred_buckets_and_zero_total(build_lake):
    # 150 clients in B1 with AUM 1,000 × i (i = 1..150), and one B2 client with AUM 0.
    # ntile(100) over 150 rows: buckets 1..50 hold two clients, 51..100 one.
    # The top n clients hold 1,000 × (150 + 149 + ... + (151 - n)) = 1,000 × n(301 - n)/2.
    many = [client(f"X{i:03d}") for i in range(1, 151)] + [client("Z001", "B2")]
    snaps = [snap("2024-06", f"X{i:03d}", f"{1000 * i}") for i in range(1, 151)]
    snaps.append(snap("2024-06", "Z001", "0"))
    runner = build_lake({"clients": many, "snapshots": snaps})
    out = runner.run("wealth_concentration", {"month": "2024-06", "branch_id": "B1"})

    def top(n):
        return 1000 * n * (301 - n) // 2

    total = top(150)  # 11,325,000
    expected = []
    for k in range(1, 101):
        n = 2 * k if k <= 50 else 50 + k
        expected.append((k, n, round(n / 150, 9), float(top(n)), round(top(n) / total, 9)))
    assert rows(out) == expected
    # Buckets of unequal size: top_percent 20 holds 40 clients (26.7%); the top 20% of clients
    # (30: AUM 150 + ... + 121 thousand = 4,065,000) end at bucket 15. client_share is exact.
    assert rows(out)[19] == (20, 40, round(40 / 150, 9), 5_220_000.0, round(5_220 / 11_325, 9))
    assert rows(out)[14] == (15, 30, 0.2, 4_065_000.0, round(4_065 / 11_325, 9))
    # AUM totals 0: the share is empty, not 0 and not an error.
    zero = runner.run("wealth_concentration", {"month": "2024-06", "branch_id": "B2"})
    assert rows(zero) == [(1, 1, 1.0, 0.0, None)]


# --- tier_key_figures ---------------------------------------------------------------------

def test_tier_key_figures(runner):
    out = runner.run("tier_key_figures", {"month": "2024-01"})
    assert list(out.columns) == ["tier", "clients", "aum", "avg_aum", "products_per_client",
                                 "cross_sell_rate", "active_rate", "txn_per_client"]
    assert rows(out) == [
        # mass: C02 (1 product, 0 txns), C06 (products not delivered, 1 txn), C07 (1, 0).
        # 51,099.99 / 3 = 17,033.33; products over C02, C07: 2/2 = 1.0, none >= 3;
        # active: C06 only, 1/3; transactions 1/3.
        ("mass", 3, 51_099.99, 17_033.33, 1.0, 0.0, round(1 / 3, 9), round(1 / 3, 9)),
        # gold: C01 (3, 5) and C08 (2, 3): 350,000 / 2; products 5/2; C01 cross-sold; 8/2 txns
        ("gold", 2, 350_000.0, 175_000.0, 2.5, 0.5, 1.0, 4.0),
        ("platinum", 0, 0.0, None, None, None, None, None),
        ("diamond", 1, 2_000_000.0, 2_000_000.0, 4.0, 1.0, 1.0, 2.0),       # C03 (4, 2)
        # C05: 5 products; txn_count not delivered counts as 0: inactive
        ("private", 1, 6_000_000.0, 6_000_000.0, 5.0, 1.0, 0.0, 0.0),
    ]


def test_tier_key_figures_branch_and_undelivered_columns(runner):
    out = runner.run("tier_key_figures", {"month": "2024-03", "branch_id": "B2"})
    # Mar B2: C07 mass 100; C04 1,999,999.99 + C08 600,000 platinum; C05 private.
    # No products_held delivered: product figures empty; no txn_count: 0.
    # avg platinum: 2,599,999.99 / 2 = 1,299,999.995, rounded to the cent.
    assert rows(out) == [
        ("mass", 1, 100.0, 100.0, None, None, 0.0, 0.0),
        ("gold", 0, 0.0, None, None, None, None, None),
        ("platinum", 2, 2_599_999.99, 1_300_000.0, None, None, 0.0, 0.0),
        ("diamond", 0, 0.0, None, None, None, None, None),
        ("private", 1, 7_000_000.0, 7_000_000.0, None, None, 0.0, 0.0),
    ]
    figures = runner.run_arrow("tier_key_figures", {"month": "2024-03"})
    assert str(figures.schema.field("aum").type).startswith("decimal")
    assert str(figures.schema.field("avg_aum").type) == "decimal128(18, 2)"


# --- aum_bridge ---------------------------------------------------------------------------

BRIDGE_COLUMNS = ["group_key", "opening_aum", "new_aum", "staying_change", "exited_aum",
                  "closing_aum"]


def test_aum_bridge_by_tier(runner):
    out = runner.run("aum_bridge", {"from_month": "2024-01", "to_month": "2024-02"})
    assert list(out.columns) == BRIDGE_COLUMNS
    assert rows(out) == [
        # C04 new at 600,000
        ("new", 0.0, 600_000.0, 0.0, 0.0, 600_000.0),
        # C02 49,999.99 -> 50,000 (+0.01), C07 100 -> 50,000 (+49,900), C06 1,000 exited
        ("mass", 51_099.99, 0.0, 49_900.01, 1_000.0, 100_000.0),
        # C01 50,000 -> 49,999.99 (-0.01), C08 300,000 -> 600,000 (+300,000)
        ("gold", 350_000.0, 0.0, 299_999.99, 0.0, 649_999.99),
        # C03 closed: exited
        ("diamond", 2_000_000.0, 0.0, 0.0, 2_000_000.0, 0.0),
        # C05 6,000,000 -> 5,999,999.99
        ("private", 6_000_000.0, 0.0, -0.01, 0.0, 5_999_999.99),
    ]


def test_aum_bridge_by_branch(runner):
    out = runner.run("aum_bridge", {"from_month": "2024-01", "to_month": "2024-02",
                                    "group_by": "branch"})
    assert rows(out) == [
        # B1: C01 (-0.01), C02 (+0.01) stay; C03 2,000,000 and C06 1,000 exit (from_month branch)
        ("B1", 2_100_999.99, 0.0, 0.0, 2_001_000.0, 99_999.99),
        # B2 (to_month branch): C05 (-0.01), C07 (+49,900), C08 (moved from B1: +300,000)
        # stay; C04 new. Opening includes C08's 300,000 held in B1 in January.
        ("B2", 6_300_100.0, 600_000.0, 349_899.99, 0.0, 7_249_999.99),
    ]


def test_aum_bridge_branch_filter_is_per_month(runner):
    # With B2 only, C08's January row (B1) is filtered out: C08 is new in B2.
    out = runner.run("aum_bridge", {"from_month": "2024-01", "to_month": "2024-02",
                                    "group_by": "branch", "branch_id": "B2"})
    assert rows(out) == [("B2", 6_000_100.0, 1_200_000.0, 49_899.99, 0.0, 7_249_999.99)]
    # With B1 only by tier, C08 exits B1 (its February row is in B2).
    out = runner.run("aum_bridge", {"from_month": "2024-01", "to_month": "2024-02",
                                    "branch_id": "B1"})
    assert rows(out) == [
        ("mass", 50_999.99, 0.0, 0.01, 1_000.0, 50_000.0),            # C02 stays, C06 exits
        ("gold", 350_000.0, 0.0, -0.01, 300_000.0, 49_999.99),        # C01 stays, C08 exits
        ("diamond", 2_000_000.0, 0.0, 0.0, 2_000_000.0, 0.0),         # C03
    ]


def test_aum_bridge_unknown_grouping_gives_no_rows(runner):
    out = runner.run("aum_bridge", {"from_month": "2024-01", "to_month": "2024-02",
                                    "group_by": "manager"})
    assert rows(out) == []


@pytest.mark.parametrize("group_by", ["tier", "branch"])
@pytest.mark.parametrize("months,branch", [
    (("2024-01", "2024-02"), None), (("2024-01", "2024-03"), None),
    (("2024-02", "2024-03"), "B1"), (("2024-01", "2024-03"), ["B2"]),
])
def test_aum_bridge_identity_holds_exactly(runner, group_by, months, branch):
    # Exact decimals (run_arrow: no float), per group and in total; and the totals agree with
    # tier_transition's AUM columns over the same clients.
    params = {"from_month": months[0], "to_month": months[1], "branch_id": branch}
    bridge = runner.run_arrow("aum_bridge", {**params, "group_by": group_by}).to_pylist()
    assert bridge
    for r in bridge:
        assert (r["opening_aum"] + r["new_aum"] + r["staying_change"] - r["exited_aum"]
                == r["closing_aum"]), r
    total = {c: sum(r[c] for r in bridge) for c in BRIDGE_COLUMNS[1:]}
    assert (total["opening_aum"] + total["new_aum"] + total["staying_change"]
            - total["exited_aum"] == total["closing_aum"])
    cells = runner.run_arrow("tier_transition", params).to_pylist()
    assert total["opening_aum"] == sum(c["aum_from"] for c in cells)
    assert total["closing_aum"] == sum(c["aum_to"] for c in cells)
    assert total["new_aum"] == sum(c["aum_to"] for c in cells if c["from_tier"] == "new")
    assert total["exited_aum"] == sum(c["aum_from"] for c in cells if c["to_tier"] == "exited")
    assert isinstance(total["closing_aum"], Decimal)


# --- migration_by_group -------------------------------------------------------------------

MIGRATION_COLUMNS = ["group_key", "branch_id", "staying", "upgrades", "downgrades",
                     "net_upgrades", "upgrade_rate", "downgrade_rate"]


def test_migration_by_branch(runner):
    out = runner.run("migration_by_group", {"from_month": "2024-01", "to_month": "2024-02"})
    assert list(out.columns) == MIGRATION_COLUMNS
    # Staying Jan -> Feb: C01 gold->mass (B1), C02 mass->gold (B1), C05 private->diamond (B2),
    # C07 mass->gold (B2), C08 gold->platinum (B2, its February branch). C03, C04, C06 are not
    # in both months. B2 has the larger net, so it comes first.
    assert rows(out) == [
        ("B2", "B2", 3, 2, 1, 1, round(2 / 3, 9), round(1 / 3, 9)),
        ("B1", "B1", 2, 1, 1, 0, 0.5, 0.5),
    ]


def test_migration_over_two_months_counts_a_returning_client_as_staying(runner):
    out = runner.run("migration_by_group", {"from_month": "2024-01", "to_month": "2024-03"})
    # Jan -> Mar: B1 C01 gold->platinum, C02 mass->gold, C06 mass->mass (absent in Feb but
    # present in both months); B2 C05 private->private, C07 mass->mass, C08 gold->platinum.
    assert rows(out) == [
        ("B1", "B1", 3, 2, 0, 2, round(2 / 3, 9), 0.0),
        ("B2", "B2", 3, 1, 0, 1, round(1 / 3, 9), 0.0),
    ]


def test_migration_by_manager(runner):
    out = runner.run("migration_by_group", {"from_month": "2024-01", "to_month": "2024-02",
                                            "group_by": "manager"})
    # February rows: C01 M1/B1 down; C02 M2/B1 up; C08 M2/B2 up (moved branch, same manager);
    # C05 M3/B2 down and C07 M3/B2 up. M2's clients sit in two branches: two rows.
    assert rows(out) == [
        ("M2", "B1", 1, 1, 0, 1, 1.0, 0.0),
        ("M2", "B2", 1, 1, 0, 1, 1.0, 0.0),
        ("M3", "B2", 2, 1, 1, 0, 0.5, 0.5),
        ("M1", "B1", 1, 0, 1, -1, 0.0, 1.0),
    ]
    out = runner.run("migration_by_group", {"from_month": "2024-01", "to_month": "2024-03",
                                            "group_by": "manager"})
    # March rows: C01 M1 up; C02 M2 up; C05, C07 same and C08 (now M3) up; C06 no manager.
    assert rows(out) == [
        ("M1", "B1", 1, 1, 0, 1, 1.0, 0.0),
        ("M2", "B1", 1, 1, 0, 1, 1.0, 0.0),
        ("M3", "B2", 3, 1, 0, 1, round(1 / 3, 9), 0.0),
        (None, "B1", 1, 0, 0, 0, 0.0, 0.0),  # C06: no manager, listed last
    ]


def test_migration_branch_filter_selects_the_groups_branch(runner):
    every = rows(runner.run("migration_by_group", {"from_month": "2024-01",
                                                   "to_month": "2024-02"}))
    for branch in ("B1", "B2"):
        one = runner.run("migration_by_group", {"from_month": "2024-01", "to_month": "2024-02",
                                                "branch_id": branch})
        assert rows(one) == [r for r in every if r[1] == branch]
    out = runner.run("migration_by_group", {"from_month": "2024-01", "to_month": "2024-02",
                                            "group_by": "manager", "branch_id": "B2"})
    # C08 counts for B2 (its February branch) although it was in B1 in January.
    assert rows(out) == [("M2", "B2", 1, 1, 0, 1, 1.0, 0.0), ("M3", "B2", 2, 1, 1, 0, 0.5, 0.5)]
    assert rows(runner.run("migration_by_group", {"from_month": "2024-01",
                                                  "to_month": "2024-02",
                                                  "group_by": "segment"})) == []


# --- transition_clients -------------------------------------------------------------------

def phone(client_id):
    return f"1380000{client_id[1:]:0>4}"


def test_transition_clients_every_cell(runner):
    out = runner.run("transition_clients", {"from_month": "2024-01", "to_month": "2024-02"})
    assert list(out.columns) == ["client_id", "name", "phone", "branch_id", "manager_id",
                                 "from_tier", "to_tier", "aum_from", "aum_to", "list_rows",
                                 "list_aum"]
    out = out.drop(columns=["list_rows", "list_aum"])

    def line(cid, branch, manager, f, t, a, b):
        return (cid, f"客户{cid}", phone(cid), branch, manager, f, t, a, b)

    # By aum_to descending, ties by client_id; branch/manager from the February row, from the
    # January row for the exited (C03 closed, C06 absent and without manager).
    assert rows(out) == [
        line("C05", "B2", "M3", "private", "diamond", 6_000_000.0, 5_999_999.99),
        line("C04", "B2", "M3", "new", "platinum", 0.0, 600_000.0),
        line("C08", "B2", "M2", "gold", "platinum", 300_000.0, 600_000.0),
        line("C02", "B1", "M2", "mass", "gold", 49_999.99, 50_000.0),
        line("C07", "B2", "M3", "mass", "gold", 100.0, 50_000.0),
        line("C01", "B1", "M1", "gold", "mass", 50_000.0, 49_999.99),
        line("C03", "B1", "M2", "diamond", "exited", 2_000_000.0, 0.0),
        line("C06", "B1", None, "mass", "exited", 1_000.0, 0.0),
    ]


def test_transition_clients_one_cell_row_and_column(runner):
    months = {"from_month": "2024-01", "to_month": "2024-02"}

    def ids(**params):
        return [r[0] for r in rows(runner.run("transition_clients", {**months, **params}))]

    assert ids(from_tier="mass", to_tier="gold") == ["C02", "C07"]  # both 50,000: by id
    assert ids(from_tier="new") == ["C04"]
    assert ids(to_tier="exited") == ["C03", "C06"]
    assert ids(from_tier="platinum") == []
    # B1 only: C08's February row is in B2, so it exits B1, keeping its January branch.
    out = runner.run("transition_clients", {**months, "to_tier": "exited", "branch_id": "B1"})
    assert [r[:5] + r[7:9] for r in rows(out)] == [
        ("C03", "客户C03", phone("C03"), "B1", "M2", 2_000_000.0, 0.0),
        ("C06", "客户C06", phone("C06"), "B1", None, 1_000.0, 0.0),
        ("C08", "客户C08", phone("C08"), "B1", "M2", 300_000.0, 0.0),
    ]
    # ... and B2 only: C08 is new there.
    out = runner.run("transition_clients", {**months, "from_tier": "new", "branch_id": "B2"})
    assert [r[0] for r in rows(out)] == ["C04", "C08"]


def test_transition_clients_come_a_page_at_a_time_with_the_totals_of_the_list(runner):
    page = runner.run("transition_clients", {"from_month": "2024-01", "to_month": "2024-02",
                                             "page_rows": 3})
    # the first three of the eight moves above; aum_to of all eight: 5,999,999.99 + 600,000
    # + 600,000 + 50,000 + 50,000 + 49,999.99 (+ 0 for the two exited)
    assert rows(page[["client_id", "list_rows", "list_aum"]]) == [
        (c, 8, 7_349_999.98) for c in ("C05", "C04", "C08")]
    one_cell = runner.run("transition_clients", {"from_month": "2024-01", "to_month": "2024-02",
                                                 "to_tier": "exited", "page_rows": 1})
    assert rows(one_cell[["client_id", "list_rows", "list_aum"]]) == [("C03", 2, 0.0)]


@pytest.mark.parametrize("months", [("2024-01", "2024-02"), ("2024-02", "2024-03"),
                                    ("2024-01", "2024-03")])
@pytest.mark.parametrize("branch", [None, "B1", "B2", ["B1", "B2"]])
def test_transition_clients_match_tier_transition_cells(runner, months, branch):
    params = {"from_month": months[0], "to_month": months[1], "branch_id": branch}
    cells = runner.run_arrow("tier_transition", params).to_pylist()
    listed = runner.run_arrow("transition_clients", params).to_pylist()
    assert len({r["client_id"] for r in listed}) == len(listed)  # each client once
    grouped = defaultdict(lambda: [0, 0, 0])
    for r in listed:
        g = grouped[(r["from_tier"], r["to_tier"])]
        g[0] += 1
        g[1] += r["aum_from"]
        g[2] += r["aum_to"]
    assert grouped == {(c["from_tier"], c["to_tier"]): [c["clients"], c["aum_from"], c["aum_to"]]
                       for c in cells}
    for c in cells:  # and each cell's drill-through lists exactly its clients
        one = runner.run_arrow("transition_clients", {**params, "from_tier": c["from_tier"],
                                                      "to_tier": c["to_tier"]})
        assert one.num_rows == c["clients"]


# --- month pairs stored at load -----------------------------------------------------------

# January to April, three months apart (a pair transition_cube stores); February to April, two
# (joined from the rows). D1 (M1) rises gold -> platinum; D2 leaves after January and is back
# in April; D3 closes in April; D4 (M3) is new in B2 in April; D5 moves from B1 (M1) to B2 and
# to M3 in April, staying gold.
QUARTER_CLIENTS = [person("D1", "B1", "M1"), person("D2", "B1", ""), person("D3", "B1", ""),
                   person("D4", "B2", "M3"), person("D5", "B1", "M1")]
QUARTER_SNAPSHOTS = [
    snap("2024-01", "D1", "100000.00"), snap("2024-01", "D2", "1000.00"),
    snap("2024-01", "D3", "3000000.00"), snap("2024-01", "D5", "80000.00"),
    *(snap(m, c, a) for m in ("2024-02", "2024-03")
      for c, a in (("D1", "100000.00"), ("D3", "3000000.00"), ("D5", "80000.00"))),
    snap("2024-04", "D1", "700000.00"), snap("2024-04", "D2", "2000.00"),
    snap("2024-04", "D3", "0", status="closed"), snap("2024-04", "D4", "60000.00"),
    snap("2024-04", "D5", "90000.00", branch_id="B2", manager_id="M3"),
]


def test_months_a_quarter_apart_read_the_pair_stored_at_load(tmp_path):
    import duckdb
    import polars as pl

    delivery = write_delivery(tmp_path / "delivery", {
        "branches": BRANCHES, "managers": MANAGERS, "clients": QUARTER_CLIENTS,
        "snapshots": QUARTER_SNAPSHOTS})
    report = ingest(delivery, tmp_path / "data", Settings())
    assert not report.rejected, report.summary()
    runner = QueryRunner(tmp_path / "data")
    cube = (tmp_path / "data" / "lake" / "versions" / runner.lake.require_version()
            / "transition_cube.parquet")
    # the stored pair (April, January): branch then and now, manager now, tier ranks, AUM
    assert [tuple(float(v) if isinstance(v, Decimal) else v for v in r) for r in duckdb.sql(
        "select from_branch_id, to_branch_id, to_manager_id, from_rank, to_rank, clients, "
        "aum_from, aum_to from read_parquet($f) where month_index = $april "
        "and from_index = $january order by all",
        params={"f": str(cube), "april": 2024 * 12 + 3, "january": 2024 * 12}).fetchall()] == [
        ("B1", "B1", "M1", 1, 2, 1, 100_000.0, 700_000.0),      # D1
        ("B1", "B1", None, 0, 0, 1, 1_000.0, 2_000.0),          # D2 back
        ("B1", "B2", "M3", 1, 1, 1, 80_000.0, 90_000.0),        # D5 moved
        ("B1", None, None, 3, None, 1, 3_000_000.0, None),      # D3 closed: exited
        (None, "B2", "M3", None, 1, 1, None, 60_000.0),         # D4 new
    ]
    everyone = runner.for_scope(EVERYTHING)
    quarter = {"from_month": "2024-01", "to_month": "2024-04"}
    assert rows(everyone.run("tier_transition", quarter)) == [
        ("new", "gold", 1, 0.0, 60_000.0),                      # D4
        ("mass", "mass", 1, 1_000.0, 2_000.0),                  # D2, present in both
        ("gold", "gold", 1, 80_000.0, 90_000.0),                # D5
        ("gold", "platinum", 1, 100_000.0, 700_000.0),          # D1
        ("diamond", "exited", 1, 3_000_000.0, 0.0),             # D3
    ]
    # B1 alone: D5's April row is in B2, so it exits B1; D4 is not B1's
    assert rows(everyone.run("tier_transition", {**quarter, "branch_id": ["B1"]})) == [
        ("mass", "mass", 1, 1_000.0, 2_000.0),
        ("gold", "platinum", 1, 100_000.0, 700_000.0),
        ("gold", "exited", 1, 80_000.0, 0.0),
        ("diamond", "exited", 1, 3_000_000.0, 0.0),
    ]
    two_months = {"from_month": "2024-02", "to_month": "2024-04"}
    expected_two = [
        ("new", "mass", 1, 0.0, 2_000.0),                       # D2 was gone in February
        ("new", "gold", 1, 0.0, 60_000.0),
        ("gold", "gold", 1, 80_000.0, 90_000.0),
        ("gold", "platinum", 1, 100_000.0, 700_000.0),
        ("diamond", "exited", 1, 3_000_000.0, 0.0),
    ]
    assert rows(everyone.run("tier_transition", two_months)) == expected_two
    # A branch head's scope joins the branch's rows of the two months (no pair counts as stored
    # in a narrowed scope, cubes.params): the same as the filter
    head = runner.for_scope(Scope(branches=("B1",), manager_id=None, personal_data=False))
    assert rows(head.run("tier_transition", quarter)) == rows(
        everyone.run("tier_transition", {**quarter, "branch_id": ["B1"]}))

    # The quarter is read from the cube: with its later AUM doubled on disk, the matrix, the
    # bridge and the moves show it; two months apart still join the rows.
    pl.read_parquet(cube).with_columns(pl.col("aum_to") * 2).write_parquet(cube)
    everyone = QueryRunner(tmp_path / "data").for_scope(EVERYTHING)
    assert [r[4] for r in rows(everyone.run("tier_transition", quarter))] == [
        120_000.0, 4_000.0, 180_000.0, 1_400_000.0, 0.0]
    assert rows(everyone.run("aum_bridge", quarter))[0] == (
        "new", 0.0, 120_000.0, 0.0, 0.0, 120_000.0)
    assert rows(everyone.run("tier_transition", two_months)) == expected_two
