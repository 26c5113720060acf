"""Every page under AppTest: runs without exception in both languages, under the default
filters and under a selection that matches nothing, and shows the named queries' figures."""

from __future__ import annotations

import base64
import datetime as dt
import json

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import write_delivery
from tierflow import lists
from tierflow.access import EVERYTHING, UserStore, write_demo_users
from tierflow.demo import generate_delivery
from tierflow.i18n import count, money, percent
from tierflow.ingest import ingest
from tierflow.queries import QueryRunner
from tierflow.settings import Settings
from tierflow.sign_in import SIGNED_IN_AS

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ["overview", "tiers", "migration", "churn", "retention", "dormant", "clients", "todos",
         "books", "warnings"]
EMPTY_BRANCH = "0999"


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory):
    """A small demo lake (2,000 clients × 14 months × 6 branches) plus a branch with no
    clients, shared by the page tests (the app keeps one runner per process)."""
    root = tmp_path_factory.mktemp("pages")
    generate_delivery(root / "demo", clients=2_000, months=14, branches=6, seed=3)
    ingest(root / "demo", root / "data", Settings())
    write_delivery(root / "extra", {"branches": [{"branch_id": EMPTY_BRANCH,
                                                  "branch_name": "空网点"}]})
    ingest(root / "extra", root / "data", Settings())
    write_demo_users(root / "data")
    return root / "data"


def signed_in(user: str) -> AppTest:
    """The app as `user` of the data folder's users file sees it after signing in."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[SIGNED_IN_AS] = user
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def app(demo_data_dir, monkeypatch):
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(demo_data_dir))
    return signed_in("demo-executive")


@pytest.fixture(scope="session")
def runner(demo_data_dir):
    return QueryRunner(demo_data_dir).for_scope(EVERYTHING)


def figure(at: AppTest, index: int) -> list[dict]:
    """The traces of a plotly figure a page drew, typed arrays decoded from plotly's JSON."""
    def decode(value):
        if isinstance(value, dict) and "bdata" in value:
            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
            return array.reshape([int(n) for n in str(value.get("shape", len(array))).split(",")])
        return value
    spec = json.loads(at.get("plotly_chart")[index].proto.spec)
    return [{k: decode(v) for k, v in trace.items()} for trace in spec["data"]]


def open_page(at: AppTest, page: str, lang: str = "zh") -> AppTest:
    at.session_state["lang"] = lang
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", PAGES)
def test_page_runs_with_default_filters(app, page, lang):
    at = open_page(app, page, lang)
    assert at.header, "every page has a header"
    assert not any("Nothing matches" in i.value or "没有符合" in i.value for i in at.info)


@pytest.mark.parametrize("page", PAGES)
def test_page_says_so_when_nothing_matches(app, page):
    app.session_state["branches"] = [EMPTY_BRANCH]
    at = open_page(app, page, "en")
    messages = " ".join(i.value for i in at.info)
    assert "Nothing matches" in messages or "No retention case" in messages


def test_overview_kpis_equal_the_queries(app, runner):
    at = open_page(app, "overview", "en")
    month = at.session_state["month"]
    totals = runner.run("monthly_totals").set_index("month").loc[month]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Clients"] == count(totals["clients"])
    assert metrics["Total AUM"] == money(totals["total_aum"], "en")
    assert metrics["Gold and above"] == count(totals["vip_clients"])
    churn = runner.run("churn_monthly", {"churn_definition": "vip_to_mass"}).set_index(
        "month").loc[month]
    assert metrics["VIP churn rate"] == percent(churn["churn_rate"])
    league = at.dataframe[0].value
    expected = runner.run("branch_league", {"month": month})
    assert league["branch_id"].tolist() == expected["branch_id"].tolist()
    assert league["clients"].tolist() == expected["clients"].tolist()


def test_branch_filter_narrows_every_figure(app, runner):
    branch = runner.run("branches")["branch_id"].iloc[0]
    app.session_state["branches"] = [branch]
    at = open_page(app, "overview", "en")
    month = at.session_state["month"]
    totals = runner.run("monthly_totals", {"branch_id": [branch]}).set_index("month").loc[month]
    assert {m.label: m.value for m in at.metric}["Clients"] == count(totals["clients"])
    assert at.dataframe[0].value["branch_id"].tolist() == [branch]


