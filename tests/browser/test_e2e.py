"""End-to-end: the served app in headless Chromium, figures checked against the named queries.

What AppTest cannot see is tested here: the page as drawn (charts, tables), the URL that the
shared filters write and that restores them, clicks on tables and charts (drill-through),
download bytes, the language switch, and a full-page screenshot of every page in both languages
(test-artifacts/<page>-<lang>.png, for a person to look at). Every test signs in as
demo-executive (all branches, personal data shown) through the sign-in form; sign-in itself and
a narrower scope are tested in test_sign_in.py.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from urllib.parse import parse_qs, quote, urlparse

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tierflow.i18n import count, t

from .conftest import idle, sign_in

PAGES = ["overview", "tiers", "migration", "churn", "retention", "clients"]
LANG_PARAM = {"zh": "", "en": "lang=English"}  # Chinese is the default: no parameter

# What each page draws with the demo data and default filters: plotly charts, vega (altair)
# charts, tables, metrics. The test waits until all of them are drawn, then checks the counts.
ELEMENTS = {
    "overview": {"plotly": 0, "vega": 0, "table": 1, "metric": 6},
    "tiers": {"plotly": 2, "vega": 1, "table": 0, "metric": 6},
    "migration": {"plotly": 3, "vega": 0, "table": 2, "metric": 0},
    "churn": {"plotly": 2, "vega": 2, "table": 1, "metric": 0},
    "retention": {"plotly": 4, "vega": 0, "table": 2, "metric": 0},
    "clients": {"plotly": 0, "vega": 0, "table": 1, "metric": 3},
}
# With `want` (counts): whether at least that much is drawn; without: the counts drawn.
DRAWN = """(want) => {
  const drawn = (sel, inner) =>
    [...document.querySelectorAll(sel)].filter(e => e.querySelector(inner)).length;
  const got = {
    plotly: drawn('[data-testid="stPlotlyChart"]', '.main-svg'),
    vega: drawn('[data-testid="stVegaLiteChart"]', 'canvas, svg'),
    table: drawn('[data-testid="stDataFrame"]', 'canvas'),
    metric: document.querySelectorAll('[data-testid="stMetric"]').length,
  };
  return want ? Object.keys(want).every(k => got[k] >= want[k]) : got;
}"""
# The pixel centre of a heatmap cell (by its axis labels) of the plotly chart with `key`.
CELL_CENTRE = """([key, x, y]) => {
  const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
  const L = gd._fullLayout, box = gd.getBoundingClientRect();
  return [box.left + L._size.l + L.xaxis.d2p(x), box.top + L._size.t + L.yaxis.d2p(y)];
}"""


# ---------------------------------------------------------------------------------- helpers

def path(page_name: str, lang: str = "zh", **params: str) -> str:
    query = [LANG_PARAM[lang]] if LANG_PARAM[lang] else []
    query += [f"{k}={quote(v)}" for k, v in params.items()]
    url = "/" if page_name == "overview" else f"/{page_name}"
    return url + ("?" + "&".join(query) if query else "")


def open_app(page: Page, url: str, user: str = "demo-executive") -> None:
    """Open `url` in a new session, sign in as `user`, and show the page the URL names.

    Sign-in lands on the default page, with the URL's filters but not its page (the runs that
    draw the form stop before st.navigation; see test_sign_in.py), so any other page is then
    opened by its sidebar link, which keeps the filters in the URL."""
    page.goto(url)
    sign_in(page, user)
    target = urlparse(url).path.strip("/")
    if target:
        link = page.get_by_test_id("stSidebarNav").locator(f'a[href$="/{target}"]')
        label = re.sub(r"^\W+", "", link.inner_text()).strip()  # without the icon
        link.click()
        page.wait_for_url(lambda u: urlparse(u).path == f"/{target}")
        expect(page.get_by_role("heading", level=2)).to_contain_text(label)
        idle(page)
    expect(page.get_by_role("heading", level=2)).to_be_visible()


def no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def sidebar(page: Page):
    return page.get_by_test_id("stSidebar")


def choose(page: Page, scope, label: str, option: str) -> None:
    """Pick an option of a selectbox or multiselect (by its label) and close the list."""
    box = scope.get_by_role("combobox", name=label, exact=True)
    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):  # a rerun landing just after the click can close the list again
        box.click()
        try:
            choice.wait_for(state="visible", timeout=5_000)
            break
        except PlaywrightTimeoutError:
            continue
    choice.click()
    page.keyboard.press("Escape")


def metric(page: Page, label: str):
    """The value element of the metric with this exact label."""
    card = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return card.get_by_test_id("stMetricValue")


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def latest(runner) -> str:
    return runner.lake.months(runner.lake.require_version())[-1]


def clients_in(runner, month: str, branch: str) -> int:
    totals = runner.run("monthly_totals", {"branch_id": [branch]}).set_index("month")
    return int(totals.loc[month, "clients"])


def full_page_screenshot(page: Page, file) -> None:
    """Streamlit scrolls inside its main area, not the document: make the viewport as tall as
    the content, take the picture, put the viewport back."""
    size = page.viewport_size
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
    page.wait_for_timeout(400)  # plotly and vega redraw on resize
    page.screenshot(path=str(file), full_page=True)
    page.set_viewport_size(size)


# ------------------------------------------------------------------------------------ tests

@pytest.fixture(scope="module")
def tour(browser, browser_context_args):
    """One browser tab for the page tour (the app's JavaScript loads from cache after the
    first page)."""
    context = browser.new_context(**browser_context_args)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page_name", PAGES)
def test_every_page_loads_without_exception(tour, runner, artifacts, page_name, lang):
    """1 and 7: each page by its URL, in both languages: its header, every chart and table
    drawn, no exception; a full-page screenshot to test-artifacts/<page>-<lang>.png."""
    page = tour
    open_app(page, path(page_name, lang))
    title = t(f"page_{page_name}", lang)
    if page_name in ("overview", "tiers"):
        title += f" · {latest(runner)}"
    expect(page.get_by_role("heading", level=2)).to_have_text(title)
    want = ELEMENTS[page_name]
    page.wait_for_function(DRAWN, arg=want, timeout=30_000)
    idle(page)
    assert page.evaluate(DRAWN, None) == want
    no_exception(page)
    expect(page.get_by_text(t("no_data", lang))).to_have_count(0)
    check_axes(page, page_name, runner)
    full_page_screenshot(page, artifacts / f"{page_name}-{lang}.png")


def tick_labels(page: Page, key: str) -> list[str]:
    return page.locator(f".st-key-{key} .xtick text").evaluate_all(
        "texts => texts.map(t => t.textContent)")


def check_axes(page: Page, page_name: str, runner) -> None:
    """Month axes show the months as the data names them (2026-10, not "Oct 2026" in the
    Chinese UI), branch axes the branch codes (0101, not 100)."""
    months = set(runner.lake.months(runner.lake.require_version()))
    month_axes = {"tiers": ["tiers_trend"], "churn": ["churn_lifecycle"]}.get(page_name, [])
    for key in month_axes:
        ticks = tick_labels(page, key)
        assert ticks and set(ticks) <= months, (key, ticks)
    if page_name == "retention":
        month = latest(runner)
        last_day = calendar.monthrange(int(month[:4]), int(month[5:]))[1]
        expected = runner.run("retention_success", {
            "from_date": months_before(month, 11) + "-01", "to_date": f"{month}-{last_day}"})
        assert sorted(tick_labels(page, "retention_by_branch")) == sorted(expected["branch_id"])


def months_before(month: str, n: int) -> str:
    year, mon = int(month[:4]), int(month[5:])
    index = year * 12 + mon - 1 - n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def filter_overview_by_branch_and_month(page: Page, runner) -> tuple[str, str, str]:
    """On the Overview (Chinese), pick branch 0201 and the month three before the latest;
    check the Clients KPI after each change. Returns (branch label, month, URL)."""
    months = runner.lake.months(runner.lake.require_version())
    branch, month = "0201", months[-4]
    names = dict(runner.run("branches")[["branch_id", "branch_name"]].values)
    label = f"{branch} {names[branch]}"
    open_app(page, "/")
    kpi = metric(page, "客户数")
    all_clients = int(runner.run("monthly_totals").set_index("month").loc[months[-1],
                                                                          "clients"])
    expect(kpi).to_have_text(count(all_clients))

    choose(page, sidebar(page), "网点", label)
    expect(kpi).to_have_text(count(clients_in(runner, months[-1], branch)))
    page.wait_for_url(lambda url: query_of(url).get("branches") == [label])

    choose(page, sidebar(page), "月份", month)
    expect(page.get_by_role("heading", level=2)).to_have_text(f"经营总览 · {month}")
    expect(kpi).to_have_text(count(clients_in(runner, month, branch)))
    page.wait_for_url(lambda url: query_of(url).get("month") == [month])
    idle(page)
    no_exception(page)
    return label, month, page.url


def test_shared_filter_changes_kpi_and_url(page: Page, runner):
    """2: a branch and a month picked in the sidebar change the Clients KPI to the query's
    figure and are written to the URL."""
    label, month, url = filter_overview_by_branch_and_month(page, runner)
    assert query_of(url) == {"branches": [label], "month": [month]}
    assert clients_in(runner, month, "0201") != clients_in(runner, latest(runner), "0201")


def test_url_restores_filters(page: Page, browser, browser_context_args, runner):
    """3: the URL written by the filters, opened in a new browser session, shows the same
    view."""
    label, month, url = filter_overview_by_branch_and_month(page, runner)
    fresh = browser.new_context(**browser_context_args).new_page()
    try:
        open_app(fresh, url)
        expect(fresh.get_by_role("heading", level=2)).to_have_text(f"经营总览 · {month}")
        expect(metric(fresh, "客户数")).to_have_text(count(clients_in(runner, month, "0201")))
        expect(sidebar(fresh).get_by_role("combobox", name="月份")).to_have_value(month)
        expect(sidebar(fresh).get_by_test_id("stMultiSelect").first).to_contain_text(label)
        no_exception(fresh)
    finally:
        fresh.context.close()


def test_league_row_drills_to_its_clients(page: Page, runner):
    """4a: select a row of the Overview league table, press "Show its clients": the Clients
    page shows a drill banner and exactly that branch's client list of the month."""
    month, branch = latest(runner), "0301"
    league = runner.run("branch_league", {"month": month})
    row = league["branch_id"].tolist().index(branch)
    names = dict(runner.run("branches")[["branch_id", "branch_name"]].values)
    open_app(page, "/")
    table = page.get_by_test_id("stDataFrame")
    expect(table.locator("canvas").first).to_be_visible()
    idle(page)
    box = table.bounding_box()
    # glide-data-grid: 35 px header, 35 px rows; the row-selection checkbox is the 1st column
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 * row + 17)
    expect(page.get_by_text(f"网点 {branch} {names[branch]}", exact=True)).to_be_visible()
    page.get_by_role("button", name="查看客户清单").click()

    expect(page.get_by_role("heading", level=2)).to_have_text("客户清单")
    assert urlparse(page.url).path == "/clients"
    expect(page.get_by_test_id("stAlert")).to_have_text(
        f"当前显示：网点 {branch} · {month} 对应的客户")
    expected = runner.run("client_list", {"month": month, "branch_id": [branch],
                                          "status": ["normal", "dormant"]})
    expect(metric(page, "清单客户数")).to_have_text(count(len(expected)))
    idle(page)
    no_exception(page)


