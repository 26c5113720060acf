"""Roles end to end (issue 4): what each role sees on every page under AppTest, what each role
can export and what the audit log says about it, that the process-wide query cache never hands
one user's rows to another, and that typed-in text (search, sign-in) is only ever text.

Expectations are computed two ways: from the query runner in the user's scope (the numbers a
page must show) and, independently of the scope machinery, from the lake's own tables (which
branches and clients a role may see at all), so a scope rule that leaks is caught even when the
page and the runner agree with each other.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import polars as pl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import write_delivery
from test_pages import APP, EMPTY_BRANCH, PAGES, demo_data_dir  # noqa: F401  (a fixture)
from tierflow import app_data, audit
from tierflow.access import (EVERYTHING, MASK_PATTERNS, AccessError, Scope, User, UserStore,
                             write_demo_users)
from tierflow.charts import tier_label
from tierflow.export import FORMATS, export_query
from tierflow.frame import Filters
from tierflow.i18n import count, percent, t
from tierflow.ingest import ingest
from tierflow.queries import QueryRunner, ScopedRunner, runner_for
from tierflow.settings import Settings
from tierflow.sign_in import SIGNED_IN_AS

LANG = "zh"  # the bank's language; labels are looked up, never typed in
DEMO_USERS = ["demo-executive", "demo-branch-head", "demo-manager", "demo-analyst", "demo-admin"]
TWO_BRANCH_HEAD = "head-of-two"  # branch_head of two branches
GRANTED_ANALYST = "analyst-granted"  # analyst whom users.toml grants personal data
HEAD_WITHOUT_BRANCH = "head-without-branch"  # branch_head with no branch: an error, no rows
MANAGER_WITHOUT_ID = "manager-without-id"  # manager with a branch but no manager_id
SCOPED_USERS = DEMO_USERS + [TWO_BRANCH_HEAD, GRANTED_ANALYST]
UNSCOPED_USERS = [HEAD_WITHOUT_BRANCH, MANAGER_WITHOUT_ID]
ALL_USERS = SCOPED_USERS + UNSCOPED_USERS
# Columns holding personal data, and the mask pattern each must (masked) or must not match.
PERSONAL = {"name": "name", "phone": "phone", "id_number": "id_number"}
LIST_QUERIES = ("client_list", "transition_clients", "cohort_clients", "retention_ledger",
                "dormant_clients", "reactivated_clients", "todo_birthdays", "warnings")
# Tables whose group_key is a branch id (with the pages' default breakdowns).
BRANCH_KEYED = ("churn_breakdown_table", "migration_moves_table")


# -- the lake and who may see what in it ------------------------------------------------------

@dataclass(frozen=True)
class Who:
    """One user of the test lake and, written down here rather than asked of tierflow, the
    scope they must get and the branches and clients they may see."""
    user: User
    scope: Scope | None  # None: the role needs a branch or manager id it does not have
    branches: tuple[str, ...]  # allowed branch ids, sorted (empty when no scope)
    clients: frozenset[str]  # clients they may see

    @property
    def masked(self) -> bool:
        return not self.scope.personal_data

    def runner(self, data_dir: Path) -> ScopedRunner:
        return runner_for(data_dir).for_scope(self.scope)

    def keep(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The rows (of a lake table) this user may see: by the row's branch, and for a
        manager by the client too."""
        rows = rows.filter(pl.col("branch_id").is_in(self.branches))
        if self.scope.manager_id:
            rows = rows.filter(pl.col("client_id").is_in(list(self.clients)))
        return rows


@dataclass(frozen=True)
class Lake:
    data_dir: Path
    people: dict[str, Who]
    months: tuple[str, ...]
    snapshots: pl.DataFrame  # month, client_id, branch_id, present
    entries: pl.DataFrame  # tier_entries: each client's first month at each tier rank
    cases: pl.DataFrame  # retention cases
    vip_rank: int


@pytest.fixture(scope="module")
def lake(demo_data_dir) -> Lake:  # noqa: F811  (the fixture imported from test_pages)
    """The pages' demo lake (six branches with clients, one empty) with the demo users and four
    more: a branch head of two branches, an analyst granted personal data, a branch head with
    no branch and a manager with no manager_id."""
    runner = QueryRunner(demo_data_dir)
    lake_ = runner.lake
    version = lake_.require_version()
    branches = tuple(sorted(lake_.read_table("branches")["branch_id"]))
    assert EMPTY_BRANCH in branches and len(branches) == 7
    with_clients = [b for b in branches if b != EMPTY_BRANCH]
    first = lake_.read_table("managers").sort("branch_id", "manager_id").row(0, named=True)
    store = UserStore(demo_data_dir)
    store.put(User(TWO_BRANCH_HEAD, "branch_head", branches=tuple(with_clients[1:3])))
    store.put(User(GRANTED_ANALYST, "analyst", personal_data=True))
    store.put(User(HEAD_WITHOUT_BRANCH, "branch_head"))
    store.put(User(MANAGER_WITHOUT_ID, "manager", branches=(with_clients[0],)))
    scopes = {  # what issue 4 says each must see
        "demo-executive": Scope(None, None, True),
        "demo-branch-head": Scope((first["branch_id"],), None, True),
        "demo-manager": Scope((first["branch_id"],), first["manager_id"], True),
        "demo-analyst": Scope(None, None, False),
        "demo-admin": Scope(None, None, False),
        TWO_BRANCH_HEAD: Scope(tuple(with_clients[1:3]), None, True),
        GRANTED_ANALYST: Scope(None, None, True),
        HEAD_WITHOUT_BRANCH: None,
        MANAGER_WITHOUT_ID: None,
    }
    clients = lake_.read_table("clients")
    snapshots = pl.read_parquet(lake_.table_files(version)["snapshots"],
                                columns=["month", "client_id", "branch_id", "present"])
    cases = lake_.read_table("retention_cases")
    rows = pl.concat([clients.select("client_id", "branch_id"),
                      snapshots.select("client_id", "branch_id"),
                      cases.select("client_id", "branch_id")])
    people = {}
    for name, scope in scopes.items():
        if scope is None:
            people[name] = Who(store.require(name), None, (), frozenset())
            continue
        allowed = branches if scope.branches is None else tuple(sorted(scope.branches))
        if scope.manager_id is not None:
            seen = clients.filter(pl.col("manager_id") == scope.manager_id)["client_id"]
        else:
            seen = rows.filter(pl.col("branch_id").is_in(allowed))["client_id"]
        people[name] = Who(store.require(name), scope, allowed, frozenset(seen.to_list()))
    # the fixture itself must describe distinct scopes, else the matrix proves little
    assert 0 < len(people["demo-manager"].clients) < len(people["demo-branch-head"].clients) \
        < len(people["demo-executive"].clients) == clients.height
    return Lake(demo_data_dir, people, tuple(lake_.months(version)), snapshots,
                lake_.read_table("tier_entries"), cases, runner.settings.vip_min_rank)