def test_tiers_page_figures_equal_the_queries(app, runner):
    at = open_page(app, "tiers", "en")
    month = at.session_state["month"]
    figures = runner.run("tier_key_figures", {"month": month}).set_index("tier")
    metrics = {m.label.split(" · ")[0]: m.value for m in at.metric}
    assert metrics["Private"] == money(figures.loc["private", "aum"], "en")
    assert metrics["Mass"] == percent(figures.loc["mass", "active_rate"])
    curve = runner.run("wealth_concentration", {"month": month})
    top20 = curve.loc[curve["top_percent"] == 20, "aum_share"].iloc[0]
    assert metrics["AUM held by the top 20% of clients"] == percent(top20)


def test_migration_matrix_equals_tier_transition(app, runner):
    at = open_page(app, "migration", "en")
    heat = figure(at, 0)[0]
    matrix = runner.run("tier_transition", {"from_month": at.session_state["migration_from_shown"],
                                            "to_month": at.session_state["month"]})
    assert heat["z"].sum() == matrix["clients"].sum()
    assert heat["y"][0] == "New" and heat["x"][-1] == "Exited"


def test_migration_keeps_its_months_back_when_the_month_changes(app, runner):
    at = open_page(app, "migration", "en")
    months = runner.lake.months()
    assert at.session_state["migration_from_shown"] == months[-2]  # the month before
    at.selectbox(key="migration_back").set_value(3).run()
    assert at.session_state["migration_from_shown"] == months[-4]
    at.selectbox(key="month").set_value(months[-2]).run()
    assert at.session_state["migration_back"] == 3
    assert at.session_state["migration_from_shown"] == months[-5]
    heat = figure(at, 0)[0]
    matrix = runner.run("tier_transition", {"from_month": months[-5], "to_month": months[-2]})
    assert heat["z"].sum() == matrix["clients"].sum()
    assert at.selectbox(key="migration_back").options[:3] == [
        "The month before", "2 months before", "3 months before"]


def test_churn_triangle_equals_cohort_retention(app, runner):
    at = open_page(app, "churn", "en")
    heat = figure(at, 0)[0]
    triangle = runner.run("cohort_retention")
    first = triangle[triangle["cohort_month"] == triangle["cohort_month"].min()]
    assert list(heat["z"][0][: len(first)]) == pytest.approx(first["retention_rate"].tolist())


def test_retention_page_per_branch_equals_retention_success(app, runner):
    at = open_page(app, "retention", "en")
    bars = figure(at, 0)[0]
    start, end = at.session_state["retention_period"]
    expected = runner.run("retention_success", {"from_date": start, "to_date": end})
    assert sorted(bars["x"]) == sorted(expected["branch_id"])
    assert sorted(bars["text"]) == sorted(f"n={n}" for n in expected["closed_cases"])


def test_clients_page_totals_equal_client_list(app, runner):
    at = open_page(app, "clients", "en")
    month = at.session_state["month"]
    # the list starts on open accounts, so its count is the Overview's clients
    clients = runner.run("client_list", {"month": month, "status": ["normal", "dormant"]})
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Clients in the list"] == count(len(clients))
    assert len(clients) == runner.run("monthly_totals").set_index("month").loc[month, "clients"]
    assert metrics["AUM in the list"] == money(clients["aum"].sum(), "en")
    at.multiselect(key="clients_status").set_value(["dormant"]).run()
    dormant = runner.run("client_list", {"month": month, "status": ["dormant"]})
    assert {m.label: m.value for m in at.metric}["Clients in the list"] == count(len(dormant))


