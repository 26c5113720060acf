"""The warnings page in the browser: both languages with its chart, tables and KPIs drawn and
equal to the named queries (a full-page screenshot of each to test-artifacts/), the Today view,
a warning's row opening the client on the Clients page, and the CSV download holding exactly
the query's rows (with its audit line)."""

from __future__ import annotations

import calendar
import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tierflow import audit
from tierflow.i18n import count, percent, t

from .conftest import idle
from .test_e2e import DRAWN, full_page_screenshot, latest, metric, no_exception, open_app, path
from .test_sign_in import column_cells, table_rows

DRAWS = {"plotly": 1, "vega": 0, "table": 2, "metric": 6}


def heading(page: Page):
    return page.get_by_role("heading", level=2)


def drawn(page: Page) -> None:
    page.wait_for_function(DRAWN, arg=DRAWS, timeout=30_000)
    idle(page)
    assert page.evaluate(DRAWN, None) == DRAWS
    no_exception(page)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_warnings_page_month_and_today(page: Page, runner, artifacts, lang):
    month = latest(runner)
    open_app(page, path("warnings", lang))
    expect(heading(page)).to_have_text(t("page_warnings", lang))
    drawn(page)
    total = runner.run("warning_coverage", {"dimension": "total", "month": month}).iloc[0]
    expect(metric(page, t("kpi_warnings", lang))).to_have_text(count(total["warnings"]))
    expect(metric(page, t("kpi_within_3d", lang))).to_have_text(
        percent(total["within_3d_rate"]))
    listed = runner.run("warnings", {"month": month})
    table = page.get_by_test_id("stDataFrame").nth(1)
    assert table_rows(table) == min(len(listed), 1_000)
    shown = column_cells(page, table, t("col_client_id", lang))  # drawn columns only
    assert shown == listed["client_id"].head(len(shown)).tolist()
    branches = runner.run("warning_coverage", {"dimension": "branch", "month": month})
    by_branch = page.get_by_test_id("stDataFrame").first
    assert column_cells(page, by_branch, t("col_branch_id", lang)) == \
        branches["dimension_value"].tolist()
    full_page_screenshot(page, artifacts / f"warnings-{lang}.png")

    # Today: the month's last day, the snapshot date
    view = page.get_by_role("radiogroup", name=t("warnings_view", lang))
    view.get_by_role("radio", name=t("warnings_view_today", lang)).click()
    last_day = f"{month}-{calendar.monthrange(int(month[:4]), int(month[5:]))[1]}"
    today = runner.run("warning_coverage", {"dimension": "total", "month": month,
                                            "raised_on": last_day}).iloc[0]
    expect(metric(page, t("kpi_warnings", lang))).to_have_text(count(today["warnings"]))
    assert 0 < today["warnings"] < total["warnings"]
    idle(page)
    no_exception(page)


def test_a_warning_opens_the_client_and_the_list_downloads(page: Page, runner, demo_data_dir):
    month, lang = latest(runner), "zh"
    open_app(page, path("warnings", lang))
    drawn(page)
    listed = runner.run("warnings", {"month": month})
    logged = len(audit.read(demo_data_dir))
    with page.expect_download() as download_info:
        page.get_by_role("button", name=t("download_csv", lang)).click()
    download = download_info.value
    assert download.suggested_filename == f"tierflow-warnings-{month}.csv"
    rows = list(csv.DictReader(io.StringIO(
        Path(download.path()).read_bytes().decode("utf-8-sig"))))
    assert [r["warning_id"] for r in rows] == listed["warning_id"].tolist()
    assert [(x["query"], x["rows"]) for x in audit.read(demo_data_dir)[logged:]] == [
        ("warnings", len(listed))]

    # the first warning's client on the Clients page, with its detail
    first = listed.iloc[0]
    table = page.get_by_test_id("stDataFrame").nth(1)
    expect(table.locator("canvas").first).to_be_visible()
    idle(page)
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's selection box
    expect(heading(page)).to_have_text(t("page_clients", lang))
    expect(page.get_by_test_id("stAlert")).to_have_text(t("drill_showing", lang, title=t(
        "warning_drill_title", lang, warning=first["warning_id"], client=first["client_id"])))
    expect(metric(page, t("list_clients", lang))).to_have_text("1")
    expect(page.get_by_role("heading", level=3)).to_have_text(
        t("client_detail", lang, client=first["client_id"]))
    idle(page)
    no_exception(page)