def test_users_file_gives_each_role_its_scope(lake):
    for name, who in lake.people.items():
        if who.scope is None:
            with pytest.raises(AccessError, match="no branch|no manager_id"):
                who.user.scope()
        else:
            assert who.user.scope() == who.scope, name


def run_as(user: str, page: str | None = None, lang: str = LANG) -> AppTest:
    """A new session signed in as `user`, opened on `page` (as a deep link would)."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lang"] = lang
    at.session_state[SIGNED_IN_AS] = user
    if page:
        at.switch_page(f"app_pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# The st.dataframe tables each page draws, in order (AppTest does not report the key of a
# table without selections).
TABLES = {"overview": ["overview_league"], "tiers": [],
          "migration": ["migration_bridge_table", "migration_moves_table"],
          "churn": ["churn_breakdown_table"],
          "retention": ["retention_dimension_table", "retention_ledger_table"],
          "clients": ["clients_table"],
          "dormant": ["dormant_call_list"],  # the open tab's list only
          "todos": ["todo_maturities"],  # the open tab's list only
          "books": ["books_table", "books_unassigned"],
          "warnings": ["warnings_by_branch", "warnings_table"]}


def frames(at: AppTest, page: str) -> dict[str, pd.DataFrame]:
    """The st.dataframe values a page drew, by the key the page gives them."""
    names = TABLES[page]
    assert len(at.dataframe) == len(names), [d.value.columns.tolist() for d in at.dataframe]
    return {name: element.value for name, element in zip(names, at.dataframe)}


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def infos(at: AppTest) -> str:
    return " ".join(i.value for i in at.info)


def assert_masking(df: pd.DataFrame, masked: bool, where: str) -> int:
    """Every personal-data value in `df` matches its mask pattern when masked and none does
    when not; returns how many values were checked."""
    checked = 0
    for column, kind in PERSONAL.items():
        if column not in df:
            continue
        values = [v for v in df[column].tolist() if isinstance(v, str) and v]
        wrong = [v for v in values if bool(re.match(MASK_PATTERNS[kind], v)) != masked]
        assert not wrong, f"{where}: {column} {'not ' if masked else ''}masked: {wrong[:5]}"
        checked += len(values)
    return checked


def assert_in_scope(df: pd.DataFrame, who: Who, where: str) -> None:
    """No row of a branch or client outside the user's scope."""
    if "branch_id" in df:
        outside = set(df["branch_id"].dropna()) - set(who.branches)
        assert not outside, f"{where}: rows of branches {sorted(outside)} shown to {who.user.name}"
    if "client_id" in df:
        outside = set(df["client_id"].dropna()) - who.clients
        assert not outside, f"{where}: {len(outside)} clients outside the scope of " \
                            f"{who.user.name}, e.g. {sorted(outside)[:3]}"


# -- 1. the role matrix ----------------------------------------------------------------------

@functools.cache
def whole_list(runner: QueryRunner, month: str) -> pd.DataFrame:
    return runner.run("client_list", {"month": month, "status": ["normal", "dormant"]},
                      scope=EVERYTHING)


def open_accounts(who: Who, run: ScopedRunner, month: str) -> pd.DataFrame:
    """The month's clients with an open account that `who` may see, worked out without the
    scope rules: the whole list, filtered here by each row's branch (and client)."""
    return visible(whole_list(run.runner, month), who)


def expect_overview(at, who, run, lake):
    month = at.session_state["month"]
    totals = run.run("monthly_totals").set_index("month")
    mine = open_accounts(who, run, month)
    assert metrics(at)[t("kpi_clients", LANG)] == count(totals.loc[month, "clients"]) \
        == count(len(mine))
    league = run.run("branch_league", {"month": month})
    shown = frames(at, "overview")["overview_league"]
    assert shown["branch_id"].tolist() == league["branch_id"].tolist()
    assert shown["clients"].tolist() == league["clients"].tolist()
    assert dict(zip(shown["branch_id"], shown["clients"])) \
        == mine.groupby("branch_id").size().to_dict()
    # a row for every allowed branch that has clients, and no other
    assert sorted(shown["branch_id"]) == [b for b in who.branches if b != EMPTY_BRANCH]


def expect_tiers(at, who, run, lake):
    month = at.session_state["month"]
    figures = run.run("tier_key_figures", {"month": month})
    cards = [m.label for m in at.metric if " · " in m.label]
    assert cards == [f"{tier_label(r.tier, LANG)} · {count(r.clients)}"
                     for r in figures.itertuples()]
    by_tier = open_accounts(who, run, month).groupby("tier").size()
    assert figures.set_index("tier")["clients"].to_dict() == {
        tier: by_tier.get(tier, 0) for tier in figures["tier"]}
    curve = run.run("wealth_concentration", {"month": month})
    top20 = curve.loc[curve["top_percent"] == 20, "aum_share"].iloc[0]
    assert metrics(at)[t("top20_hold", LANG)] == percent(top20)