def test_drill_from_the_matrix_lists_the_cell_clients(app, runner):
    at = open_page(app, "migration", "en")
    from_month, to_month = at.session_state["migration_from_shown"], at.session_state["month"]
    at.session_state["clients_drill"] = {
        "query": "transition_clients", "title": "gold → mass",
        "params": {"from_month": from_month, "to_month": to_month, "from_tier": "gold",
                   "to_tier": "mass"}}
    at = open_page(at, "clients", "en")
    cell = runner.run("tier_transition", {"from_month": from_month, "to_month": to_month})
    cell = cell[(cell.from_tier == "gold") & (cell.to_tier == "mass")]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Clients in the list"] == count(cell["clients"].sum())
    assert metrics["AUM in the list"] == money(cell["aum_to"].sum(), "en")


def test_drill_from_the_triangle_lists_the_retained_clients_of_the_cell(app, runner):
    cells = runner.run("cohort_retention")
    cohort_month, months_since, retained = cells[cells["retained"] > 0].iloc[0][
        ["cohort_month", "months_since", "retained"]]
    params = {"cohort_month": cohort_month, "months_since": int(months_since),
              "retained": "yes"}
    app.session_state["clients_drill"] = {"query": "cohort_clients", "title": "cell",
                                          "params": params}
    at = open_page(app, "clients", "en")
    assert not at.exception
    members = runner.run("cohort_clients", params)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Clients in the list"] == count(retained)
    assert metrics["AUM in the list"] == money(members["aum_at_k"].sum(), "en")
    assert at.dataframe[0].value["client_id"].tolist()[:5] == members["client_id"].head(5).tolist()


@pytest.fixture(scope="module")
def one_month_data_dir(tmp_path_factory):
    """A lake holding a single month, with no retention cases."""
    root = tmp_path_factory.mktemp("one-month")
    generate_delivery(root / "demo", clients=300, months=1, branches=2, seed=5)
    for ledger in ("retention_cases.csv", "warnings.csv"):
        (root / "demo" / ledger).unlink()
    ingest(root / "demo", root / "data", Settings())
    write_demo_users(root / "data")
    return root / "data"


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_on_a_single_month_without_cases(one_month_data_dir, monkeypatch, page):
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(one_month_data_dir))
    at = open_page(signed_in("demo-executive"), page, "en")
    assert at.header
    if page == "retention":
        assert "No retention case" in " ".join(i.value for i in at.info)


def test_dormant_page_figures_equal_the_queries(app, runner):
    at = open_page(app, "dormant", "en")
    month = at.session_state["month"]
    trend = runner.run("dormancy_trend")
    totals = trend[trend["branch_id"].isna()].set_index("month").loc[month]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Dormant clients"] == count(totals["dormant"])
    assert metrics["Reactivated this month"] == count(totals["reactivated"])
    assert metrics["Reactivation rate"] == percent(totals["reactivation_rate"])
    heat = figure(at, 1)[0]
    branches = trend[trend["branch_id"].notna()]
    assert np.nansum(heat["z"]) == pytest.approx(branches["dormant_share"].sum())
    # the two lists are in tabs that run only when open: the call list first
    call_list = runner.run("dormant_clients", {"month": month})
    assert len(at.dataframe) == 1
    assert at.dataframe[0].value["client_id"].tolist() == \
        call_list["client_id"].head(1_000).tolist()
    months = sorted(trend["month"].unique())
    reactivated = runner.run("reactivated_clients", {
        "from_month": months[max(0, months.index(month) - 11)], "to_month": month})
    at.session_state["dormant_lists"] = "Reactivated clients"
    at.run()
    assert len(at.dataframe) == 1
    assert at.dataframe[0].value["client_id"].tolist() == \
        reactivated["client_id"].head(1_000).tolist()


