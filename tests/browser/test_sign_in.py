"""Sign-in in the browser: the form, a refused password, a branch head's narrowed view (league
table, client list, CSV download and its audit line), and signing out.

The branch head (demo-branch-head, password `demo`) may see the demo lake's first branch only;
every expected figure comes from the named queries run in that user's own scope. Screenshots of
the form (both languages) and of the branch head's Overview go to test-artifacts/.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import Page, expect

from tierflow import audit
from tierflow.access import UserStore
from tierflow.i18n import count, t
from tierflow.queries import QueryRunner

from .conftest import idle, sign_in, sign_in_form, sign_out_button, submit_sign_in
from .test_e2e import full_page_screenshot, latest, metric, no_exception, sidebar

BRANCH_HEAD = "demo-branch-head"
# The accessibility table that glide-data-grid keeps beside its canvas (rows drawn so far):
# the texts of one column, found by its header.
COLUMN_CELLS = """([root, header]) => {
  const grid = root.querySelector('table[role="grid"]');
  const th = [...grid.querySelectorAll('th[role="columnheader"]')]
    .find(h => h.textContent.trim() === header);
  if (!th) return null;
  const col = th.getAttribute('aria-colindex');
  return [...grid.querySelectorAll(`tbody td[aria-colindex="${col}"]`)].map(td => td.textContent);
}"""


def heading(page: Page):
    return page.get_by_role("heading", level=2)


def table_rows(table) -> int:
    """Rows of a st.dataframe (the grid's aria-rowcount counts the header row too)."""
    return int(table.locator('table[role="grid"]').get_attribute("aria-rowcount")) - 1


def column_cells(page: Page, table, header: str) -> list[str]:
    expect(table.locator('table[role="grid"] tbody td').first).to_be_attached()
    cells = page.evaluate(COLUMN_CELLS, [table.element_handle(), header])
    assert cells is not None, f"no column {header!r}"
    return cells


def shows_no_data(page: Page) -> None:
    """Nobody is signed in: the form, and nothing of the lake, nor the page links."""
    expect(sign_in_form(page)).to_be_visible()
    for test_id in ("stMetric", "stDataFrame", "stPlotlyChart", "stVegaLiteChart"):
        expect(page.get_by_test_id(test_id)).to_have_count(0)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(sign_out_button(page)).to_have_count(0)


@pytest.fixture(scope="module")
def branch_head(demo_data_dir):
    user = UserStore(demo_data_dir).find(BRANCH_HEAD)
    assert user is not None and user.role == "branch_head" and len(user.branches) == 1
    return user


def test_sign_in_form_in_both_languages(page: Page, artifacts):
    """A new session sees only the sign-in form, in the language of the switch (and URL)."""
    for lang, url in (("zh", "/"), ("en", "/?lang=English")):
        page.goto(url)
        idle(page)
        form = sign_in_form(page)
        expect(form.get_by_role("heading", name=t("signin_title", lang), exact=True)) \
            .to_be_visible()
        expect(form.get_by_label(t("signin_name", lang), exact=True)).to_be_visible()
        expect(form.get_by_label(t("signin_password", lang), exact=True)).to_have_attribute(
            "type", "password")
        expect(form.get_by_role("button", name=t("signin_submit", lang), exact=True)) \
            .to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_have_text(t("app_title", lang))
        shows_no_data(page)
        no_exception(page)
        page.screenshot(path=str(artifacts / f"signin-{lang}.png"))


def test_branch_head_sees_only_their_branch(page: Page, demo_data_dir, runner, branch_head,
                                            artifacts):
    """A wrong password is refused and shows nothing; the branch head's Overview league has
    their branch only; on Clients every row and the CSV download are that branch's, as many as
    the query returns in their scope, and the download is in the audit log; sign out returns to
    the form."""
    branch = branch_head.branches[0]
    scoped = QueryRunner(demo_data_dir).for_scope(branch_head.scope())
    month = latest(runner)

    page.goto("/")
    idle(page)
    shows_no_data(page)

    # a wrong password: refused, nothing shown, the form again
    submit_sign_in(page, BRANCH_HEAD, "not-the-password")
    expect(page.get_by_text(t("signin_refused", "zh"), exact=True)).to_be_visible()
    idle(page)
    shows_no_data(page)

    # the right one, in the same session
    sign_in(page, BRANCH_HEAD)
    expect(heading(page)).to_have_text(f"{t('page_overview', 'zh')} · {month}")
    expect(sidebar(page).get_by_text(t(
        "signed_in_as", "zh", name=branch_head.display_name,
        role=t("role_branch_head", "zh")) + " · " + t("scope_branches", "zh", branches=branch),
        exact=True)).to_be_visible()

    # Overview: KPIs of their branch; the league table has exactly their branch
    clients = int(scoped.run("monthly_totals").set_index("month").loc[month, "clients"])
    assert clients == int(runner.run("monthly_totals", {"branch_id": [branch]})
                          .set_index("month").loc[month, "clients"])
    expect(metric(page, t("kpi_clients", "zh"))).to_have_text(count(clients))
    league = page.get_by_test_id("stDataFrame")
    expect(league.locator("canvas").first).to_be_visible()
    idle(page)
    assert table_rows(league) == 1
    assert column_cells(page, league, t("col_branch_id", "zh")) == [branch]
    assert scoped.run("branch_league", {"month": month})["branch_id"].tolist() == [branch]
    # the shared branch filter offers their branch only
    box = sidebar(page).get_by_role("combobox", name=t("branches", "zh"), exact=True)
    options = page.get_by_role("option")
    for _ in range(3):  # a rerun landing just after the click can close the list again
        box.click()
        try:
            options.first.wait_for(state="visible", timeout=5_000)
            break
        except PlaywrightTimeoutError:
            continue
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text(branch)
    page.keyboard.press("Escape")
    no_exception(page)
    full_page_screenshot(page, artifacts / "overview-branch-head-zh.png")

    # Clients: the list (open accounts, as the page starts) holds their branch only
    page.get_by_test_id("stSidebarNav").locator('a[href$="/clients"]').click()
    expect(heading(page)).to_have_text(t("page_clients", "zh"))
    params = {"month": month, "branch_id": None, "tier": None, "manager_id": None,
              "status": ["normal", "dormant"], "has_open_case": None, "search": None,
              "aum_min": None, "aum_max": None, "change_min": None, "change_max": None}
    expected = scoped.run("client_list", params)
    everyone = runner.run("client_list", params)
    mine = everyone[everyone["branch_id"] == branch]
    assert 0 < len(expected) < len(everyone)
    assert sorted(expected["client_id"]) == sorted(mine["client_id"])
    expect(metric(page, t("list_clients", "zh"))).to_have_text(count(len(expected)))
    table = page.get_by_test_id("stDataFrame")
    expect(table.locator("canvas").first).to_be_visible()
    idle(page)
    assert table_rows(table) == min(len(expected), 1_000)
    shown = column_cells(page, table, t("col_branch_id", "zh"))
    assert shown and set(shown) == {branch}, shown

    # the CSV download: their branch's rows, as many as the query, recorded in the audit log
    logged_before = len(audit.read(demo_data_dir))
    with page.expect_download() as download_info:
        page.get_by_role("button", name=t("download_csv", "zh")).click()
    download = download_info.value
    assert download.suggested_filename == f"tierflow-client_list-{month}.csv"
    data = Path(download.path()).read_bytes()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == len(expected)
    assert {r["branch_id"] for r in rows} == {branch}
    assert sorted(r["client_id"] for r in rows) == sorted(expected["client_id"])
    new_lines = audit.read(demo_data_dir)[logged_before:]
    assert len(new_lines) == 1, new_lines
    line = new_lines[0]
    assert (line["user"], line["role"], line["source"]) == (BRANCH_HEAD, "branch_head", "app")
    assert (line["query"], line["format"], line["rows"]) == ("client_list", "csv", len(rows))
    assert line["filters"] == {"month": month, "status": ["normal", "dormant"]}
    assert line["masked"] is False
    assert line["sha256"] == hashlib.sha256(data).hexdigest()
    assert audit.verify(demo_data_dir) is None
    no_exception(page)

    # sign out: back to the form, nothing of the lake left on the page
    sign_out_button(page).click()
    expect(sign_in_form(page)).to_be_visible()
    idle(page)
    page.screenshot(path=str(artifacts / "signed-out-zh.png"))
    shows_no_data(page)
    no_exception(page)


def test_executive_scope_is_every_branch(page: Page, runner):
    """The executive the other browser tests sign in as sees every branch in the league."""
    page.goto("/")
    sign_in(page, "demo-executive")
    league = page.get_by_test_id("stDataFrame")
    expect(league.locator("canvas").first).to_be_visible()
    idle(page)
    expected = runner.run("branch_league", {"month": latest(runner)})["branch_id"].tolist()
    assert len(expected) > 1
    assert column_cells(page, league, t("col_branch_id", "zh")) == expected
    no_exception(page)


def test_deep_link_keeps_its_page_through_sign_in(page: Page):
    """A link to the Clients page, opened signed out, shows the Clients page after sign-in."""
    page.goto("/clients")
    sign_in(page)
    expect(heading(page)).to_have_text(t("page_clients", "zh"), timeout=5_000)
    assert urlparse(page.url).path == "/clients"


def test_sign_out_hides_page_links(page: Page):
    """After sign-out the sidebar shows no page links, as before the first sign-in."""
    page.goto("/")
    sign_in(page)
    sign_out_button(page).click()
    expect(sign_in_form(page)).to_be_visible()
    idle(page)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0, timeout=5_000)