def test_heatmap_cell_drills_to_its_clients(page: Page, runner):
    """4b: in English with a branch filter set, click the Gold → Gold cell of the migration
    matrix: the Clients page lists exactly those clients, and the filters stay in the URL."""
    months = runner.lake.months(runner.lake.require_version())
    before, month, branch = months[-2], months[-1], "0201"
    names = dict(runner.run("branches")[["branch_id", "branch_name"]].values)
    label = f"{branch} {names[branch]}"
    open_app(page, path("migration", "en", branches=label))
    page.wait_for_selector(".st-key-migration_matrix .heatmaplayer")
    idle(page)
    x, y = page.evaluate(CELL_CENTRE, ["migration_matrix", "Gold", "Gold"])
    page.mouse.move(x + 6, y + 4)
    page.mouse.click(x + 6, y + 4)

    expect(page.get_by_role("heading", level=2)).to_have_text("Clients")
    expect(page.get_by_test_id("stAlert")).to_have_text(
        f"Showing the clients behind: Gold ({before}) → Gold ({month})")
    expected = runner.run("transition_clients", {
        "from_month": before, "to_month": month, "from_tier": "gold", "to_tier": "gold",
        "branch_id": [branch]})
    assert len(expected) > 0
    expect(metric(page, "Clients in the list")).to_have_text(count(len(expected)))
    page.wait_for_url(lambda url: urlparse(url).path == "/clients"
                      and query_of(url).get("branches") == [label]
                      and query_of(url).get("lang") == ["English"])
    idle(page)
    no_exception(page)


