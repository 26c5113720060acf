"""Tests of the demo delivery generator: contract format, determinism and the stories it tells.

Thresholds are literals from DOMAIN.md and DATA_CONTRACT.md on purpose: the test checks the
generator against the documents, not against the app's settings.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from tierflow.demo import generate_delivery, progress_total

MONTHS = [f"2025-{m:02d}" for m in (11, 12)] + [f"2026-{m:02d}" for m in range(1, 11)]
TIER_FLOORS = {"gold": 50_000, "platinum": 500_000, "diamond": 2_000_000, "private": 6_000_000}
PARTS = ["deposits", "wealth", "funds", "insurance", "bonds", "securities"]

CSV_COLUMNS = {
    "branches.csv": ["branch_id", "branch_name", "parent_branch", "region"],
    "managers.csv": ["manager_id", "manager_name", "branch_id", "role"],
    "clients.csv": ["client_id", "name", "branch_id", "manager_id", "gender", "birth_date",
                    "open_date", "segment", "risk_profile", "preference_type", "phone",
                    "id_number"],
    "retention_cases.csv": ["case_id", "client_id", "branch_id", "opened_on", "outcome",
                            "closed_on", "first_contact_on", "handler_id", "handler_role",
                            "case_type", "channel", "reason", "measure", "aum_at_stake",
                            "aum_kept", "warning_id"],
    "warnings.csv": ["warning_id", "client_id", "raised_on", "rule", "severity", "amount",
                     "note"],
    "maturities.csv": ["client_id", "product_type", "amount", "maturity_date"],
}
SNAPSHOT_COLUMNS = ["snapshot_month", "client_id", "aum", "branch_id", "manager_id", "aum_avg",
                    *PARTS, "loans", "products_held", "txn_count", "turnover", "fee_income",
                    "last_txn_date", "status"]
CODES = {
    ("snapshots", "status"): {"normal", "dormant", "closed"},
    ("clients", "gender"): {"M", "F"},
    ("clients", "risk_profile"): {"conservative", "steady", "balanced", "growth", "aggressive"},
    ("clients", "preference_type"): {"deposit_led", "loan_led", "fee_led", "balanced"},
    ("cases", "outcome"): {"retained", "lost", "pending"},
    ("cases", "handler_role"): {"lobby_manager", "wealth_manager", "loan_support",
                                "client_manager", "central_desk"},
    ("cases", "case_type"): {"aum_outflow", "account_transfer", "loan_prepayment",
                             "card_cancellation"},
    ("cases", "channel"): {"phone", "in_branch", "advisor", "visit", "sms"},
    ("cases", "reason"): {"commission", "product_range", "market", "service", "facilities",
                          "relocation", "rate", "competitor", "other"},
    ("cases", "measure"): {"fee_cut", "rate_concession", "product_offer", "gift", "service",
                           "none"},
    ("warnings", "rule"): {"large_outflow", "downgrade", "activity_drop", "maturity", "dormancy",
                           "other"},
    ("warnings", "severity"): {"high", "medium", "low"},
    ("maturities", "product_type"): {"time_deposit", "wealth", "fund", "insurance", "bond"},
}


# --- Fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def delivery(tmp_path_factory) -> tuple[Path, int]:
    calls = []
    folder = generate_delivery(tmp_path_factory.mktemp("demo"), clients=4000, months=12,
                               branches=8, seed=1, end_month="2026-10", progress=calls.append)
    return folder, sum(calls)


@pytest.fixture(scope="module")
def folder(delivery) -> Path:
    return delivery[0]


def _csv(folder: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(folder / name, infer_schema=False)  # every column as text


@pytest.fixture(scope="module")
def tables(folder) -> dict[str, pl.DataFrame]:
    snapshots = pl.concat([pl.read_parquet(folder / f"snapshots_{m}.parquet") for m in MONTHS])
    money = pl.col("aum_at_stake", "aum_kept").cast(pl.Float64)
    return {
        "snapshots": snapshots,
        "clients": _csv(folder, "clients.csv"),
        "cases": _csv(folder, "retention_cases.csv").with_columns(money),
        "warnings": _csv(folder, "warnings.csv").with_columns(pl.col("amount").cast(pl.Float64)),
        "maturities": _csv(folder, "maturities.csv").with_columns(
            pl.col("amount").cast(pl.Float64)),
    }


@pytest.fixture(scope="module")
def present(tables) -> pl.DataFrame:
    """Rows that count as present (status not closed), with the month's position."""
    index = pl.DataFrame({"snapshot_month": MONTHS, "t": range(len(MONTHS))})
    return tables["snapshots"].filter(pl.col("status") != "closed").join(index,
                                                                         on="snapshot_month")