def expect_migration(at, who, run, lake):
    span = {"from_month": at.session_state["migration_from_shown"],
            "to_month": at.session_state["month"]}
    shown = frames(at, "migration")
    bridge = run.run("aum_bridge", {**span, "group_by": "tier"})
    assert len(shown["migration_bridge_table"]) == len(bridge)
    moves = run.run("migration_by_group", {**span, "group_by": "branch"})
    assert shown["migration_moves_table"]["group_key"].tolist() == moves["group_key"].tolist()
    assert shown["migration_moves_table"]["staying"].tolist() == moves["staying"].tolist()
    # staying: present in both months, both rows visible to the user, by the later branch
    present = lake.snapshots.filter(pl.col("present"))
    before = who.keep(present.filter(pl.col("month") == span["from_month"]))
    after = who.keep(present.filter(pl.col("month") == span["to_month"]))
    staying = after.join(before.select("client_id"), on="client_id").group_by("branch_id").len()
    assert dict(zip(moves["group_key"], moves["staying"])) \
        == dict(zip(staying["branch_id"], staying["len"]))


def expect_churn(at, who, run, lake):
    breakdown = run.run("cohort_breakdown", {
        "churn_definition": at.session_state["churn_definition"], "dimension": "branch"})
    shown = frames(at, "churn")["churn_breakdown_table"]
    assert shown["group_key"].tolist() == breakdown["group_key"].tolist()
    assert shown["cohort_clients"].tolist() == breakdown["cohort_clients"].tolist()
    # cohort members: each client's first month at a VIP tier, in a branch (and of a client)
    # the user may see
    members = who.keep(lake.entries.filter(pl.col("min_rank") == lake.vip_rank))
    members = members.group_by("branch_id").len()
    assert dict(zip(breakdown["group_key"], breakdown["cohort_clients"])) \
        == dict(zip(members["branch_id"], members["len"]))


def expect_retention(at, who, run, lake):
    start, end = at.session_state["retention_period"]
    period = {"from_date": start, "to_date": end}
    if run.run("retention_success", period).empty:
        assert t("no_cases_in_period", LANG) in infos(at) and not at.dataframe
        return
    ledger = run.run("retention_ledger", period)
    shown = frames(at, "retention")["retention_ledger_table"]
    assert shown["case_id"].tolist() == ledger["case_id"].tolist()
    opened = pl.col("opened_on").is_between(start, end)
    assert sorted(shown["case_id"]) == sorted(who.keep(lake.cases.filter(opened))["case_id"])
    by_channel = run.run("retention_by_dimension", {"dimension": "channel", **period})
    assert len(frames(at, "retention")["retention_dimension_table"]) == len(by_channel)


def expect_clients(at, who, run, lake):
    month = at.session_state["month"]
    clients = run.run("client_list", {"month": month, "status": ["normal", "dormant"]})
    assert metrics(at)[t("list_clients", LANG)] == count(len(clients))
    assert clients["client_id"].tolist() == open_accounts(who, run, month)["client_id"].tolist()
    shown = frames(at, "clients")["clients_table"]
    assert shown["client_id"].tolist() == clients["client_id"].head(1000).tolist()
    assert assert_masking(shown, who.masked, "clients_table") >= 3 * len(shown) > 0
    managers = at.multiselect(key="clients_managers").options
    expected = run.run("managers")["manager_id"].tolist()
    assert [m.split(" ")[0] for m in managers] == expected
    if who.scope.manager_id:
        assert expected == [who.scope.manager_id]


def expect_dormant(at, who, run, lake):
    month = at.session_state["month"]
    trend = run.run("dormancy_trend")
    totals = trend[trend["branch_id"].isna()].set_index("month")
    assert metrics(at)[t("kpi_dormant", LANG)] == count(totals.loc[month, "dormant"])
    assert set(trend["branch_id"].dropna()) <= set(who.branches)
    call_list = run.run("dormant_clients", {"month": month})
    shown = frames(at, "dormant")["dormant_call_list"]
    assert shown["client_id"].tolist() == call_list["client_id"].head(1000).tolist()
    # dormant clients are open accounts of the month the user may see
    assert set(call_list["client_id"]) <= set(open_accounts(who, run, month)["client_id"])
    assert len(call_list) == totals.loc[month, "dormant"]


def expect_todos(at, who, run, lake):
    month = at.session_state["month"]
    reference = at.date_input(key=f"todos_reference_{month}").value
    monday = reference - dt.timedelta(days=reference.weekday())
    week = {"from_date": monday, "to_date": monday + dt.timedelta(days=6), "month": month}
    birthdays = run.run("todo_birthdays", week)
    if all(d.value.empty for d in at.dataframe) and not at.tabs:
        assert t("no_data", LANG) in infos(at)
        return
    shown = frames(at, "todos")
    assert shown["todo_maturities"]["client_id"].tolist() == \
        run.run("todo_maturities", week)["client_id"].head(1000).tolist()
    assert metrics(at)[t("todo_birthdays", LANG)] == count(len(birthdays))
    # the birthdays' tab, opened: its list, within the scope and masked as the role says
    at.session_state["todos_list"] = t("todo_birthdays", LANG)
    at.run()
    opened = at.dataframe[0].value
    assert opened["client_id"].tolist() == birthdays["client_id"].tolist()
    assert_in_scope(opened, who, "todos/todo_birthdays")
    assert_masking(opened, who.masked, "todos/todo_birthdays")
    # the manager picker offers the managers the user may see, and only when there are several
    pickers = [s for s in at.selectbox if s.key == "todos_manager"]
    assert bool(pickers) == (len(run.run("managers")) > 1)
    if who.scope.manager_id:
        assert set(birthdays["manager_id"].dropna()) <= {who.scope.manager_id}