def test_download_rows_equal_filtered_count(page: Page, runner):
    """5: on the Clients page, branch 0401 and status dormant: the CSV download holds exactly
    the clients the page counts and the query returns, all of that branch and status."""
    month, branch = latest(runner), "0401"
    names = dict(runner.run("branches")[["branch_id", "branch_name"]].values)
    expected = runner.run("client_list", {"month": month, "branch_id": [branch],
                                          "status": ["dormant"]})
    everyone = runner.run("client_list", {"month": month, "branch_id": [branch],
                                          "status": ["normal", "dormant"]})
    assert 0 < len(expected) < len(everyone)
    open_app(page, path("clients", branches=f"{branch} {names[branch]}"))
    # the list starts on open accounts (normal and dormant); keep only the dormant ones
    expect(metric(page, "清单客户数")).to_have_text(count(len(everyone)))
    page.get_by_test_id("stMain").get_by_role("button", name="Remove 正常").click()
    expect(metric(page, "清单客户数")).to_have_text(count(len(expected)))
    idle(page)

    with page.expect_download() as download_info:
        page.get_by_role("button", name="下载 CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"tierflow-client_list-{month}.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(io.StringIO(fh.read())))
    shown = int(metric(page, "清单客户数").inner_text().replace(",", ""))
    assert len(rows) == shown == len(expected)
    assert {r["status"] for r in rows} == {"dormant"}
    assert {r["branch_id"] for r in rows} == {branch}
    assert sorted(r["client_id"] for r in rows) == sorted(expected["client_id"])
    no_exception(page)


