"""The dormant reactivation, to-do list and manager book pages in the browser: each page in
both languages with its charts, tables and KPIs drawn and equal to the named queries (a
full-page screenshot of each to test-artifacts/), and what a click does there: a row of the
dormant call list opens that client on the Clients page, a to-do list downloads as CSV with
exactly the query's rows (and an audit line), a manager picked in the books table lists that
manager's clients.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tierflow import audit
from tierflow.i18n import count, percent, t

from .conftest import idle
from .test_e2e import DRAWN, full_page_screenshot, latest, metric, no_exception, open_app, path
from .test_sign_in import column_cells, table_rows

# What each page draws with the demo data and default filters (tables: in the tab shown).
ELEMENTS = {
    "dormant": {"plotly": 2, "vega": 2, "table": 1, "metric": 6},
    "todos": {"plotly": 0, "vega": 0, "table": 1, "metric": 5},
    "books": {"plotly": 0, "vega": 1, "table": 2, "metric": 6},
}


def heading(page: Page):
    return page.get_by_role("heading", level=2)


def shows(page: Page, page_name: str) -> None:
    """Wait until everything the page draws is drawn, then check there is no more."""
    want = ELEMENTS[page_name]
    page.wait_for_function(DRAWN, arg=want, timeout=30_000)
    idle(page)
    assert page.evaluate(DRAWN, None) == want
    no_exception(page)


def click_row(page: Page, table, row: int) -> None:
    """Select a row of a st.dataframe by its checkbox (glide-data-grid: 35 px header and
    rows, the selection column first)."""
    expect(table.locator("canvas").first).to_be_visible()
    idle(page)
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 * row + 17)


def week_of(day: dt.date) -> dict:
    monday = day - dt.timedelta(days=day.weekday())
    return {"from_date": monday, "to_date": monday + dt.timedelta(days=6)}


def month_end(month: str) -> dt.date:
    year, mon = int(month[:4]), int(month[5:])
    return dt.date(year + mon // 12, mon % 12 + 1, 1) - dt.timedelta(days=1)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_dormant_page_and_a_call_list_row_opens_the_client(page: Page, runner, artifacts,
                                                           lang):
    month = latest(runner)
    open_app(page, path("dormant", lang))
    expect(heading(page)).to_have_text(f"{t('page_dormant', lang)} · {month}")
    shows(page, "dormant")
    trend = runner.run("dormancy_trend")
    totals = trend[trend["branch_id"].isna()].set_index("month").loc[month]
    expect(metric(page, t("kpi_dormant", lang))).to_have_text(count(totals["dormant"]))
    expect(metric(page, t("kpi_reactivation_rate", lang))).to_have_text(
        percent(totals["reactivation_rate"]))
    call_list = runner.run("dormant_clients", {"month": month})
    table = page.get_by_test_id("stDataFrame").first
    assert table_rows(table) == len(call_list) > 0
    assert column_cells(page, table, t("col_client_id", lang)) == \
        call_list["client_id"].head(len(column_cells(page, table,
                                                     t("col_client_id", lang)))).tolist()
    full_page_screenshot(page, artifacts / f"dormant-{lang}.png")

    # the reactivated clients' tab runs its list when opened (its table is not drawn before)
    months = runner.lake.months()
    reactivated = runner.run("reactivated_clients", {
        "from_month": months[max(0, months.index(month) - 11)], "to_month": month})
    page.get_by_role("tab", name=t("reactivated_list_tab", lang)).click()
    idle(page)
    table = page.get_by_test_id("stDataFrame").first
    expect(table).to_be_visible()
    assert table_rows(table) == len(reactivated) > 0
    assert column_cells(page, table, t("col_client_id", lang)) == \
        reactivated["client_id"].head(len(column_cells(page, table,
                                                       t("col_client_id", lang)))).tolist()
    page.get_by_role("tab", name=t("call_list_tab", lang)).click()
    idle(page)
    table = page.get_by_test_id("stDataFrame").first
    assert table_rows(table) == len(call_list)

    # the first row (most AUM) opens that client on the Clients page, with its detail
    first = call_list.iloc[0]
    click_row(page, table, 0)
    expect(heading(page)).to_have_text(t("page_clients", lang))
    expect(page.get_by_test_id("stAlert")).to_have_text(
        t("drill_showing", lang, title=t("client_drill_title", lang,
                                         client=f"{first['client_id']} {first['name']}")))
    expect(metric(page, t("list_clients", lang))).to_have_text("1")
    expect(page.get_by_role("heading", level=3)).to_have_text(
        t("client_detail", lang, client=first["client_id"]))
    idle(page)
    no_exception(page)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_todos_page_and_a_list_downloads(page: Page, runner, demo_data_dir, artifacts, lang):
    month = latest(runner)
    open_app(page, path("todos", lang))
    expect(heading(page)).to_have_text(t("page_todos", lang))
    shows(page, "todos")
    reference = month_end(month)  # the demo's last month is not the current one
    week = {**week_of(reference), "month": month}
    counts = {key: len(runner.run(name, params)) for key, name, params in (
        ("todo_maturities", "todo_maturities", week),
        ("todo_birthdays", "todo_birthdays", week),
        ("todo_new_clients", "todo_new_clients", week))}
    tabs = page.get_by_role("tab")
    expect(tabs).to_have_count(5)
    for key, n in counts.items():
        expect(metric(page, t(key, lang))).to_have_text(f"{n:,}")
    full_page_screenshot(page, artifacts / f"todos-{lang}.png")

    # the birthdays tab, its table and its CSV: the query's rows, recorded in the audit log
    page.get_by_role("tab", name=t("todo_birthdays", lang)).click()
    idle(page)
    panel = page.get_by_role("tabpanel").filter(visible=True)
    table = panel.get_by_test_id("stDataFrame")
    expect(table.locator("canvas").first).to_be_visible()
    assert table_rows(table) == counts["todo_birthdays"] > 0
    logged = len(audit.read(demo_data_dir))
    with page.expect_download() as download_info:
        panel.get_by_role("button", name=t("download_csv", lang)).click()
    download = download_info.value
    assert download.suggested_filename == \
        f"tierflow-todo_birthdays-{week['from_date']}-{week['to_date']}.csv"
    rows = list(csv.DictReader(io.StringIO(
        Path(download.path()).read_bytes().decode("utf-8-sig"))))
    expected = runner.run("todo_birthdays", week)
    assert [r["client_id"] for r in rows] == expected["client_id"].tolist()
    line = audit.read(demo_data_dir)[logged:]
    assert [(x["query"], x["rows"], x["user"]) for x in line] == [
        ("todo_birthdays", len(rows), "demo-executive")]
    no_exception(page)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_books_page_and_a_manager_lists_their_clients(page: Page, runner, artifacts, lang):
    month = latest(runner)
    open_app(page, path("books", lang))
    expect(heading(page)).to_have_text(f"{t('page_books', lang)} · {month}")
    shows(page, "books")
    books = runner.run("manager_books", {"month": month})
    unassigned = runner.run("unassigned_clients", {"month": month})
    expect(metric(page, t("kpi_managers", lang))).to_have_text(count(len(books)))
    expect(metric(page, t("kpi_unassigned", lang))).to_have_text(count(len(unassigned)))
    table = page.get_by_test_id("stDataFrame").first
    expect(table.locator("canvas").first).to_be_visible()
    idle(page)
    assert column_cells(page, table, t("col_manager_id", lang)) == books["manager_id"].tolist()
    full_page_screenshot(page, artifacts / f"books-{lang}.png")

    # the first manager (largest VIP book): their clients on the Clients page
    first = books.iloc[0]
    click_row(page, table, 0)
    idle(page)  # the run the selection started has drawn the button (under load, a click
    # on the button of a run still drawing was lost)
    label = f"{first['manager_id']} {first['manager_name']}"
    page.get_by_role("button", name=t("books_show_clients", lang, manager=label)).click()
    expect(heading(page)).to_have_text(t("page_clients", lang))
    expect(metric(page, t("list_clients", lang))).to_have_text(count(first["clients"]))
    idle(page)
    no_exception(page)