def expect_books(at, who, run, lake):
    month = at.session_state["month"]
    books = run.run("manager_books", {"month": month})
    shown = frames(at, "books")
    assert shown["books_table"]["manager_id"].tolist() == books["manager_id"].tolist()
    assert shown["books_table"]["clients"].tolist() == books["clients"].tolist()
    # a book holds the month's open accounts naming the manager, of branches the user sees
    mine = open_accounts(who, run, month)
    assert books["clients"].sum() == mine["manager_id"].notna().sum()
    if who.scope.manager_id:
        assert books["manager_id"].tolist() == [who.scope.manager_id]
    unassigned = run.run("unassigned_clients", {"month": month})
    assert shown["books_unassigned"]["client_id"].tolist() == unassigned["client_id"].tolist()


def expect_warnings(at, who, run, lake):
    month = at.session_state["month"]
    listed = run.run("warnings", {"month": month})
    if listed.empty:
        assert t("no_data", LANG) in infos(at)
        return
    assert metrics(at)[t("kpi_warnings", LANG)] == count(len(listed))
    shown = frames(at, "warnings")
    assert shown["warnings_table"]["warning_id"].tolist() == \
        listed["warning_id"].head(1000).tolist()
    assert set(shown["warnings_by_branch"]["dimension_value"]) <= set(who.branches)
    # the warnings of branches and clients the user may see, and all of them
    everything = runner_for(lake.data_dir).run("warnings", {"month": month}, scope=EVERYTHING)
    assert sorted(listed["warning_id"]) == sorted(visible(everything, who)["warning_id"])


EXPECT = {"overview": expect_overview, "tiers": expect_tiers, "migration": expect_migration,
          "churn": expect_churn, "retention": expect_retention, "clients": expect_clients,
          "dormant": expect_dormant, "todos": expect_todos, "books": expect_books,
          "warnings": expect_warnings}
assert set(EXPECT) == set(PAGES)


@pytest.fixture(scope="module")
def sessions(lake):
    """One AppTest session per user, reused from page to page (a new session costs ~0.3 s);
    the deep link into a fresh session is tested with the admin page below."""
    opened: dict[str, AppTest] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TIERFLOW_DATA_DIR", str(lake.data_dir))

        def session(user: str, page: str) -> AppTest:
            if user not in opened:
                opened[user] = run_as(user, page)
                return opened[user]
            at = opened[user]
            if lake.people[user].scope is not None:  # else there is no navigation to use
                at.switch_page(f"app_pages/{page}.py")
            at.run()
            assert not at.exception, [e.value for e in at.exception]
            return at
        yield session


@pytest.mark.parametrize("page_name", PAGES)  # not `page`: pytest-playwright owns that name
@pytest.mark.parametrize("user", ALL_USERS)
def test_role_matrix(lake, sessions, user, page_name):
    """Each user on each page: no exception; every table only of allowed branches and clients
    and as long as the runner says for that scope; the branch filter offers exactly the
    allowed branches; personal data masked exactly for the masked roles; a user whose role
    lacks a branch or manager id gets an error and nothing else."""
    who = lake.people[user]
    at = sessions(user, page_name)
    if who.scope is None:
        with pytest.raises(AccessError) as refused:
            who.user.scope()
        assert [e.value for e in at.error] == [t("signin_no_scope", LANG,
                                                 reason=str(refused.value))]
        assert not at.dataframe and not at.metric and not at.get("plotly_chart")
        assert not at.multiselect, "no filter (no branch list) for a user without scope"
        return
    assert not at.error, [e.value for e in at.error]
    options = at.multiselect(key="branches").options
    assert [o.split(" ")[0] for o in options] == list(who.branches)
    shown = frames(at, page_name) if at.dataframe else {}  # none: EXPECT says why
    for key, df in shown.items():
        assert_in_scope(df, who, f"{page_name}/{key}")
        assert_masking(df, who.masked, f"{page_name}/{key}")
        if key in BRANCH_KEYED:
            assert set(df["group_key"]) <= set(who.branches), f"{page_name}/{key}"
    EXPECT[page_name](at, who, who.runner(lake.data_dir), lake)



@pytest.mark.parametrize("user", ["demo-branch-head", "demo-manager", TWO_BRANCH_HEAD])
def test_tampered_filters_keep_the_scope(lake, monkeypatch, user):
    """Another branch asked for through the URL, the widget state or a drill-through (the
    ways a request can name a branch the sidebar does not offer) shows nothing of it."""
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(lake.data_dir))
    who = lake.people[user]
    other = next(b for b in lake.people["demo-executive"].branches
                 if b not in who.branches and b != EMPTY_BRANCH)
    month = lake.months[-1]
    mine = count(len(open_accounts(who, who.runner(lake.data_dir), month)))
    for tamper in ("url", "state"):
        at = AppTest.from_file(APP, default_timeout=120)
        at.session_state["lang"] = LANG
        at.session_state[SIGNED_IN_AS] = user
        if tamper == "url":
            at.query_params["branches"] = [other]
        else:
            at.session_state["branches"] = [other]
        at.switch_page("app_pages/clients.py").run()
        assert not at.exception, tamper
        assert set(at.multiselect(key="branches").value) <= set(who.branches), tamper
        shown = frames(at, "clients")["clients_table"] if at.dataframe else pd.DataFrame()
        assert_in_scope(shown, who, tamper)
        assert metrics(at).get(t("list_clients", LANG), "0") in (mine, "0"), tamper
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lang"] = LANG
    at.session_state[SIGNED_IN_AS] = user
    at.session_state["clients_drill"] = {
        "query": "client_list", "title": "tampered",
        "params": {"month": month, "branch_id": [other]}}
    at.switch_page("app_pages/clients.py").run()
    assert not at.exception
    assert t("no_data", LANG) in infos(at) and not at.dataframe and not at.metric