def test_long_lists_come_a_page_at_a_time_with_the_count_of_every_row(app, runner,
                                                                     monkeypatch):
    """The pages fetch only the rows they draw (page_rows) and take the count of the whole
    list from the query. The demo's lists hold tens to a hundred or so rows, so the page is
    cut to 10 rows here: each table draws the first 10 of its query's rows, and the caption
    counts all of them."""
    monkeypatch.setattr(lists, "SHOWN_ROWS", 10)

    def captions(at):
        return " | ".join(c.value for c in at.caption)

    at = open_page(app, "warnings", "en")
    month = at.session_state["month"]
    warnings = runner.run("warnings", {"month": month})
    assert len(warnings) > 10
    assert at.dataframe[1].value["warning_id"].tolist() == \
        warnings["warning_id"].head(10).tolist()
    assert f"Showing the first 10 of {count(len(warnings))} warnings" in captions(at)

    at = open_page(at, "dormant", "en")
    months = runner.lake.months()
    period = {"from_month": months[max(0, months.index(month) - 11)], "to_month": month}
    for tab, name, params in [("Dormant clients to call", "dormant_clients", {"month": month}),
                              ("Reactivated clients", "reactivated_clients", period)]:
        at.session_state["dormant_lists"] = tab  # each list is drawn in its tab, when open
        at.run()
        listed = runner.run(name, params)
        assert len(listed) > 10, name
        assert at.dataframe[0].value["client_id"].tolist() == \
            listed["client_id"].head(10).tolist(), name
        assert f"{count(len(listed))} rows · Showing the first 10 of {count(len(listed))}" \
            in captions(at), name

    at = open_page(at, "retention", "en")
    start, end = at.session_state["retention_period"]
    ledger = runner.run("retention_ledger", {"from_date": start, "to_date": end})
    assert len(ledger) > 10
    assert at.dataframe[1].value["case_id"].tolist() == ledger["case_id"].head(10).tolist()
    assert "list_rows" not in at.dataframe[1].value.columns
    assert f"Showing the newest 10 of {count(len(ledger))} cases" in captions(at)


def test_a_list_row_opens_the_client(app, runner):
    """What a row click does (frame.drill_client): the Clients page shows that client's row
    of the month and its detail."""
    at = open_page(app, "dormant", "en")
    month = at.session_state["month"]
    client_id = runner.run("dormant_clients", {"month": month})["client_id"].iloc[0]
    at.session_state["clients_drill"] = {
        "query": "client_list", "params": {"month": month, "client_id": [client_id]},
        "title": f"client {client_id}", "client": client_id}
    at = open_page(at, "clients", "en")
    assert {m.label: m.value for m in at.metric}["Clients in the list"] == "1"
    assert [s.value for s in at.subheader] == [f"Client {client_id}"]
    history = runner.run("client_history", {"client_id": client_id})
    assert at.dataframe[1].value["month"].tolist() == history["month"].tolist()


