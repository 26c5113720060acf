"""The load-time aggregates (tierflow/cubes.py) give exactly the figures computed from the raw
snapshot rows (bench/reference/*.sql, run outside the runner), for every query that reads
them: all branches, one branch, two branches, a branch head's scope, a manager's own clients
(where the runner derives the cubes from the manager's rows, and a branch head's scope the
cubes a filter cannot cut), each churn definition, consecutive and other month pairs; and
again after a delivered month replaces a loaded one."""

from __future__ import annotations

import datetime as dt
import shutil

import polars as pl
import pytest

from bench.reference import RawLake, differences, reference_names, without_looked_up
from tierflow import cubes
from tierflow.access import EVERYTHING, Scope
from tierflow.demo import generate_delivery
from tierflow.ingest import ingest
from tierflow.queries import QueryRunner, catalog
from tierflow.settings import Settings

MONTHS = 14


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("cubes")
    delivery = generate_delivery(root / "delivery", clients=600, months=MONTHS, branches=4,
                                 seed=11)
    report = ingest(delivery, root / "data", Settings())
    assert not report.rejected and report.version
    return root


# the groupings a query's group_by takes (its header)
GROUPINGS = {"aum_bridge": ("tier", "branch"), "migration_by_group": ("branch", "manager")}
# the other values a query's dimension takes (its header; the default's variants come first)
DIMENSIONS = {"cohort_breakdown": ("tier", "segment"),
              "warning_coverage": ("branch", "rule", "severity", "tier", "manager", "source")}
# the value a query's required dimension takes first
FIRST_DIMENSION = {"warning_coverage": "total"}