# -- the admin page ---------------------------------------------------------------------------

def test_admin_sees_the_audit_page(lake, monkeypatch):
    """The administrator's navigation has the audit page; it lists every export (newest
    first) and every user of the users file with their scope."""
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(lake.data_dir))
    analyst = lake.people["demo-analyst"]
    data, rows = export_query(runner_for(lake.data_dir), user=analyst.user.name,
                              role=analyst.user.role, scope=analyst.scope, source="app",
                              name="branches", params={}, fmt="csv")
    entries = audit.read(lake.data_dir)
    at = run_as("demo-admin", "audit")
    assert [h.value for h in at.header] == [t("page_audit", LANG)]
    assert [s.value for s in at.success] == [t("audit_intact", LANG, lines=len(entries))]
    log, users = (d.value for d in at.dataframe)
    assert len(log) == len(entries)
    newest = log.iloc[0]
    assert (newest["user"], newest["role"], newest["rows"], newest["masked"],
            newest["sha256"]) == ("demo-analyst", "analyst", rows, True,
                                  hashlib.sha256(data).hexdigest())
    listed = users.set_index("name")
    assert set(listed.index) == set(lake.people)
    assert listed.loc[TWO_BRANCH_HEAD, "branches"] == ", ".join(
        lake.people[TWO_BRANCH_HEAD].branches)
    assert bool(listed.loc[GRANTED_ANALYST, "personal_data"]) is True
    assert bool(listed.loc["demo-analyst", "personal_data"]) is False
    # reached from another page too: the page is in the admin's navigation
    at.switch_page("app_pages/overview.py").run()
    at.switch_page("app_pages/audit.py").run()
    assert [h.value for h in at.header] == [t("page_audit", LANG)]


@pytest.mark.parametrize("user", [u for u in ALL_USERS if u != "demo-admin"])
def test_others_cannot_reach_the_audit_page(lake, monkeypatch, user):
    """Not in their navigation (AppTest cannot switch to it), and a deep link to it lands on
    the default page (or the no-scope error): no audit log, no users list."""
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(lake.data_dir))
    at = run_as(user, "audit")
    assert t("page_audit", LANG) not in [h.value for h in at.header]
    assert not [s for s in at.subheader if s.value in (t("audit_exports", LANG),
                                                       t("users_title", LANG))]
    assert not [d for d in at.dataframe if {"sha256", "display_name"} & set(d.value.columns)]
    if lake.people[user].scope is None:
        assert at.error and not at.dataframe
        return
    assert [h.value for h in at.header] == [t("page_overview", LANG)
                                            + f" · {at.session_state['month']}"]
    with pytest.raises(ValueError, match="navigation page"):
        at.switch_page("app_pages/audit.py")


@pytest.mark.parametrize("user", ["demo-analyst", "demo-executive"])
def test_audit_page_itself_refuses_non_admins(lake, monkeypatch, user):
    """Should the page run for a non-admin anyway, it stops at its own check."""
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(lake.data_dir))
    at = AppTest.from_file(str(Path(APP).parent / "app_pages" / "audit.py"),
                           default_timeout=60)
    at.session_state[app_data.USER_KEY] = lake.people[user].user
    at.session_state["_filters"] = Filters(month=lake.months[-1], branches=(), tiers=(),
                                           lang=LANG)
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("admin_only", LANG)]
    assert not at.dataframe and not at.success


def _ask_at_once_and_one_by_one(calls):
    """An app script: the calls through app_data.queries (side by side), then each again
    through app_data.query with the cache cleared."""
    import streamlit as st

    from tierflow import app_data

    together = app_data.queries(*calls)
    st.cache_data.clear()
    st.session_state["together"] = together
    st.session_state["one_by_one"] = [app_data.query(name, **params) for name, params in calls]


@pytest.mark.parametrize("user", ["demo-branch-head", "demo-analyst"])
def test_queries_asked_at_once_are_each_as_asked_alone(lake, monkeypatch, user):
    """app_data.queries runs its calls in threads: each gives the rows query() gives, in the
    order asked, within the user's scope and masking."""
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(lake.data_dir))
    who = lake.people[user]
    month = lake.months[-1]
    calls = [("dormant_clients", {"month": month, "page_rows": 50}), ("branches", {}),
             ("warnings", {"month": month, "page_rows": 50}),
             ("warning_coverage", {"month": month, "dimension": "branch"})]
    at = AppTest.from_function(_ask_at_once_and_one_by_one, args=(calls,), default_timeout=60)
    at.session_state[app_data.USER_KEY] = who.user
    at.run()
    assert not at.exception
    together, one_by_one = at.session_state["together"], at.session_state["one_by_one"]
    assert [len(t) for t in together] == [len(o) for o in one_by_one]
    assert all(t.equals(o) for t, o in zip(together, one_by_one))
    dormant, _, warned, coverage = together
    assert len(dormant) > 0 and len(warned) > 0
    for rows in (dormant, warned):
        assert set(rows["branch_id"].dropna()) <= set(who.branches)
    assert set(coverage["dimension_value"]) <= set(who.branches)
    assert assert_masking(dormant, who.masked, user) >= len(dormant)


# -- 2. exports ------------------------------------------------------------------------------

def export_params(lake: Lake) -> dict[str, dict]:
    # narrowed to the upper tiers: an XLSX of the whole list takes ~1.5 s to write and read
    months = lake.months
    return {"client_list": {"month": months[-1], "status": ["normal", "dormant"],
                            "tier": ["platinum", "diamond", "private"]},
            "transition_clients": {"from_month": months[-4], "to_month": months[-1],
                                   "from_tier": "platinum"},
            "cohort_clients": {"cohort_month": months[2], "months_since": 3},
            "retention_ledger": {"from_date": None},
            "dormant_clients": {"month": months[-1]},
            "reactivated_clients": {"from_month": months[0], "to_month": months[-1]},
            # a whole year of birthdays: every user has some
            "todo_birthdays": {"from_date": dt.date(int(months[-1][:4]), 1, 1),
                               "to_date": dt.date(int(months[-1][:4]), 12, 31),
                               "month": months[-1]},
            "warnings": {}}  # every month: a manager's few clients have some


