"""The data page in the browser: an administrator uploads deliveries through the real file
uploader. A file whose content is not its type is refused by name; a delivery with too many
bad rows is refused whole, with its rules counted and the set-aside rows to download; a good
delivery (a new month, GB18030 CSV) loads and is listed; rolling it back (after the
confirmation) lists the months as before.

This test loads into and rolls back its own data folder, served by its own Streamlit server,
so the session lake of the other browser tests keeps its figures. Screenshots go to
test-artifacts/data-*.png.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tierflow import audit
from tierflow.access import DEMO_PASSWORD, write_demo_users
from tierflow.demo import generate_delivery
from tierflow.i18n import t
from tierflow.ingest import ingest, schema_drift
from tierflow.lake import Lake
from tierflow.settings import Settings

from .conftest import idle, serve, sign_out_button, submit_sign_in
from .test_e2e import full_page_screenshot, no_exception
from .test_sign_in import column_cells, table_rows

LANG = "en"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"


@pytest.fixture(scope="module")
def data_server(tmp_path_factory):
    """A small demo lake (300 clients × 4 months × 2 branches) of this module's own, and a
    server over it."""
    root = tmp_path_factory.mktemp("data_page")
    generate_delivery(root / "demo", clients=300, months=4, branches=2, seed=11)
    report = ingest(root / "demo", root / "data", Settings(), by="setup")
    assert report.version == "v000001", report.summary()
    write_demo_users(root / "data")
    with serve(root / "data", root / "streamlit.log") as server:
        server.data_dir = root / "data"
        yield server
    text = server.log_text()
    assert "Traceback" not in text and "Uncaught" not in text, text


def write_snapshots(path: Path, rows: list[list[str]], encoding: str = "utf-8",
                    header: tuple[str, ...] = ("snapshot_month", "client_id", "aum")) -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def upload(page: Page, *files: Path) -> None:
    """Choose the files in the uploader, wait until they are uploaded, press Load."""
    page.locator('.st-key-data_files input[type="file"]').set_input_files(
        [str(f) for f in files])
    expect(page.get_by_test_id("stFileChip")).to_have_count(len(files))
    page.get_by_test_id("stForm").get_by_role("button", name=t("data_load", LANG),
                                              exact=True).click()
    idle(page)


def alert(page: Page, kind: str):
    """The alert of a kind (error / success / info) in the main area."""
    return page.get_by_test_id("stMain").get_by_test_id(f"stAlertContent{kind.title()}")


def sign_in_as_admin(page: Page) -> None:
    """conftest.sign_in, for a page that has a form of its own (the upload form)."""
    idle(page)
    submit_sign_in(page, "demo-admin", DEMO_PASSWORD)
    expect(sign_out_button(page)).to_be_visible()
    idle(page)


def table(page: Page, header: str):
    """The st.dataframe with a column of this header (a table without selections carries no
    key in the page)."""
    frame = page.get_by_test_id("stDataFrame").filter(has=page.locator(
        'th[role="columnheader"]', has_text=re.compile(f"^{re.escape(header)}$")))
    expect(frame).to_have_count(1)
    expect(frame.locator("canvas").first).to_be_visible()
    return frame


def test_upload_refuse_load_and_roll_back(page: Page, data_server, tmp_path, artifacts):
    lake = Lake(data_server.data_dir)
    months = lake.months()
    clients = lake.read_table("clients")["client_id"].sort().to_list()
    new = next_month(months[-1])

    # the page, as the administrator opens it (in Chinese first, for the picture)
    page.goto(f"{data_server.url}/data")
    sign_in_as_admin(page)  # the deep link keeps its page through the sign-in
    expect(page.get_by_role("heading", level=2).first).to_have_text(t("page_data", "zh"))
    expect(table(page, t("data_load_version", "zh"))).to_be_visible()
    no_exception(page)
    full_page_screenshot(page, artifacts / "data-page-zh.png")
    page.goto(f"{data_server.url}/data?lang=English")
    sign_in_as_admin(page)
    expect(page.get_by_role("heading", level=2).first).to_have_text(t("page_data", LANG))
    expect(page.get_by_text(re.compile(r"at most 200 MB per file"))).to_be_visible()
    assert table_rows(table(page, t("data_load_version", LANG))) == len(months)

    # a .csv that is an image: refused, naming the file; nothing saved
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "clients.csv").write_bytes(PNG)
    upload(page, fake / "clients.csv")
    expect(alert(page, "error")).to_contain_text(
        "clients.csv: not CSV text: this is a PNG image")
    assert not (data_server.data_dir / "uploads").exists()

    # a bad delivery: 8 of 20 rows break a rule (6 negative AUM, 2 unknown clients): refused
    bad = tmp_path / "bad"
    bad.mkdir()
    rows = [[new, c, "-5" if i < 6 else "120000"] for i, c in enumerate(clients[:20])]
    rows[18][1], rows[19][1] = "NOBODY1", "NOBODY2"
    write_snapshots(bad / f"snapshots_{new}.csv", rows)
    upload(page, bad / f"snapshots_{new}.csv")
    expect(alert(page, "error")).to_contain_text(
        "REFUSED: 8 of 20 rows (40.0%) break a rule, more than the 10% allowed")
    rules = table(page, t("data_rows", LANG))
    assert column_cells(page, rules, t("data_rule", LANG)) == [
        "negative amount: aum", "unknown client: client_id"]
    assert column_cells(page, rules, t("data_rows", LANG)) == ["6", "2"]
    assert table_rows(table(page, t("data_values", LANG))) == 8
    assert lake.current_version() == "v000001"
    logged = len(audit.read(data_server.data_dir))
    with page.expect_download() as download_info:
        page.get_by_role("button", name=t("data_download_set_aside", LANG)).click()
    kept = list(csv.DictReader(io.StringIO(
        Path(download_info.value.path()).read_text(encoding="utf-8"))))
    assert [int(r["line"]) for r in kept] == [2, 3, 4, 5, 6, 7, 20, 21]
    assert len(audit.read(data_server.data_dir)) == logged + 1
    no_exception(page)
    full_page_screenshot(page, artifacts / "data-refused-en.png")

    # a good delivery: the new month for 50 clients, GB18030, with a column not in the
    # contract (reported, ignored)
    good = tmp_path / "good"
    good.mkdir()
    write_snapshots(good / f"snapshots_{new}.csv",
                    [[new, c, "88000", "正常"] for c in clients[:50]], encoding="gb18030",
                    header=("snapshot_month", "client_id", "aum", "备注"))
    upload(page, good / f"snapshots_{new}.csv")
    expect(alert(page, "success")).to_have_text(
        t("data_loaded", LANG, version="v000002", months=new))
    idle(page)  # the run that shows the load has finished: no table of the run before it left
    files = table(page, t("data_rows_loaded", LANG))
    assert column_cells(page, files, t("data_rows_loaded", LANG)) == ["50"]
    # against the demo's snapshot header: columns dropped, 备注 in branch_id's place; then
    # the optional columns left empty and 备注 ignored (the grid holds the rows in view)
    drift = schema_drift(["snapshot_month", "client_id", "aum", "备注"], "snapshots",
                         lake.manifest()["loads"][:-1])  # the loads before this one
    schema = table(page, t("data_detail", LANG))
    assert table_rows(schema) == len(drift) + 2
    changes = list(zip(column_cells(page, schema, t("data_change", LANG)),
                       column_cells(page, schema, t("data_detail", LANG))))
    assert changes[0] == (t("data_drift", LANG), drift[0])
    assert drift[0] == "header 'branch_id' renamed to '备注' (since the last load of snapshots)"
    months_table = table(page, t("data_load_version", LANG))
    assert table_rows(months_table) == len(months) + 1
    assert column_cells(page, months_table, t("month", LANG))[0] == new
    assert column_cells(page, months_table, t("data_load_version", LANG))[0] == "v000002"
    assert column_cells(page, months_table, t("data_by", LANG))[0] == "demo-admin"
    assert lake.current_version() == "v000002" and lake.months()[-1] == new
    no_exception(page)
    full_page_screenshot(page, artifacts / "data-loaded-en.png")

    # roll it back: the button waits for the confirmation
    button = page.get_by_role("button", name=t("data_rollback_button", LANG), exact=True)
    expect(button).to_be_disabled()
    page.get_by_text(t("data_rollback_confirm", LANG), exact=True).click()
    idle(page)
    expect(button).to_be_enabled()
    button.click()
    idle(page)
    expect(alert(page, "success")).to_have_text(
        t("data_rolled_back", LANG, version="v000001"))
    months_table = table(page, t("data_load_version", LANG))
    assert table_rows(months_table) == len(months)
    assert column_cells(page, months_table, t("month", LANG))[0] == months[-1]
    history = table(page, t("data_event", LANG))
    assert column_cells(page, history, t("data_event", LANG)) == [
        t(f"data_event_{e}", LANG) for e in ("rollback", "load_undone", "refused", "load")]
    assert lake.current_version() == "v000001" and lake.months() == months
    no_exception(page)
    full_page_screenshot(page, artifacts / "data-rolled-back-en.png")