def test_todo_tabs_count_the_queries(app, runner):
    import datetime as dt

    at = open_page(app, "todos", "en")
    month = at.session_state["month"]
    reference = at.date_input(key=f"todos_reference_{month}").value
    monday = reference - dt.timedelta(days=reference.weekday())
    week = {"from_date": monday, "to_date": monday + dt.timedelta(days=6), "month": month}
    quarter = {"from_date": dt.date(reference.year, (reference.month - 1) // 3 * 3 + 1, 1),
               "to_date": dt.date(reference.year, (reference.month - 1) // 3 * 3 + 3, 1)
               + dt.timedelta(days=40)}
    quarter["to_date"] = quarter["to_date"].replace(day=1) - dt.timedelta(days=1)
    expected = [
        ("Maturities this week", len(runner.run("todo_maturities", week))),
        ("Birthdays this week", len(runner.run("todo_birthdays", week))),
        ("VIP upgrades this quarter",
         len(runner.run("todo_vip_changes", {**quarter, "change": "upgrade"}))),
        ("VIP downgrades this quarter",
         len(runner.run("todo_vip_changes", {**quarter, "change": "downgrade"}))),
        ("New clients this week", len(runner.run("todo_new_clients", week))),
    ]
    # each list's size above the tabs; only the open tab (the first) draws its table
    assert [(m.label, m.value) for m in at.metric] == [(label, f"{n:,}") for label, n in expected]
    assert [t.label for t in at.tabs] == [label for label, _ in expected]
    assert len(at.dataframe) == 1
    # one manager's lists, with the birthdays' tab open: the tab stays open through the change
    at.session_state["todos_list"] = "Birthdays this week"
    manager = runner.run("managers")["manager_id"].iloc[0]
    at.selectbox(key="todos_manager").set_value(manager).run()
    birthdays = runner.run("todo_birthdays", {**week, "manager_id": [manager]})
    assert at.metric[1].value == f"{len(birthdays):,}"
    assert at.dataframe[0].value["client_id"].tolist() == birthdays["client_id"].tolist()


def test_a_manager_sees_only_their_own_to_dos(demo_data_dir, monkeypatch):
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(demo_data_dir))
    at = open_page(signed_in("demo-manager"), "todos", "en")
    assert not [s for s in at.selectbox if s.key == "todos_manager"]  # nothing to choose


def test_books_page_figures_equal_the_queries(app, runner):
    at = open_page(app, "books", "en")
    month = at.session_state["month"]
    books = runner.run("manager_books", {"month": month})
    unassigned = runner.run("unassigned_clients", {"month": month})
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Managers"] == count(len(books))
    assert metrics["Over the limit"] == count((books["over_limit"] > 0).sum())
    assert metrics["VIP clients in books"] == count(books["vip_clients"].sum())
    assert metrics["Unassigned clients"] == count(len(unassigned))
    assert metrics["Their AUM"] == money(unassigned["aum"].sum(), "en")
    assert at.dataframe[0].value["manager_id"].tolist() == books["manager_id"].tolist()
    assert at.dataframe[1].value["client_id"].tolist() == unassigned["client_id"].tolist()


def test_warnings_page_figures_equal_the_queries(app, runner):
    at = open_page(app, "warnings", "en")
    month = at.session_state["month"]
    params = {"month": month}
    total = runner.run("warning_coverage", {"dimension": "total", **params}).iloc[0]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Warnings"] == count(total["warnings"])
    assert metrics["Money at stake"] == money(total["amount"], "en")
    assert metrics["Case within 3 days"] == percent(total["within_3d_rate"])
    assert metrics["Case within 7 days"] == percent(total["within_7d_rate"])
    # each rule's bar, all four parts together, is its number of warnings
    by_rule = runner.run("warning_coverage", {"dimension": "rule", **params})
    assert sum(trace["x"] for trace in figure(at, 0)).tolist() == by_rule["warnings"].tolist()
    by_branch = runner.run("warning_coverage", {"dimension": "branch", **params})
    assert at.dataframe[0].value["dimension_value"].tolist() == \
        by_branch["dimension_value"].tolist()
    listed = runner.run("warnings", params)
    shown = at.dataframe[1].value
    assert shown["warning_id"].tolist() == listed["warning_id"].head(1_000).tolist()
    assert set(listed["rule"]) >= {"large_outflow", "downgrade", "activity_drop", "maturity",
                                   "dormancy"}
    assert shown["warning_reason"].str.len().gt(0).all()


def test_warnings_page_today_and_filters(app, runner):
    at = open_page(app, "warnings", "zh")
    month = at.session_state["month"]
    at.segmented_control(key="warnings_view").set_value("today").run()
    day = at.date_input(key=f"warnings_day_{month}").value
    assert str(day).startswith(month) and (day + dt.timedelta(days=1)).day == 1  # month end
    at.multiselect(key="warnings_rules").set_value(["maturity", "large_outflow"]).run()
    at.multiselect(key="warnings_severities").set_value(["high", "medium"]).run()
    manager = runner.run("managers")["manager_id"].iloc[0]
    at.multiselect(key="warnings_managers").set_value([manager]).run()
    assert not at.exception
    params = {"month": month, "raised_on": day, "rule": ["maturity", "large_outflow"],
              "severity": ["high", "medium"], "manager_id": [manager]}
    expected = runner.run("warnings", params)
    if expected.empty:
        assert any("没有符合" in i.value for i in at.info)
    else:
        assert at.dataframe[1].value["warning_id"].tolist() == expected["warning_id"].tolist()
        assert {m.label: m.value for m in at.metric}["预警数"] == count(len(expected))


def test_a_branch_head_sees_their_branch_warnings_only(demo_data_dir, monkeypatch):
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(demo_data_dir))
    at = open_page(signed_in("demo-branch-head"), "warnings", "en")
    head = UserStore(demo_data_dir).require("demo-branch-head")
    assert set(at.dataframe[0].value["dimension_value"]) == set(head.branches)
    assert set(at.dataframe[1].value["branch_id"]) == set(head.branches)