def read_back(data: bytes, fmt: str) -> pd.DataFrame:
    """An exported file as a frame (text columns stay text: ids keep their leading zeros)."""
    if fmt == "csv":
        return pl.read_csv(io.BytesIO(data), infer_schema=False).to_pandas()
    if fmt == "json":
        return pl.read_json(io.BytesIO(data)).to_pandas()
    if fmt == "parquet":
        return pl.read_parquet(io.BytesIO(data)).to_pandas()
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    header, *body = sheet.iter_rows(values_only=True)
    return pd.DataFrame(body, columns=header)


def mask_name(name: str) -> str:
    return name[0] + "*" * max(len(name) - 1, 1)


def visible(df: pd.DataFrame, who: Who) -> pd.DataFrame:
    """Rows of an unrestricted result that `who` may see (by the row's branch and client)."""
    keep = df["branch_id"].isin(who.branches)
    if who.scope.manager_id:
        keep &= df["client_id"].isin(who.clients)
    return df[keep]


@pytest.mark.parametrize("query", LIST_QUERIES)
@pytest.mark.parametrize("user", SCOPED_USERS)
def test_exports_stay_in_scope_and_are_audited(lake, user, query):
    """Every format of every list export: the rows the scope allows and no other, masked as
    the role says, and exactly one audit line naming the user, rows, masking and the sha256
    of the very bytes handed out."""
    who = lake.people[user]
    runner = runner_for(lake.data_dir)
    params = export_params(lake)[query]
    expected = who.runner(lake.data_dir).run(query, params)
    everything = runner.run(query, params, scope=EVERYTHING)
    assert len(expected) > 0
    if who.scope.branches is None:
        assert expected["client_id"].tolist() == everything["client_id"].tolist()
    else:
        assert len(expected) < len(everything)
    if query in ("client_list", "retention_ledger"):  # rows by their own branch: comparable
        assert expected["client_id"].tolist() == visible(everything, who)["client_id"].tolist()
    real_names = dict(zip(everything["client_id"], everything["name"]))
    for fmt in FORMATS:
        before = len(audit.read(lake.data_dir))
        data, rows = export_query(runner, user=who.user.name, role=who.user.role,
                                  scope=who.scope, source="app", name=query, params=params,
                                  fmt=fmt)
        log = audit.read(lake.data_dir)
        assert len(log) == before + 1, "one audit line per export"
        line = log[-1]
        assert {k: line[k] for k in ("user", "role", "source", "query", "rows", "masked",
                                     "format", "sha256", "columns")} == {
            "user": who.user.name, "role": who.user.role, "source": "app", "query": query,
            "rows": len(expected), "masked": who.masked, "format": fmt,
            "sha256": hashlib.sha256(data).hexdigest(), "columns": list(expected.columns)}
        got = read_back(data, fmt)
        where = f"{user} {query}.{fmt}"
        assert rows == len(got) == len(expected), where
        assert got["client_id"].tolist() == expected["client_id"].tolist(), where
        assert_in_scope(got, who, where)
        assert assert_masking(got, who.masked, where) >= len(got), where
        names = [real_names[c] for c in got["client_id"]]
        assert got["name"].tolist() == ([mask_name(n) for n in names] if who.masked
                                     else names), where
    assert audit.verify(lake.data_dir) is None


@pytest.mark.parametrize("user", SCOPED_USERS)
def test_download_button_path_looks_the_user_up(lake, monkeypatch, user):
    """app_data.export_file (what the Clients page's buttons call) takes role and scope from
    the users file by name, and audits under that name."""
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(lake.data_dir))
    who = lake.people[user]
    params = export_params(lake)["client_list"]
    data = app_data.export_file("client_list", params, "csv", user)
    line = audit.read(lake.data_dir)[-1]
    assert (line["user"], line["role"], line["masked"], line["sha256"]) == (
        user, who.user.role, who.masked, hashlib.sha256(data).hexdigest())
    got = read_back(data, "csv")
    assert line["rows"] == len(got) == len(who.runner(lake.data_dir).run("client_list", params))
    assert_in_scope(got, who, user)
    assert_masking(got, who.masked, user)


@pytest.mark.parametrize("user", UNSCOPED_USERS + ["nobody-of-that-name"])
def test_no_download_without_a_scope(lake, monkeypatch, user):
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(lake.data_dir))
    before = len(audit.read(lake.data_dir))
    with pytest.raises(AccessError):
        app_data.export_file("client_list", export_params(lake)["client_list"], "csv", user)
    assert len(audit.read(lake.data_dir)) == before


# -- 3. the process-wide cache ---------------------------------------------------------------

@pytest.mark.parametrize("first, second", [
    ("demo-executive", "demo-branch-head"),
    ("demo-branch-head", "demo-executive"),
    ("demo-executive", "demo-analyst"),
    ("demo-analyst", "demo-executive"),
    ("demo-branch-head", "demo-manager"),
])
def test_cache_is_never_shared_across_scopes(lake, monkeypatch, first, second):
    """Two sessions in one process with the same filters: the second sees its own rows and
    masking, not the first's cached answer, although the cache is shared (a second session of
    the first user runs no query at all)."""
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(lake.data_dir))
    st.cache_data.clear()
    ran: list[Scope] = []
    real_run = QueryRunner.run

    def counted(self, name, params=None, **how):
        ran.append(how["scope"])
        return real_run(self, name, params, **how)
    monkeypatch.setattr(QueryRunner, "run", counted)

    a = run_as(first, "clients")
    cached = len(ran)
    assert cached > 0
    again = run_as(first, "clients")
    assert len(ran) == cached, "the cache is process-wide: the same scope runs no query again"
    b = run_as(second, "clients")
    assert len(ran) > cached and set(ran[cached:]) == {lake.people[second].scope}
    monkeypatch.setattr(QueryRunner, "run", real_run)
    for at, user in ((a, first), (again, first), (b, second)):
        who = lake.people[user]
        shown = frames(at, "clients")["clients_table"]
        assert_in_scope(shown, who, user)
        assert assert_masking(shown, who.masked, user) > 0
        assert sorted(set(shown["branch_id"])) == [b for b in who.branches if b != EMPTY_BRANCH]
        expect_clients(at, who, who.runner(lake.data_dir), lake)