def params_for(name: str, runner) -> list[dict]:
    months = runner.lake.months()
    declared = {p.name for p in catalog()[name].parameters}
    if {"from_date", "month"} <= declared:  # the to-do lists of a window of days
        return [month_and_days_around(months[-1]), month_and_days_around(months[MONTHS // 2]),
                # outside the days stored with the month: the rows
                {"month": months[-1], "from_date": month_start(months[-4]),
                 "to_date": month_start(months[-1]) - dt.timedelta(days=7)}]
    required = {"dimension": FIRST_DIMENSION[name]} if name in FIRST_DIMENSION else {}
    base = {**required, "month": months[-1]} if "month" in declared else {}
    if "from_month" in declared:  # months 1, 3, 6, 12 apart read the cube; others the rows
        base = {"from_month": months[-2], "to_month": months[-1]}
    if "from_date" in declared and "month" not in declared:  # every month but the first
        base = {"from_date": f"{months[1]}-01", "to_date": f"{months[-1]}-28"}
    variants = [base]
    if "from_month" in declared:
        variants += [{"from_month": months[0], "to_month": months[1]},
                     {"from_month": months[-4], "to_month": months[-1]},
                     {"from_month": months[0], "to_month": months[12]},
                     {"from_month": months[-5], "to_month": months[-1]}]
    variants += [{**base, "group_by": g} for g in GROUPINGS.get(name, ())]
    if "change" in declared:
        variants += [{**base, "change": c} for c in ("upgrade", "downgrade")]
    if "churn_definition" in declared:
        variants = [{**base, "churn_definition": d}
                    for d in ("vip_to_mass", "closure", "aum_floor")]
    if "vip_rank" in declared:
        variants.append({**base, "vip_rank": 2})
    if "assign_floor" in declared:  # a higher floor reads the rows kept at load; a lower scans
        variants += [{**base, "assign_floor": cubes.UNASSIGNED_FROM * 2},
                     {**base, "assign_floor": cubes.UNASSIGNED_FROM // 5}]
    if "case_days" in declared:
        # the month with the most answered warnings (the demo's cases answer few), at the
        # default case_days (the counts kept at load) and at one day (the cases: fewer answer)
        listed = runner.run("warnings", {})
        answered = listed.dropna(subset=["days_to_case"])["month"].mode().iloc[0]
        variants += [{**base, "month": answered}, {**base, "month": answered, "case_days": 1}]
        if "dimension" in declared:  # every month
            variants.append({**required})
    if "raised_on" in declared:  # one day's warnings (the month's busiest day): the cases
        days = runner.run("warnings", {"month": base["month"]})["raised_on"]
        variants.append({**base, "raised_on": days.mode().iloc[0]})
    # each other grouping with every churn definition and VIP rank above
    variants += [{**v, "dimension": d} for d in DIMENSIONS.get(name, ()) for v in variants]
    if "month" in declared:
        variants.append({**required, "month": months[len(months) // 2]})
    if "from_date" in declared:
        variants.append({"from_date": f"{months[-12]}-01", "to_date": f"{months[-1]}-28"})
    return variants


def month_start(month: str) -> dt.date:
    return dt.date(int(month[:4]), int(month[5:]), 1)


def month_and_days_around(month: str) -> dict:
    """The widest window stored with a month's to-do list rows: the month and the days
    either side that a week of it reaches."""
    end = (month_start(month) + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
    return {"month": month,
            "from_date": month_start(month) - dt.timedelta(days=cubes.TODO_REACH_DAYS),
            "to_date": end + dt.timedelta(days=cubes.TODO_REACH_DAYS)}


# Lists the demo fills thinly: cut to a branch or a manager, or in the replaced month, they
# may be empty (the demo's new clients mostly have no manager yet, 85 of 101 in its last 14
# months; its clients of 50,000 RMB or more with no manager number 0-3 a branch and month).
# Uncut, they have rows.
SPARSE_LISTS = ("todo_new_clients", "unassigned_clients")


def check(runner, raw: RawLake, name: str, params: dict, may_be_empty: bool = False) -> None:
    got = without_looked_up(name, runner.run_arrow(name, params))
    expected = raw.run(name, params)
    # one day's warnings (the busiest day of all branches) may be none in a branch's cut
    may_be_empty = may_be_empty or params.get("raised_on") is not None
    assert may_be_empty or expected.num_rows > 0, f"{name} {params}: the reference has no rows"
    assert differences(got, expected) == [], f"{name} {params}"


@pytest.mark.parametrize("name", reference_names())
def test_every_branch_one_branch_and_two(lake, name):
    runner = QueryRunner(lake / "data").for_scope(EVERYTHING)
    raw = RawLake(lake / "data")
    branches = sorted(runner.run("branches")["branch_id"])
    for params in params_for(name, runner):
        check(runner, raw, name, params)
        if any(p.name == "branch_id" for p in catalog()[name].parameters):
            for cut in ([branches[1]], branches[1:3]):
                check(runner, raw, name, {**params, "branch_id": cut},
                      may_be_empty=name in SPARSE_LISTS)


@pytest.mark.parametrize("name", reference_names())
def test_a_branch_heads_scope_equals_the_branch_filter(lake, name):
    queries = QueryRunner(lake / "data")
    branch = sorted(queries.for_scope(EVERYTHING).run("branches")["branch_id"])[0]
    head = queries.for_scope(Scope(branches=(branch,), manager_id=None, personal_data=False))
    raw = RawLake(lake / "data")
    for params in params_for(name, head):
        expected = raw.run(name, {**params, "branch_id": [branch]}
                           if any(p.name == "branch_id" for p in catalog()[name].parameters)
                           else params)
        got = without_looked_up(name, head.run_arrow(name, params))
        if name == "branch_league":  # the league lists only the scope's branches
            assert set(got.column("branch_id").to_pylist()) == {branch}
        assert differences(got, expected) == [], f"{name} {params}"


@pytest.mark.parametrize("name", reference_names())
def test_a_managers_own_clients(lake, name):
    queries = QueryRunner(lake / "data")
    clients = queries.for_scope(EVERYTHING).run("client_list",
                                                {"month": queries.lake.months()[-1]})
    manager = clients["manager_id"].dropna().value_counts().index[0]
    own = queries.for_scope(Scope(branches=None, manager_id=manager, personal_data=False))
    raw = RawLake(lake / "data", manager_id=manager)
    for params in params_for(name, own):
        check(own, raw, name, params, may_be_empty=name in SPARSE_LISTS)


def test_a_replaced_month_leaves_no_stale_aggregate(lake, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(lake / "data", data)
    month = QueryRunner(data).lake.months()[MONTHS // 2]
    source = lake / "delivery" / f"snapshots_{month}.parquet"
    redelivered = tmp_path / "redelivery"
    redelivered.mkdir()
    # half the month's clients lose 90% of their AUM; a tenth of them are gone
    rows = pl.read_parquet(source).with_row_index("n")
    rows = rows.filter(pl.col("n") % 10 != 3).with_columns(
        pl.when(pl.col("n") % 2 == 0).then(pl.col("aum") * 0.1).otherwise(pl.col("aum"))
        .round(2).alias("aum")).drop("n")
    rows.write_parquet(redelivered / source.name)
    before = QueryRunner(data).for_scope(EVERYTHING).run_arrow("monthly_totals")
    report = ingest(redelivered, data, Settings())
    assert not report.rejected and report.months == [month], report.summary()
    runner = QueryRunner(data).for_scope(EVERYTHING)
    after = runner.run_arrow("monthly_totals")
    assert differences(after, before) != []  # the figures did move
    raw = RawLake(data)
    for name in reference_names():
        for params in params_for(name, runner):
            # (a stale sparse list would still differ: its old rows against none)
            check(runner, raw, name, params, may_be_empty=name in SPARSE_LISTS)
    # the client list's heads of the month and of the month after it (whose AUM change reads
    # the replaced month) are the scan's first rows again
    after_month = runner.lake.months()[MONTHS // 2 + 1]
    for m in (month, after_month):
        present = {"month": m, "status": ["normal", "dormant"]}
        page = runner.run("client_list", {**present, "page_rows": 20})
        assert page.equals(runner.run("client_list", present).head(20)), m


def test_writing_the_cubes_counts_a_step_per_cube_and_per_month(lake, tmp_path):
    from types import SimpleNamespace

    from tierflow import cubes
    from tierflow.lake import Lake

    class Steps:
        def __init__(self):
            self.added, self.ticks = [], 0

        def add(self, n):
            self.added.append(n)

        def tick(self, n=1):
            self.ticks += n

    source = Lake(lake / "data")
    version = tmp_path / "version"
    shutil.copytree(source.path(source.require_version()), version)
    steps = Steps()
    counts = cubes.write(SimpleNamespace(dir=version, base_dir=None), Settings(), steps=steps)
    # four cubes are written a month at a time: a step for each of their 14 months, and
    # transition_cube's for each month and each of its 4 gaps
    assert len(cubes.BY_MONTH) == 4 and cubes.BY_GAP == ("transition_cube",)
    assert cubes.TRANSITION_GAPS == (1, 3, 6, 12)
    assert steps.added == [len(cubes.CUBES) + (3 + 4) * MONTHS]
    assert steps.ticks == steps.added[0]
    assert set(counts) == set(cubes.CUBES) and all(counts.values())


@pytest.mark.parametrize("who", ["everyone", "branch head", "manager"])
def test_client_list_pages_from_the_heads_equal_the_scan_of_the_month(lake, monkeypatch, who):
    """A first page of every present client comes from client_list_head (in a manager's
    scope computed from the manager's rows); it equals the first rows of the whole list,
    which scans the month. Pages of up to 5 rows read the heads here, so that a manager's
    heads are cut."""
    from tierflow import cubes

    monkeypatch.setattr(cubes, "LIST_HEAD_ROWS", 5)
    queries = QueryRunner(lake / "data")
    everything = queries.for_scope(EVERYTHING)
    branches = sorted(everything.run("branches")["branch_id"])
    months = queries.lake.months()
    clients = everything.run("client_list", {"month": months[-1]})
    scope = {"everyone": EVERYTHING,
             "branch head": Scope(branches=(branches[1],), manager_id=None,
                                  personal_data=False),
             "manager": Scope(branches=None,
                              manager_id=clients["manager_id"].dropna().value_counts().index[0],
                              personal_data=False)}[who]
    runner = queries.for_scope(scope)
    # the branch with most of the scope's clients, alone and with another
    own = runner.run("client_list", {"month": months[-1]})["branch_id"].value_counts().index[0]
    other = next(b for b in branches if b != own)
    for month in (months[1], months[-1]):
        for narrowing in ({}, {"branch_id": [own]}, {"branch_id": [own, other]},
                          {"tier": ["gold", "mass"]}, {"branch_id": [own], "tier": ["mass"]}):
            params = {"month": month, "status": ["normal", "dormant"], **narrowing}
            whole = runner.run("client_list", params)  # every row: the scan of the month
            assert len(whole) > 5, (month, narrowing)
            page = runner.run("client_list", {**params, "page_rows": 5})
            assert page.equals(whole.head(5)), (month, narrowing)