def _tier(aum: pl.Expr) -> pl.Expr:
    tier = pl.lit("mass")
    for name, floor in TIER_FLOORS.items():
        tier = pl.when(aum >= floor).then(pl.lit(name)).otherwise(tier)
    return tier


# --- Format -----------------------------------------------------------------------------------

def test_files_and_columns_follow_the_contract(folder):
    expected = set(CSV_COLUMNS) | {f"snapshots_{m}.parquet" for m in MONTHS}
    assert {p.name for p in folder.iterdir()} == expected
    for name, columns in CSV_COLUMNS.items():
        header = (folder / name).read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == columns, name
    for month in MONTHS:
        snapshot = pl.read_parquet(folder / f"snapshots_{month}.parquet")
        assert snapshot.columns == SNAPSHOT_COLUMNS
        assert snapshot["snapshot_month"].unique().to_list() == [month]


def test_progress_reports_every_unit(delivery):
    assert delivery[1] == progress_total(12) == 12 + 6


def test_identifiers_are_strings_that_keep_leading_zeros(folder, tables):
    clients = tables["clients"]
    assert clients["client_id"].str.contains(r"^\d{12}$").all()
    assert clients["client_id"].is_unique().all()
    branches = _csv(folder, "branches.csv")
    assert branches["branch_id"].str.contains(r"^0\d{3}$").all()
    managers = _csv(folder, "managers.csv")
    assert managers["manager_id"].str.contains(r"^M0\d{3}-\d{2}$").all()
    snapshots = tables["snapshots"]
    assert snapshots.schema["client_id"] == pl.String
    assert snapshots["client_id"].str.len_chars().eq(12).all()
    assert set(snapshots["branch_id"]) <= set(branches["branch_id"])
    assert set(snapshots["client_id"]) == set(clients["client_id"])


def test_codes_are_the_contract_codes(tables):
    for (table, column), allowed in CODES.items():
        values = set(tables[table][column].drop_nulls())
        assert values and values <= allowed, (table, column, values - allowed)


def test_money_is_in_cents_and_parts_add_up(tables):
    snapshots = tables["snapshots"]
    money = ["aum", "aum_avg", *PARTS, "loans", "turnover", "fee_income"]
    cents = snapshots.select(((pl.col(money) * 100 - (pl.col(money) * 100).round()).abs()
                              < 1e-6).all())
    assert all(cents.row(0))
    assert snapshots.select(pl.min_horizontal(pl.col(money).min())).item() >= 0
    gap = snapshots.select((pl.sum_horizontal(PARTS) - pl.col("aum")).abs().max()).item()
    assert gap < 0.005
    for name in ("cases", "warnings", "maturities"):
        table = tables[name].select(pl.col(pl.Float64))
        for column in table.columns:
            values = table[column].drop_nulls() * 100
            assert (values - values.round()).abs().max() < 1e-6, (name, column)


def test_personal_data_is_plausible_and_consistent(tables):
    clients = tables["clients"]
    assert clients["name"].str.contains(r"^\p{Han}{2,3}$").all()
    assert clients["phone"].str.contains(r"^1[358]\d{9}$").all()
    id_numbers = clients["id_number"].to_list()
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    for id_number, birth, gender in zip(id_numbers, clients["birth_date"], clients["gender"]):
        assert re.fullmatch(r"\d{17}[\dX]", id_number)
        assert id_number[6:14] == birth.replace("-", "")
        total = sum(int(d) * w for d, w in zip(id_number[:17], weights))
        assert id_number[17] == "10X98765432"[total % 11]
        assert int(id_number[16]) % 2 == (1 if gender == "M" else 0)
    # Birthdays fall in every month, so "birthday this week" lists exist all year, and no day
    # of the year holds a crowd (ages drawn past 18 or 88 once shared one birthday).
    assert clients["birth_date"].str.slice(5, 2).n_unique() == 12
    per_day = clients["birth_date"].str.slice(5, 5).value_counts()["count"]
    assert per_day.max() <= 4 * clients.height / 365


def test_accounts_open_before_their_first_snapshot(tables):
    first = tables["snapshots"].group_by("client_id").agg(first=pl.col("snapshot_month").min())
    clients = tables["clients"].join(first, on="client_id")
    assert (clients["open_date"].str.slice(0, 7) <= clients["first"]).all()
    assert (clients["birth_date"] < clients["open_date"]).all()
    opened_later = clients.filter(pl.col("first") > MONTHS[0])
    assert (opened_later["open_date"].str.slice(0, 7) == opened_later["first"]).all()


# --- Determinism ------------------------------------------------------------------------------

def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path):
    def run(name: str, seed: int) -> dict[str, bytes]:
        folder = generate_delivery(tmp_path / name, clients=500, months=4, branches=5,
                                   seed=seed)
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    first, again, other = run("a", 3), run("b", 3), run("c", 4)
    assert first == again
    assert first.keys() == other.keys()
    assert first["snapshots_2026-10.parquet"] != other["snapshots_2026-10.parquet"]
    assert first["clients.csv"] != other["clients.csv"]