# -- 4. typed-in text ------------------------------------------------------------------------

INJECTIONS = ["' OR 1=1 --", "%", "_", ";", '=HYPERLINK("http://x","y")',
              "<script>alert(1)</script>"]
FORMULAS = ["+1+1", "-1+1", "@SUM(1)"]  # the other starts a spreadsheet reads as a formula


def literal_matches(rows: pd.DataFrame, text: str) -> pd.DataFrame:
    """The rows whose client id or name contains `text` as it stands."""
    hit = [text in c or text in (n or "") for c, n in zip(rows["client_id"], rows["name"])]
    return rows[hit]


@pytest.mark.parametrize("user", ["demo-executive", "demo-branch-head", "demo-analyst",
                                  "demo-manager"])
def test_search_box_takes_text_literally(lake, monkeypatch, user):
    """Hostile strings in the Clients search find nothing (no client is named so), raise
    nothing and change no scope; a real surname finds exactly the in-scope clients that
    contain it; a masked user cannot find a client by the full name they may not see."""
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(lake.data_dir))
    who = lake.people[user]
    run = who.runner(lake.data_dir)
    at = run_as(user, "clients")
    month = at.session_state["month"]
    base = {"month": month, "status": ["normal", "dormant"]}
    everything = runner_for(lake.data_dir).run("client_list", base, scope=EVERYTHING)
    options = at.multiselect(key="branches").options
    for text in INJECTIONS:
        at.text_input(key="clients_search").input(text).run()
        assert not at.exception, (text, [e.value for e in at.exception])
        assert literal_matches(everything, text).empty
        assert run.run("client_list", {**base, "search": text}).empty, text
        assert t("no_data", LANG) in infos(at) and not at.dataframe and not at.metric, text
        assert at.multiselect(key="branches").options == options
    # a surname shared by several branches: in-scope matches only
    surname = everything["name"].str[0].value_counts().index[0]
    at.text_input(key="clients_search").input(surname).run()
    mine = literal_matches(visible(everything, who), surname)
    assert metrics(at)[t("list_clients", LANG)] == count(len(mine)) != "0"
    shown = frames(at, "clients")["clients_table"]
    assert shown["client_id"].tolist() == mine["client_id"].tolist()
    assert_in_scope(shown, who, user)
    if who.scope.branches is not None:
        assert len(mine) < len(literal_matches(everything, surname))
    # the full name of a client in scope: found only when the user may see names
    full = mine["name"][mine["name"].str.len() >= 2].iloc[0]
    at.text_input(key="clients_search").input(full).run()
    if who.masked:
        assert t("no_data", LANG) in infos(at) and not at.dataframe
    else:
        names = frames(at, "clients")["clients_table"]["name"]
        assert len(names) >= 1 and all(full in n for n in names)
    at.text_input(key="clients_search").input("").run()
    assert metrics(at)[t("list_clients", LANG)] == count(len(visible(everything, who)))


def submit_sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    (submit,) = at.button
    submit.click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_sign_in_refuses_hostile_names(lake, monkeypatch):
    """A hostile user name is refused whatever the password (the demo one, itself, none) and
    signs nobody in, as is a real user with a hostile password; the same form then signs the
    real user in with the right password (so it is the name that failed, not the form)."""
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(lake.data_dir))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lang"] = LANG
    at.run()
    # (each attempt costs an Argon2 verification, ~0.1 s: a sample, not every pair)
    attempts = [(name, "demo") for name in INJECTIONS]
    attempts += [("' OR 1=1 --", "' OR 1=1 --"), ("' OR 1=1 --", ""),
                 ("demo-executive", "' OR 1=1 --"), ("demo-executive", "%")]
    for name, password in attempts:
        submit_sign_in(at, name, password)
        assert [e.value for e in at.error] == [t("signin_refused", LANG)], (name, password)
        assert SIGNED_IN_AS not in at.session_state and app_data.USER_KEY not in at.session_state
        assert not at.dataframe and not at.metric and not at.multiselect
    submit_sign_in(at, "demo-executive", "demo")
    assert at.session_state[SIGNED_IN_AS] == "demo-executive" and not at.error
    assert at.dataframe, "signed in: the Overview's league is drawn"


# -- a lake whose client names are hostile ----------------------------------------------------