def test_language_switch(page: Page, runner):
    """6: Chinese by default; English after switching; Chinese again after switching back —
    page title, header, KPI label, sidebar label, navigation and URL."""
    month = latest(runner)
    open_app(page, "/")
    lang = sidebar(page).get_by_role("radiogroup", name="Language / 语言")
    checks = {
        "zh": ("经营总览", "客户数", "网点", "资产迁徙"),
        "en": ("Overview", "Clients", "Branches", "AUM migration"),
    }

    def shows(which: str) -> None:
        header, kpi, branches, nav = checks[which]
        expect(page.get_by_role("heading", level=2)).to_have_text(f"{header} · {month}")
        expect(page.get_by_test_id("stMetricLabel").get_by_text(kpi, exact=True)).to_be_visible()
        expect(sidebar(page).get_by_role("combobox", name=branches, exact=True)).to_be_visible()
        expect(page.get_by_test_id("stSidebarNav").get_by_role("link", name=nav)).to_be_visible()
        other = checks["en" if which == "zh" else "zh"][1]
        expect(page.get_by_test_id("stMetricLabel").get_by_text(other, exact=True)) \
            .to_have_count(0)

    shows("zh")
    expect(lang.get_by_role("radio", name="中文")).to_be_checked()
    lang.get_by_role("radio", name="English").click()
    shows("en")
    page.wait_for_url(lambda url: query_of(url).get("lang") == ["English"])
    lang.get_by_role("radio", name="中文").click()
    shows("zh")
    page.wait_for_url(lambda url: "lang" not in query_of(url))
    idle(page)
    no_exception(page)


def test_tier_filter_survives_language_switch(page: Page, runner):
    """A tier picked in Chinese stays applied after switching to English and changing the
    month (Streamlit kept the Chinese word, which then matched no choice and was dropped)."""
    months = runner.lake.months(runner.lake.require_version())

    def gold(month: str) -> str:
        return count(len(runner.run("client_list", {"month": month, "tier": ["gold"]})))

    open_app(page, path("clients"))
    choose(page, sidebar(page), "客户层级", "金卡客户")
    expect(metric(page, "清单客户数")).to_have_text(gold(months[-1]))
    sidebar(page).get_by_role("radio", name="English").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("Clients")
    expect(sidebar(page).get_by_test_id("stMultiSelect").nth(1)).to_contain_text("Gold")
    page.wait_for_url(lambda url: query_of(url).get("tiers") == ["Gold"])
    choose(page, sidebar(page), "Month", months[-2])
    expect(page).to_have_url(re.compile(f"month={months[-2]}"))
    expect(metric(page, "Clients in the list")).to_have_text(gold(months[-2]))
    expect(sidebar(page).get_by_test_id("stMultiSelect").nth(1)).to_contain_text("Gold")
    idle(page)
    no_exception(page)