# --- Wealth pyramid and books -----------------------------------------------------------------

def test_counts_form_a_pyramid_and_wealth_is_concentrated(present):
    last = present.filter(pl.col("t") == len(MONTHS) - 1)
    counts = dict(last.group_by(_tier(pl.col("aum")).alias("tier")).len().iter_rows())
    assert counts["mass"] > counts["gold"] > counts["platinum"] > counts["diamond"]
    assert counts["diamond"] >= counts.get("private", 0)
    aum = last["aum"].sort(descending=True)
    top = aum.head(len(aum) // 5).sum()
    assert top / aum.sum() >= 0.6


def test_some_managers_are_overloaded_and_few_vip_clients_are_unassigned(tmp_path):
    folder = generate_delivery(tmp_path, clients=20_000, months=3, branches=10, seed=2)
    last = pl.read_parquet(folder / "snapshots_2026-10.parquet").filter(
        (pl.col("status") != "closed") & (pl.col("aum") >= TIER_FLOORS["gold"]))
    books = last.drop_nulls("manager_id").group_by("manager_id").len()
    assert books["len"].max() > 250
    assert books["len"].min() < 250  # overload is the exception, not the rule
    unassigned = last["manager_id"].null_count() / last.height
    assert 0 < unassigned < 0.10
    roles = set(pl.read_csv(folder / "managers.csv")["role"])
    assert roles == {"理财经理", "客户经理", "投资顾问"}


# --- Flows over time --------------------------------------------------------------------------

def test_new_clients_and_leavers_every_month(tables, present):
    snapshots = tables["snapshots"]
    seen: set[str] = set()
    before = set()
    for t, month in enumerate(MONTHS):
        rows = set(snapshots.filter(pl.col("snapshot_month") == month)["client_id"])
        now = set(present.filter(pl.col("t") == t)["client_id"])
        if t:
            assert rows - seen, f"no new clients in {month}"
            assert before - now, f"no leavers in {month}"
        seen |= rows
        before = now


def test_closed_rows_are_last_and_some_clients_vanish_or_come_back(tables, present):
    snapshots = tables["snapshots"].with_columns(
        t=pl.col("snapshot_month").replace_strict(MONTHS, list(range(len(MONTHS)))))
    spans = snapshots.group_by("client_id").agg(
        last=pl.col("t").max(), rows=pl.len(), first=pl.col("t").min(),
        closed_at=pl.col("t").filter(pl.col("status") == "closed").first())
    closed = spans.drop_nulls("closed_at")
    assert closed.height > 0
    assert (closed["closed_at"] == closed["last"]).all()
    vanished = spans.filter(pl.col("closed_at").is_null() & (pl.col("last") < len(MONTHS) - 1))
    assert vanished.height > 0
    with_gap = spans.filter(pl.col("last") - pl.col("first") + 1 > pl.col("rows"))
    assert with_gap.height > 0


def test_dormancy_follows_transactions_and_some_clients_reactivate(present):
    rows = present.sort("client_id", "t").with_columns(
        prev_status=pl.col("status").shift().over("client_id"),
        prev_t=pl.col("t").shift().over("client_id"))
    dormant = rows.filter(pl.col("status") == "dormant")
    assert dormant.height > 0
    assert (dormant["txn_count"] == 0).all()
    reactivated = rows.filter((pl.col("prev_status") == "dormant")
                              & (pl.col("prev_t") == pl.col("t") - 1) & (pl.col("txn_count") > 0))
    assert reactivated.height > 0
    assert (reactivated["status"] == "normal").all()


def test_last_transaction_date_matches_transaction_count(tables):
    snapshots = tables["snapshots"].with_columns(
        txn_month=pl.col("last_txn_date").str.slice(0, 7))
    active = snapshots.filter(pl.col("txn_count") > 0)
    assert (active["txn_month"] == active["snapshot_month"]).all()
    idle = snapshots.filter(pl.col("txn_count") == 0).drop_nulls("txn_month")
    assert (idle["txn_month"] < idle["snapshot_month"]).all()


def test_products_held_grow_with_aum(present):
    assert present["products_held"].is_between(1, 8).all()
    by_tier = present.group_by(_tier(pl.col("aum")).alias("tier")).agg(
        pl.col("products_held").mean())
    means = dict(by_tier.iter_rows())
    assert means["mass"] < means["gold"] < means["platinum"]


# --- Warnings, retention cases and what happened next ----------------------------------------

def test_case_ledger_is_consistent_with_warnings(tables):
    cases, warnings = tables["cases"], tables["warnings"]
    assert warnings["warning_id"].is_unique().all() and cases["case_id"].is_unique().all()
    linked = cases.join(warnings, on="warning_id", how="left")
    assert linked["raised_on"].null_count() == 0
    assert (linked["client_id"] == linked["client_id_right"]).all()
    assert (linked["opened_on"] >= linked["raised_on"]).all()
    contacted = linked.drop_nulls("first_contact_on")
    assert (contacted["first_contact_on"] >= contacted["opened_on"]).all()
    pending = linked.filter(pl.col("outcome") == "pending")
    closed = linked.filter(pl.col("outcome") != "pending")
    assert pending.height > 0 and pending["closed_on"].null_count() == pending.height
    assert closed["closed_on"].null_count() == 0
    assert (closed["closed_on"] >= closed["opened_on"]).all()
    assert (closed["closed_on"] <= "2026-10-31").all()
    # A few amounts are missing, to exercise "missing amounts count as 0".
    assert closed["aum_at_stake"].null_count() + closed["aum_kept"].null_count() > 0
    assert set(warnings["rule"]) >= {"large_outflow", "other"}


def test_retained_clients_recover_and_lost_clients_leave(tables, present):
    cases = tables["cases"].filter(pl.col("outcome") != "pending").join(
        tables["warnings"].select("warning_id", "raised_on"), on="warning_id")
    cases = cases.with_columns(t=pl.col("raised_on").str.slice(0, 7).replace_strict(
        MONTHS, list(range(len(MONTHS))))).filter(pl.col("t") <= len(MONTHS) - 4)
    aum = present.select("client_id", "t", "aum")
    later = (cases.join(aum, on=["client_id", "t"])
             .join(aum.with_columns(pl.col("t") - 2), on=["client_id", "t"], how="left",
                   suffix="_2")
             .with_columns(ratio=pl.col("aum_2").fill_null(0.0) / pl.col("aum")))
    median = dict(later.group_by("outcome").agg(pl.col("ratio").median()).iter_rows())
    assert median["retained"] > 1.2
    assert median["retained"] > 2 * median["lost"]

    # Lost clients: gone or closed in at least one of the three months after the warning.
    lost = cases.filter(pl.col("outcome") == "lost").select("client_id", "t")
    gone = lost.join(
        pl.concat([lost.with_columns(pl.col("t") + k) for k in (1, 2, 3)])
        .join(aum, on=["client_id", "t"], how="anti")
        .select("client_id", pl.col("t")).unique("client_id"),
        on="client_id", how="semi")
    assert gone.height / lost.height > 0.5


def test_maturities_never_exceed_the_holding_and_reach_past_the_end(tables, present):
    # Maturities after the last month are checked against the last month's holdings.
    month = pl.col("maturity_date").str.slice(0, 7)
    maturities = tables["maturities"].with_columns(
        snapshot_month=pl.when(month > MONTHS[-1]).then(pl.lit(MONTHS[-1])).otherwise(month))
    part = {"time_deposit": "deposits", "wealth": "wealth", "fund": "funds",
            "insurance": "insurance", "bond": "bonds"}
    holdings = present.unpivot(index=["client_id", "snapshot_month"], on=list(part.values()),
                               variable_name="part", value_name="holding")
    matched = maturities.with_columns(
        part=pl.col("product_type").replace_strict(part)).join(
        holdings, on=["client_id", "snapshot_month", "part"], how="left")
    assert matched["holding"].null_count() == 0
    assert (matched["amount"] <= matched["holding"]).all()
    assert (matched["amount"] > 0).all()
    dates = maturities["maturity_date"]
    assert dates.min() <= f"{MONTHS[0]}-07" and dates.max() >= "2027-01-24"
    first_week = pl.col("maturity_date").is_between(pl.lit("2026-11-01"), pl.lit("2026-11-07"))
    after_end = maturities.filter(first_week)
    assert after_end.height > 0  # "matures this week" has entries right after the last month


# --- Warnings ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def warned(folder, tmp_path_factory):
    """The demo loaded with the default settings: its warnings, computed and delivered."""
    from tierflow.access import EVERYTHING
    from tierflow.ingest import ingest
    from tierflow.queries import QueryRunner
    from tierflow.settings import Settings

    data = tmp_path_factory.mktemp("demo-lake")
    ingest(folder, data, Settings())
    return pl.from_pandas(QueryRunner(data).for_scope(EVERYTHING).run("warnings", {}))


def test_every_warning_rule_has_cases_most_months(warned):
    from tierflow.warning_rules import RULES

    months = warned.filter(pl.col("source") == "computed").group_by("rule").agg(
        pl.col("month").n_unique())
    assert set(months["rule"]) == set(RULES)
    # activity drop needs three months and the one before to compare: 8 of 12 months at most
    assert months["month"].min() >= 8, months