HOSTILE = INJECTIONS + FORMULAS


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    """Two branches; in B1 one client named by each hostile string and one plain name; in B2
    a second "' OR 1=1 --" and a plain name; two months; the demo users (branch head and
    manager of B1)."""
    root = tmp_path_factory.mktemp("hostile")
    names = [(f"H{i:02}", name, "B1") for i, name in enumerate(HOSTILE, start=1)]
    names += [("P01", "王小明", "B1"), ("H99", "' OR 1=1 --", "B2"), ("P02", "李雷", "B2")]
    clients = [{"client_id": c, "name": n, "branch_id": b, "manager_id": f"M{b[1]}",
                "phone": f"1380000{i:04}", "id_number": f"11010119900101{i:04}"}
               for i, (c, n, b) in enumerate(names)]
    snapshots = [{"snapshot_month": month, "client_id": c["client_id"],
                  "aum": str(10_000 * (i + 1) + k), "branch_id": c["branch_id"],
                  "manager_id": c["manager_id"]}
                 for k, month in enumerate(("2024-01", "2024-02"))
                 for i, c in enumerate(clients)]
    delivery = write_delivery(root / "delivery", {
        "branches": [{"branch_id": "B1", "branch_name": "静安支行"},
                     {"branch_id": "B2", "branch_name": "徐汇支行"}],
        "managers": [{"manager_id": "M1", "manager_name": "李佳", "branch_id": "B1"},
                     {"manager_id": "M2", "manager_name": "陈斌", "branch_id": "B2"}],
        "clients": clients, "snapshots": snapshots})
    report = ingest(delivery, root / "data", Settings())
    assert not report.rejected and report.set_aside.height == 0, report.summary()
    write_demo_users(root / "data")
    return root / "data"


def hostile_clients(data_dir: Path) -> pd.DataFrame:
    return runner_for(data_dir).run("client_list", {"month": "2024-02"}, scope=EVERYTHING)


@pytest.mark.parametrize("user", ["demo-executive", "demo-analyst"])
def test_hostile_names_are_shown_as_plain_text(hostile_dir, monkeypatch, user):
    """The names reach the table exactly as delivered (or masked), and nothing on the page
    renders them as markdown or HTML."""
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(hostile_dir))
    at = run_as(user, "clients")
    shown = frames(at, "clients")["clients_table"].set_index("client_id")["name"]
    delivered = hostile_clients(hostile_dir).set_index("client_id")["name"]
    assert set(delivered) == set(HOSTILE) | {"王小明", "李雷"}
    if user == "demo-analyst":
        delivered = delivered.map(mask_name)
    assert shown.sort_index().to_dict() == delivered.sort_index().to_dict()
    # choose the <script> client: its detail is drawn too
    row = list(shown.index).index("H06")
    at.session_state["clients_table"] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    assert not at.exception
    assert t("client_detail", LANG, client="H06") in [s.value for s in at.subheader]
    texts = [e.value for kind in ("markdown", "caption", "html", "title", "header",
                                  "subheader", "info", "error", "warning", "success", "text")
             for e in at.get(kind)]
    assert texts and not [x for x in texts if "<script" in str(x) or "HYPERLINK" in str(x)]
    assert not at.get("html")


@pytest.mark.parametrize("user", ["demo-executive", "demo-branch-head"])
def test_search_finds_hostile_names_literally(hostile_dir, monkeypatch, user):
    """Each hostile string finds exactly the clients whose name contains it as text (a % or _
    is no wildcard, a quote ends nothing), and only in the user's branch."""
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(hostile_dir))
    branches = {"demo-executive": {"B1", "B2"}, "demo-branch-head": {"B1"}}[user]
    everything = hostile_clients(hostile_dir)
    at = run_as(user, "clients")
    for text in HOSTILE:
        at.text_input(key="clients_search").input(text).run()
        assert not at.exception, text
        expected = literal_matches(everything[everything["branch_id"].isin(branches)], text)
        assert 1 <= len(expected) <= 2, text  # the client named so (and its B2 namesake)
        shown = frames(at, "clients")["clients_table"]
        assert sorted(shown["client_id"]) == sorted(expected["client_id"]), text
        assert set(shown["branch_id"]) <= branches
        assert metrics(at)[t("list_clients", LANG)] == count(len(expected))


def test_exports_neutralise_formulas(hostile_dir):
    """CSV and XLSX put an apostrophe before a name a spreadsheet would run as a formula
    (=, +, -, @) and leave every other name as delivered; JSON and parquet carry the text."""
    runner = runner_for(hostile_dir)
    delivered = hostile_clients(hostile_dir).set_index("client_id")["name"].to_dict()
    formulas = {c for c, n in delivered.items() if n[0] in "=+-@"}
    assert len(formulas) == 4
    for fmt in FORMATS:
        data, rows = export_query(runner, user="demo-executive", role="executive",
                                  scope=EVERYTHING, source="app", name="client_list",
                                  params={"month": "2024-02"}, fmt=fmt)
        got = read_back(data, fmt).set_index("client_id")["name"].to_dict()
        quoted = fmt in ("csv", "xlsx")
        assert got == {c: ("'" + n if quoted and c in formulas else n)
                       for c, n in delivered.items()}, fmt
        assert audit.read(hostile_dir)[-1]["sha256"] == hashlib.sha256(data).hexdigest()
        if fmt == "csv":  # no cell of the file starts with a formula character
            cells = [c for row in csv.reader(io.StringIO(data.decode("utf-8"))) for c in row]
            assert "'=HYPERLINK(\"http://x\",\"y\")" in cells
            assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], cells


def test_no_export_when_the_audit_log_cannot_be_written(hostile_dir, tmp_path, monkeypatch):
    """With the audit log unwritable (here: a directory where the file should be, which
    stops root too) every export fails with AuditError and hands out no bytes."""
    data_dir = tmp_path / "data"
    shutil.copytree(hostile_dir, data_dir, symlinks=True)
    shutil.rmtree(data_dir / "audit", ignore_errors=True)
    audit.log_path(data_dir).mkdir(parents=True)
    runner = QueryRunner(data_dir)
    scope = UserStore(data_dir).require("demo-branch-head").scope()
    for fmt in FORMATS:
        result = None
        with pytest.raises(audit.AuditError, match="cannot be written"):
            result = export_query(runner, user="demo-branch-head", role="branch_head",
                                  scope=scope, source="app", name="client_list",
                                  params={"month": "2024-02"}, fmt=fmt)
        assert result is None
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(data_dir))
    with pytest.raises(audit.AuditError):
        app_data.export_file("client_list", {"month": "2024-02"}, "csv", "demo-branch-head")
    assert list(audit.log_path(data_dir).iterdir()) == []

